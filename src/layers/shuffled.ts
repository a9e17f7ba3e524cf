/**
 * A shuffled copy (Fisher–Yates): a receive over several channels looks at them in a new order
 * each call, so a busy channel cannot starve the others.
 */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

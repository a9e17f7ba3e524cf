import { randomLetters } from '../../src/layers/names';

describe('randomLetters (new channel suffixes, process prefixes)', () => {
  it('gives letters only, every one of the 52 about equally often', () => {
    const text = Array.from({ length: 4000 }, () => randomLetters(26)).join('');
    expect(text).toMatch(/^[A-Za-z]+$/);
    const counts = new Map<string, number>();
    for (const letter of text) counts.set(letter, (counts.get(letter) ?? 0) + 1);
    expect(counts.size).toBe(52);
    // 104,000 letters: 2,000 expected each (σ ≈ 44); a plain byte % 52 would give 4 letters ~1,625.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(1700);
      expect(count).toBeLessThan(2300);
    }
  });

  it('never repeats a name across many calls (the pool is refilled, not reused)', () => {
    const names = new Set(Array.from({ length: 20_000 }, () => randomLetters(12)));
    expect(names.size).toBe(20_000);
  });
});

// Number formats and the aligned text table of the printed report.

export const integer = (value: number): string => Math.round(value).toLocaleString('en-US');
export const percent = (value: number | undefined): string =>
  value === undefined ? '—' : `${Math.round(value * 100)}%`;
/** Truncated, so a ratio just under the goal never prints as the goal. */
export const ratio = (value: number | undefined): string => (value === undefined ? '—' : `${Math.floor(value * 100)}%`);
/** A ratio as `1.85×` (two decimals, rounded): CPU per message against a reference's. */
export const times = (value: number | undefined): string => (value === undefined ? '—' : `${value.toFixed(2)}×`);
export const ms = (value: number): string => value.toFixed(value < 1 ? 3 : value < 10 ? 2 : 1);
export const fixed2 = (value: number | undefined): string => (value === undefined ? '—' : value.toFixed(2));
/** CPU used over a stretch of wall time, in % of one core. */
export const cpuShare = (cpuMs: number, wallMs: number): number => (cpuMs / wallMs) * 100;
export const cpu = (value: number | undefined): string => (value === undefined ? '—' : `${Math.round(value)}%`);
export const micros = (value: number | undefined): string =>
  value === undefined ? '—' : value.toFixed(value < 10 ? 2 : 0);

/** Columns padded to their widest cell; the first `left` columns left-aligned, the rest right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, left: number): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i < left ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** Half the range of the per-round rates, relative to their mean: ±3% means rounds within 6%. */
export function spread(rates: readonly number[]): string {
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  return `±${Math.round(((Math.max(...rates) - Math.min(...rates)) / 2 / mean) * 100)}%`;
}

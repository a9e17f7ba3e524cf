// What a later section of `npm run bench` is and what it returns: in a file of its own so the
// section files (connections/, broadcast/) and the list in sections.ts that loads them can all
// import it without importing one another.

export interface SectionResult {
  /** The section's tables, as printed. */
  text: string;
  /** Its figures for bench/results/latest.json (under the section's name). */
  json: Record<string, unknown>;
  /** Scenarios that failed (the bench exits 1 when any did). */
  failed: number;
}

export interface BenchSection {
  name: string;
  /** What it measures, for `--help`. */
  describe: string;
  run(redisUrl: string): Promise<SectionResult>;
}

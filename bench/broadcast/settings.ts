// The broadcast section's settings: the defaults, BENCH_BROADCAST_* overrides for experiments.

export interface BroadcastSettings {
  sizes: number[];
  /** Measured rounds per mode; the two systems take turns round by round (other load hits both alike). */
  rounds: number;
  /** Paced: sends per round, one every intervalMs. */
  pacedSendsPerRound: number;
  intervalMs: number;
  /** Maximum rate: each round sends for this long, with at most `window` sends not yet delivered everywhere. */
  maxRoundMs: number;
  window: number;
  /** Maximum-rate sends before the measured rounds (JIT, socket buffers), not counted. */
  warmupMs: number;
  /** No progress for this long with sends outstanding ends a round; what is missing counts as lost. */
  stallMs: number;
  /** Longest wait after a round's last send for the outstanding ones. */
  drainMs: number;
  /** Sockets each client process opens at once. */
  openBatch: number;
  /** BENCH_BROADCAST_PROFILE=<dir>: V8 CPU profiles of the servers' maximum-rate rounds. */
  profileDir?: string;
}

function sizes(value: string | undefined): number[] {
  if (!value) return [1000, 10_000];
  const list = value.split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 2)) {
    throw new Error(`BENCH_BROADCAST_SIZES takes whole numbers ≥ 2, got ${value}`);
  }
  return list;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

export function settingsFromEnv(): BroadcastSettings {
  const rounds = Math.round(positive('BENCH_BROADCAST_ROUNDS', 3));
  // The issue's ~5 s per mode, split into rounds: 3 × 17 sends every 100 ms, 3 × 1.7 s at the maximum rate.
  const seconds = positive('BENCH_BROADCAST_SECONDS', 5);
  return {
    sizes: sizes(process.env.BENCH_BROADCAST_SIZES),
    rounds,
    pacedSendsPerRound: Math.ceil((seconds * 10) / rounds),
    intervalMs: 100,
    maxRoundMs: (seconds * 1000) / rounds,
    // Enough sends in flight to keep every stage busy (sender, Redis, both servers, sockets,
    // clients) at once; few enough that queues, and so latencies, stay bounded.
    window: Math.round(positive('BENCH_BROADCAST_WINDOW', 8)),
    warmupMs: 1000,
    stallMs: 10_000,
    drainMs: 30_000,
    openBatch: 200,
    ...(process.env.BENCH_BROADCAST_PROFILE ? { profileDir: process.env.BENCH_BROADCAST_PROFILE } : {}),
  };
}

// HTTP: autocannon (in the bench process) against an `http.request` consumer of nestjs-channels, on
// the in-memory layer (one process: interface + worker) and over Redis (the interface in one process,
// the consumer in a runWorker process), beside the reference: a standalone Nest app (its own
// process) with a plain controller and nothing of this package.
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { cpu, integer, ms, ratio, spread, table, times } from './format';
import type { BenchServer } from './servers';
import { Samples, startCpuMeter, type CpuTime } from './stats';

const CONNECTIONS = 100;
const ROUNDS = 2;
const WARMUP_SECONDS = 1;
const ROUND_SECONDS = 2;
const RATE = 300;
const RATE_SECONDS = 3;
/** Consumer requests/s ÷ the standalone controller's, at most p50 / p99 at the fixed rate. */
const GOAL = 0.5;
const GOAL_P50_MS = 3;
const GOAL_P99_MS = 15;

export type HttpRoute =
  'plain controller (standalone Nest)' | 'http.request consumer, in-memory' | 'http.request consumer, Redis';
export const CONTROLLER: HttpRoute = 'plain controller (standalone Nest)';
const PATHS: Record<HttpRoute, string> = {
  'plain controller (standalone Nest)': '/plain',
  'http.request consumer, in-memory': '/echo',
  'http.request consumer, Redis': '/echo',
};

/** A route and the server (processes) that serves it. */
export interface HttpTarget {
  route: HttpRoute;
  server: BenchServer<string>;
}

export interface HttpRun {
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  cpu: CpuTime & { serverMs: number };
  /** Server CPU per request, µs (10 ms /proc resolution). */
  serverCpuMicrosPerRequest: number;
}

export interface HttpOutcome {
  route: HttpRoute;
  path: string;
  mode: 'max' | 'fixed rate';
  connections: number;
  rate?: number;
  runs: HttpRun[];
  error?: string;
  /** Requests/s of the consumer route ÷ those of the controller (max runs only). */
  ratioToController?: number;
  /** Server µs per request ÷ the controller's, same mode. */
  cpuRatioToController?: number;
  /** Max: requests/s ≥ GOAL × the controller's. Fixed rate: p50 ≤ 3 ms and p99 ≤ 15 ms. */
  goal?: { text: string; met: boolean };
}

interface LoadResult {
  requests: number;
  latencyMs: HttpRun['latencyMs'];
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Closed loop at `CONNECTIONS` connections, as fast as the server answers: autocannon. */
async function maxLoad(url: string, seconds: number): Promise<LoadResult> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  const { mean, p50, p90, p99, max } = result.latency;
  return {
    requests: result.requests.total,
    latencyMs: { mean, p50, p90, p99, max },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * Open loop at a fixed rate: request i is due at start + i / rate and its latency counts from then
 * (so a slow server cannot slow the load down), over at most `CONNECTIONS` keep-alive connections.
 * Not autocannon's overallRate: that gives each connection a quota per second which it sends at
 * once when the second starts (bursts of up to `CONNECTIONS` requests), and corrects its latencies
 * for coordinated omission with a 1 ms interval, which adds samples that were never requests.
 */
async function fixedRateLoad(url: string, seconds: number, rate: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = new Samples();
  const total = Math.round(seconds * rate);
  let errors = 0;
  let timeouts = 0;
  let non2xx = 0;
  const start = performance.now();
  const one = (due: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const req = request(url, { agent, timeout: 10_000 }, (res) => {
        if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        res.resume().once('end', () => {
          latencies.add(performance.now() - due);
          resolve();
        });
      });
      req.once('timeout', () => {
        timeouts++;
        req.destroy();
      });
      req.once('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const pending: Array<Promise<void>> = [];
  try {
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(one(due));
    }
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  const summary = latencies.summary();
  const { mean, p50, p90, p99, max } = summary;
  return { requests: summary.count, latencyMs: { mean, p50, p90, p99, max }, errors, timeouts, non2xx };
}

async function run(server: BenchServer<string>, path: string, seconds: number, rate?: number): Promise<HttpRun> {
  const meter = startCpuMeter();
  const serverStart = server.cpuMs();
  const url = `${server.httpUrl}${path}`;
  const result = rate ? await fixedRateLoad(url, seconds, rate) : await maxLoad(url, seconds);
  const cpuTime = meter();
  const serverMs = server.cpuMs() - serverStart;
  const { requests } = result;
  return {
    ...result,
    requestsPerSecond: (requests / cpuTime.wallMs) * 1000,
    cpu: { ...cpuTime, serverMs },
    serverCpuMicrosPerRequest: requests > 0 ? (serverMs * 1000) / requests : NaN,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runHttp(targets: readonly HttpTarget[]): Promise<HttpOutcome[]> {
  const outcome = (route: HttpRoute, mode: HttpOutcome['mode']): HttpOutcome => ({
    route,
    path: PATHS[route],
    mode,
    connections: CONNECTIONS,
    ...(mode === 'fixed rate' ? { rate: RATE } : {}),
    runs: [],
  });
  const max = targets.map((t) => outcome(t.route, 'max'));
  const fixed = targets.map((t) => outcome(t.route, 'fixed rate'));
  const serverOf = (o: HttpOutcome): BenchServer<string> => targets.find((t) => t.route === o.route)!.server;
  const attempt = async (o: HttpOutcome, seconds: number, keep: boolean): Promise<void> => {
    if (o.error) return;
    process.stderr.write(`http: ${o.route} ${o.mode} ${seconds} s${keep ? '' : ' (warm-up)'}\n`);
    try {
      const result = await run(serverOf(o), o.path, seconds, o.rate);
      if (result.errors + result.timeouts + result.non2xx > 0 && keep) {
        o.error = `${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`;
      }
      if (keep) o.runs.push(result);
    } catch (error) {
      o.error = describe(error);
    }
  };
  for (const o of max) await attempt(o, WARMUP_SECONDS, false);
  // Rotated each round, so no route always follows the same one.
  for (let round = 0; round < ROUNDS; round++) {
    const order = [...max.slice(round % max.length), ...max.slice(0, round % max.length)];
    for (const o of order) await attempt(o, ROUND_SECONDS, true);
  }
  for (const o of fixed) await attempt(o, RATE_SECONDS, true);
  const ok = (o: HttpOutcome): boolean => o.runs.length > 0 && !o.error;
  const sum = (o: HttpOutcome, f: (r: HttpRun) => number): number => o.runs.reduce((total, r) => total + f(r), 0);
  const rate = (o: HttpOutcome): number | undefined =>
    ok(o) ? sum(o, (r) => r.requests) / sum(o, (r) => r.cpu.wallMs / 1000) : undefined;
  const cpuPerRequest = (o: HttpOutcome): number | undefined =>
    ok(o) && sum(o, (r) => r.requests) > 0
      ? (sum(o, (r) => r.cpu.serverMs) * 1000) / sum(o, (r) => r.requests)
      : undefined;
  for (const list of [max, fixed]) {
    const reference = list.find((o) => o.route === CONTROLLER);
    for (const o of list) {
      if (o.route === CONTROLLER) continue;
      const mine = cpuPerRequest(o);
      const theirs = reference && cpuPerRequest(reference);
      if (mine !== undefined && theirs) o.cpuRatioToController = mine / theirs;
      if (o.mode === 'max') {
        const [consumer, controller] = [rate(o), reference && rate(reference)];
        if (consumer !== undefined && controller) o.ratioToController = consumer / controller;
        o.goal = {
          text: `≥${ratio(GOAL)}`,
          met: o.ratioToController !== undefined && o.ratioToController >= GOAL,
        };
      } else {
        const p50 = ok(o) ? median(o.runs.map((r) => r.latencyMs.p50)) : undefined;
        const p99 = ok(o) ? median(o.runs.map((r) => r.latencyMs.p99)) : undefined;
        o.goal = {
          text: `p50≤${GOAL_P50_MS} p99≤${GOAL_P99_MS}`,
          met: p50 !== undefined && p99 !== undefined && p50 <= GOAL_P50_MS && p99 <= GOAL_P99_MS,
        };
      }
    }
  }
  return [...max, ...fixed];
}

/** autocannon gives percentiles per run: the runs' median of each (2 runs: their mean). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

export function formatHttp(outcomes: readonly HttpOutcome[]): string {
  const header = [
    'route',
    'load',
    'requests/s',
    'vs controller',
    'CPU vs controller',
    'goal',
    'rounds',
    'p50 ms',
    'p99 ms',
    'server µs/req',
    'server CPU',
    'client CPU',
    'machine',
    'steal',
  ];
  const rows = outcomes.map((o) => {
    const load = o.mode === 'max' ? `${o.connections} conn, max` : `${o.rate}/s open loop`;
    if (o.error || o.runs.length === 0) return [o.route, load, `FAILED: ${o.error ?? 'no run'}`];
    const sum = (f: (r: HttpRun) => number): number => o.runs.reduce((total, r) => total + f(r), 0);
    const wallMs = sum((r) => r.cpu.wallMs);
    const requests = sum((r) => r.requests);
    const mid = (f: (r: HttpRun) => number): number => median(o.runs.map(f));
    const goal = o.goal === undefined ? '' : `${o.goal.text} ${o.goal.met ? 'ok' : 'MISSED'}`;
    const isController = o.route === CONTROLLER;
    const pct = (f: (r: HttpRun) => number): string => cpu((sum(f) / wallMs) * 100);
    return [
      o.route,
      load,
      integer((requests / wallMs) * 1000),
      isController ? (o.mode === 'max' ? 'ref' : '') : o.mode === 'max' ? ratio(o.ratioToController) : '',
      isController ? 'ref' : times(o.cpuRatioToController),
      goal,
      spread(o.runs.map((r) => r.requestsPerSecond)),
      ms(mid((r) => r.latencyMs.p50)),
      ms(mid((r) => r.latencyMs.p99)),
      ((sum((r) => r.cpu.serverMs) * 1000) / requests).toFixed(0),
      pct((r) => r.cpu.serverMs),
      pct((r) => r.cpu.clientMs),
      pct((r) => r.cpu.machineMs),
      pct((r) => r.cpu.stealMs),
    ];
  });
  return [
    `HTTP (load from the bench process; reference: a standalone Nest app (own process, no ChannelsModule) with a plain controller; the consumer on the in-memory layer (one process: interface + worker) and over Redis (interface process + runWorker process, server CPU = both); CPU vs controller = server µs/req ÷ the controller's, same load; goals: ≥${ratio(GOAL)} of the controller's requests/s, p50 ≤ ${GOAL_P50_MS} ms and p99 ≤ ${GOAL_P99_MS} ms at ${RATE}/s; max: autocannon, ${ROUNDS} rounds (routes rotated) of ${ROUND_SECONDS} s after ${WARMUP_SECONDS} s warm-up each; fixed rate: one open-loop run of ${RATE_SECONDS} s, latency from each request's due time, ≤ ${CONNECTIONS} keep-alive connections; CPU in % of one core)`,
    table(header, rows, 2),
  ].join('\n');
}

export const HTTP_SETTINGS = {
  connections: CONNECTIONS,
  rounds: ROUNDS,
  warmupSeconds: WARMUP_SECONDS,
  roundSeconds: ROUND_SECONDS,
  fixedRate: RATE,
  fixedRateSeconds: RATE_SECONDS,
  paths: PATHS,
};

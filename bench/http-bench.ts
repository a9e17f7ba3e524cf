// HTTP: autocannon (in the bench process) against one nestjs-channels app (in-memory layer,
// in-process worker, in its helper process): a route served by an `http.request` consumer beside a
// plain Nest controller of the same app.
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { cpu, integer, ms, ratio, spread, table } from './format';
import type { BenchServer } from './servers';
import { Samples, startCpuMeter, type CpuTime } from './stats';

const CONNECTIONS = 100;
const ROUNDS = 2;
const WARMUP_SECONDS = 1;
const ROUND_SECONDS = 2;
const RATE = 300;
const RATE_SECONDS = 3;
const GOAL = 0.5;

export type HttpRoute = 'http.request consumer' | 'plain controller';
const PATHS: Record<HttpRoute, string> = { 'http.request consumer': '/echo', 'plain controller': '/plain' };

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
  goal?: number;
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

async function run(server: BenchServer, path: string, seconds: number, rate?: number): Promise<HttpRun> {
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

export async function runHttp(server: BenchServer): Promise<HttpOutcome[]> {
  const routes = Object.keys(PATHS) as HttpRoute[];
  const max = routes.map((route): HttpOutcome => ({
    route,
    path: PATHS[route],
    mode: 'max',
    connections: CONNECTIONS,
    runs: [],
  }));
  const fixed = routes.map((route): HttpOutcome => ({
    route,
    path: PATHS[route],
    mode: 'fixed rate',
    connections: CONNECTIONS,
    rate: RATE,
    runs: [],
  }));
  const attempt = async (outcome: HttpOutcome, seconds: number, keep: boolean): Promise<void> => {
    if (outcome.error) return;
    process.stderr.write(`http: ${outcome.route} ${outcome.mode} ${seconds} s${keep ? '' : ' (warm-up)'}\n`);
    try {
      const result = await run(server, outcome.path, seconds, outcome.rate);
      if (result.errors + result.timeouts + result.non2xx > 0 && keep) {
        outcome.error = `${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`;
      }
      if (keep) outcome.runs.push(result);
    } catch (error) {
      outcome.error = describe(error);
    }
  };
  for (const outcome of max) await attempt(outcome, WARMUP_SECONDS, false);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? max : [...max].reverse();
    for (const outcome of order) await attempt(outcome, ROUND_SECONDS, true);
  }
  for (const outcome of fixed) await attempt(outcome, RATE_SECONDS, true);
  const rate = (o: HttpOutcome): number | undefined =>
    o.runs.length && !o.error
      ? o.runs.reduce((sum, r) => sum + r.requests, 0) / o.runs.reduce((sum, r) => sum + r.cpu.wallMs / 1000, 0)
      : undefined;
  const [consumer, controller] = max.map(rate);
  if (consumer !== undefined && controller !== undefined) max[0].ratioToController = consumer / controller;
  max[0].goal = GOAL;
  return [...max, ...fixed];
}

export function formatHttp(outcomes: readonly HttpOutcome[]): string {
  const header = [
    'route',
    'load',
    'requests/s',
    'vs controller',
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
    // autocannon gives percentiles per run: the runs' median of each (2 runs: their mean).
    const mid = (f: (r: HttpRun) => number): number => {
      const values = o.runs.map(f).sort((a, b) => a - b);
      const half = Math.floor(values.length / 2);
      return values.length % 2 ? values[half] : (values[half - 1] + values[half]) / 2;
    };
    const goal =
      o.goal === undefined
        ? ''
        : `≥${ratio(o.goal)} ${o.ratioToController !== undefined && o.ratioToController >= o.goal ? 'ok' : 'MISSED'}`;
    const pct = (f: (r: HttpRun) => number): string => cpu((sum(f) / wallMs) * 100);
    return [
      o.route,
      load,
      integer((requests / wallMs) * 1000),
      o.route === 'plain controller'
        ? o.mode === 'max'
          ? 'ref'
          : ''
        : o.mode === 'max'
          ? ratio(o.ratioToController)
          : '',
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
    `HTTP (load from the bench process; one nestjs-channels app: in-memory layer, in-process worker; max: autocannon, ${ROUNDS} alternating runs of ${ROUND_SECONDS} s after ${WARMUP_SECONDS} s warm-up each; fixed rate: one open-loop run of ${RATE_SECONDS} s, latency from each request's due time, ≤ ${CONNECTIONS} keep-alive connections; CPU in % of one core)`,
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

// Connection churn: a closed loop of clients each connecting, waiting for the socket to open,
// closing it and starting over, through a `websocket.connect` consumer that accepts, beside plain
// `ws` (and Socket.IO). Sustained connects/s and the handshake's latency (new socket → open).
import type Redis from 'ioredis';
import type { SectionResult } from '../bench-section';
import { cpuShare, cpu, integer, micros, ms, ratio, spread, table } from '../format';
import { RedisProbe } from '../redis-stats';
import { startServer, type BenchServer } from '../servers';
import { Samples, addCpuTime, startCpuMeter, type CpuTime, type LatencySummary } from '../stats';
import { connect, disconnect } from '../targets';
import { openClient } from './client-socket';
import { describe, sleep, withDeadline } from './waits';

/** Clients connecting at once, each one socket at a time. */
const CLIENTS = 16;
const ROUNDS = 3;
const WARMUP_MS = 500;
const MEASURE_MS = 1500;
/** A handshake (or a close) slower than this counts as an error. */
const HANDSHAKE_TIMEOUT_MS = 5000;
const CLOSE_TIMEOUT_MS = 5000;
/** After a failed connect, a client waits this long before the next, so a refusing server is not hammered. */
const ERROR_PAUSE_MS = 20;
/** Loops still running this long after a round's end have hung. */
const ROUND_GRACE_MS = HANDSHAKE_TIMEOUT_MS + CLOSE_TIMEOUT_MS + 5000;

export type ChurnServerName = 'plain ws' | 'nestjs-channels in-memory' | 'nestjs-channels redis' | 'Socket.IO';

interface ChurnPlan {
  name: ChurnServerName;
  kinds: readonly string[];
  /** Whether redis-server's CPU belongs to it. */
  redis: boolean;
}

const PLAN: readonly ChurnPlan[] = [
  { name: 'plain ws', kinds: ['plain-ws'], redis: false },
  { name: 'nestjs-channels in-memory', kinds: ['channels-accept-memory'], redis: false },
  {
    name: 'nestjs-channels redis',
    kinds: ['channels-conn-redis-interface', 'channels-accept-redis-worker'],
    redis: true,
  },
  { name: 'Socket.IO', kinds: ['socketio'], redis: false },
];

interface RoundResult {
  connects: number;
  errors: number;
  firstError?: string;
  handshakes: Samples;
  cpu: CpuTime;
  serverMs: number;
  redisMs?: number;
}

export interface ChurnOutcome {
  server: ChurnServerName;
  clients: number;
  error?: string;
  connectsPerSecond?: number;
  roundRates?: number[];
  /** Milliseconds from creating the client socket to its 'open' (Socket.IO: 'connect', the namespace joined). */
  handshakeMs?: LatencySummary;
  /** Handshakes that failed or timed out while measuring. */
  errors?: number;
  firstError?: string;
  /** Connects/s ÷ those of plain ws. */
  ratioToPlainWs?: number;
  /** Server CPU (all its processes) per connect, µs. */
  serverCpuMicrosPerConnect?: number;
  cpu?: CpuTime & { serverMs: number; redisMs?: number };
}

/** One round: clients loop connect → open → close; the connects whose open lands in the window count. */
async function runRound(server: BenchServer<ChurnServerName>, redisCpu?: () => Promise<number>): Promise<RoundResult> {
  const handshakes = new Samples();
  let running = true;
  let measuring = false;
  let connects = 0;
  let errors = 0;
  let firstError: string | undefined;
  const client = async (): Promise<void> => {
    while (running) {
      const started = performance.now();
      try {
        const socket = await openClient(server, HANDSHAKE_TIMEOUT_MS);
        if (measuring) {
          connects++;
          handshakes.add(performance.now() - started);
        }
        await socket.close(CLOSE_TIMEOUT_MS);
      } catch (error) {
        if (measuring) {
          errors++;
          firstError ??= describe(error);
        }
        await sleep(ERROR_PAUSE_MS);
      }
    }
  };
  const clients = Promise.all(Array.from({ length: CLIENTS }, client));
  try {
    await sleep(WARMUP_MS);
    const redisStart = await redisCpu?.();
    const serverStart = server.cpuMs();
    const meter = startCpuMeter();
    measuring = true;
    await sleep(MEASURE_MS);
    measuring = false;
    const cpuTime = meter();
    const serverMs = server.cpuMs() - serverStart;
    const redisMs = redisCpu && redisStart !== undefined ? (await redisCpu()) - redisStart : undefined;
    return {
      connects,
      errors,
      ...(firstError === undefined ? {} : { firstError }),
      handshakes,
      cpu: cpuTime,
      serverMs,
      ...(redisMs === undefined ? {} : { redisMs }),
    };
  } finally {
    running = false;
    await withDeadline(clients, ROUND_GRACE_MS, 'the round’s clients');
  }
}

/** Starts the servers one after another (their start-ups compete for the two cores otherwise). */
async function startAll(redisUrl: string): Promise<{
  servers: Array<BenchServer<ChurnServerName>>;
  failed: Map<ChurnServerName, string>;
}> {
  const servers: Array<BenchServer<ChurnServerName>> = [];
  const failed = new Map<ChurnServerName, string>();
  for (const plan of PLAN) {
    try {
      servers.push(await startServer(plan.name, plan.kinds, redisUrl));
    } catch (error) {
      failed.set(plan.name, describe(error));
      process.stderr.write(`churn: ${plan.name} FAILED to start: ${describe(error)}\n`);
    }
  }
  return { servers, failed };
}

/** Every round of every server, servers taking turns (rotated each round) so drift hits all alike. */
export async function runChurn(redisUrl: string): Promise<ChurnOutcome[]> {
  const admin: Redis = connect(redisUrl);
  const probe = new RedisProbe(admin);
  const redisCpu = async (): Promise<number> => (await probe.cpuSeconds()) * 1000;
  const { servers, failed } = await startAll(redisUrl);
  try {
    const results = new Map<ChurnServerName, RoundResult[]>();
    const errors = new Map<ChurnServerName, string>(failed);
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...servers.slice(round % servers.length), ...servers.slice(0, round % servers.length)];
      for (const server of order) {
        if (errors.has(server.name)) continue;
        const name = `churn: ${server.name} ${CLIENTS} clients`;
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${name}\n`);
        const redis = PLAN.find((p) => p.name === server.name)?.redis;
        try {
          const result = await runRound(server, redis ? redisCpu : undefined);
          if (result.connects === 0)
            throw new Error(`no connect succeeded (first error: ${result.firstError ?? 'none'})`);
          results.set(server.name, [...(results.get(server.name) ?? []), result]);
        } catch (error) {
          errors.set(server.name, describe(error));
          process.stderr.write(`${name} FAILED: ${describe(error)}\n`);
        }
      }
    }
    const outcomes = PLAN.map((plan): ChurnOutcome => {
      const base = { server: plan.name, clients: CLIENTS };
      const rounds = results.get(plan.name) ?? [];
      const error = errors.get(plan.name) ?? (rounds.length === 0 ? 'no round completed' : undefined);
      if (error) return { ...base, error };
      const connects = rounds.reduce((total, r) => total + r.connects, 0);
      const cpuTime = rounds.map((r) => r.cpu).reduce(addCpuTime);
      const handshakes = new Samples();
      for (const r of rounds) handshakes.addAll(r.handshakes.toArray());
      const serverMs = rounds.reduce((total, r) => total + r.serverMs, 0);
      const redisMs = rounds.every((r) => r.redisMs !== undefined)
        ? rounds.reduce((total, r) => total + (r.redisMs ?? 0), 0)
        : undefined;
      const firstError = rounds.find((r) => r.firstError)?.firstError;
      return {
        ...base,
        connectsPerSecond: (connects / cpuTime.wallMs) * 1000,
        roundRates: rounds.map((r) => (r.connects / r.cpu.wallMs) * 1000),
        handshakeMs: handshakes.summary(),
        errors: rounds.reduce((total, r) => total + r.errors, 0),
        ...(firstError === undefined ? {} : { firstError }),
        serverCpuMicrosPerConnect: (serverMs * 1000) / connects,
        cpu: { ...cpuTime, serverMs, ...(redisMs === undefined ? {} : { redisMs }) },
      };
    });
    const plain = outcomes.find((o) => o.server === 'plain ws')?.connectsPerSecond;
    for (const outcome of outcomes) {
      if (plain && outcome.connectsPerSecond !== undefined && outcome.server !== 'plain ws') {
        outcome.ratioToPlainWs = outcome.connectsPerSecond / plain;
      }
    }
    return outcomes;
  } finally {
    await Promise.allSettled(servers.map((server) => server.stop()));
    await disconnect(admin);
  }
}

export function formatChurn(outcomes: readonly ChurnOutcome[]): string {
  const header = [
    'server',
    'connects/s',
    'vs ws',
    'rounds',
    'handshake p50 ms',
    'p99 ms',
    'errors',
    'server µs/connect',
    'server CPU',
    'redis CPU',
    'client CPU',
    'machine',
    'steal',
  ];
  const rows = outcomes.map((o) => {
    if (o.error || !o.handshakeMs || !o.cpu || !o.roundRates) return [o.server, 'FAILED'];
    const { wallMs } = o.cpu;
    return [
      o.server,
      integer(o.connectsPerSecond ?? 0),
      o.server === 'plain ws' ? 'ref' : ratio(o.ratioToPlainWs),
      spread(o.roundRates),
      ms(o.handshakeMs.p50),
      ms(o.handshakeMs.p99),
      integer(o.errors ?? 0),
      micros(o.serverCpuMicrosPerConnect),
      cpu(cpuShare(o.cpu.serverMs, wallMs)),
      o.cpu.redisMs === undefined ? '—' : cpu(cpuShare(o.cpu.redisMs, wallMs)),
      cpu(cpuShare(o.cpu.clientMs, wallMs)),
      cpu(cpuShare(o.cpu.machineMs, wallMs)),
      cpu(cpuShare(o.cpu.stealMs, wallMs)),
    ];
  });
  const errors = outcomes.flatMap((o) => [
    ...(o.error ? [`${o.server}: FAILED: ${o.error}`] : []),
    ...(o.firstError ? [`${o.server}: first handshake error: ${o.firstError}`] : []),
  ]);
  return [
    `Connection churn (${CLIENTS} clients in the bench process, each: connect → open → close → again; ${ROUNDS} interleaved rounds of ${MEASURE_MS / 1000} s after ${WARMUP_MS} ms warm-up; handshake = new socket → 'open' (Socket.IO: 'connect'); nestjs-channels: a websocket.connect consumer that accepts, Redis = interface + worker processes; server = its processes (/proc, 10 ms ticks), redis = redis-server (INFO cpu); CPU in % of one core)`,
    table(header, rows, 1),
    ...errors,
  ].join('\n');
}

export const CHURN_SETTINGS = {
  clients: CLIENTS,
  rounds: ROUNDS,
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
};

/** The `churn` section of `npm run bench`. */
export async function runChurnSection(redisUrl: string): Promise<SectionResult> {
  const outcomes = await runChurn(redisUrl);
  return {
    text: formatChurn(outcomes),
    json: { settings: CHURN_SETTINGS, scenarios: outcomes },
    failed: outcomes.filter((o) => o.error).length,
  };
}

// Idle connections: memory per open WebSocket at 10,000 idle sockets (heap after forced GCs and RSS
// of the server's processes; for the servers on Redis also redis-server's used_memory), nestjs-channels
// beside plain `ws` and Socket.IO. One server at a time, so each reading sees only its own sockets.
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { SectionResult } from '../bench-section';
import type { BenchChild } from '../child-process';
import { cpuShare, cpu, integer, table } from '../format';
import { requestWithin, startHelper, startServer, stopHelpers, type BenchServer } from '../servers';
import { startCpuMeter, type CpuTime } from '../stats';
import { connect, disconnect } from '../targets';
import { processCpuMs } from '../worker-process';
import { openClient } from './client-socket';
import type { OpenedReply, StatusReply } from './idle-client';
import type { ProcessMemory } from './process-memory';
import { describe, sleep, withDeadline } from './waits';

/** BENCH_IDLE_SOCKETS overrides the socket count (default 10,000), e.g. for a quick try. */
const SOCKETS = socketCount(process.env.BENCH_IDLE_SOCKETS);
/** Client helper processes sharing the sockets (a 2-core machine: more would only contend). */
const CLIENT_PROCESSES = 2;
/** Handshakes in flight per client process: bounded batches, no accept-queue overflow. */
const CONCURRENCY = 50;
/** Sockets opened and closed before the baseline, so code and caches that come once are in it. */
const WARMUP_SOCKETS = 200;
/** Pause after the warm-up's closes and after the last open, before a reading. */
const SETTLE_MS = 1000;
const OPEN_DEADLINE_MS = 120_000;
const WARMUP_DEADLINE_MS = 30_000;
const STATUS_DEADLINE_MS = 10_000;
/** nestjs-channels per connection ÷ plain `ws` per connection, heap and RSS alike. */
const GOAL = 1.5;
const CLIENT_SCRIPT = join('bench', 'connections', 'idle-client.ts');

function socketCount(value: string | undefined): number {
  const n = Number(value ?? 10_000);
  if (!Number.isInteger(n) || n < 100) throw new Error(`BENCH_IDLE_SOCKETS must be an integer ≥ 100, got ${value}`);
  return n;
}

export type IdleServerName =
  'plain ws' | 'Socket.IO' | 'Socket.IO + Redis adapter' | 'nestjs-channels in-memory' | 'nestjs-channels redis';

interface IdlePlan {
  name: IdleServerName;
  /** bench/ws-server.ts kinds, one process each; `roles` names them in the JSON. */
  kinds: readonly string[];
  roles: readonly string[];
  /** Whether it keeps state in Redis (used_memory is read). */
  redis: boolean;
  goal?: number;
}

/** Each server does what a chat does with a socket: plain ones hold it, the others also put it in a room. */
const PLAN: readonly IdlePlan[] = [
  { name: 'plain ws', kinds: ['plain-ws'], roles: ['server'], redis: false },
  { name: 'Socket.IO', kinds: ['socketio'], roles: ['server'], redis: false },
  { name: 'Socket.IO + Redis adapter', kinds: ['socketio-redis'], roles: ['server'], redis: true },
  { name: 'nestjs-channels in-memory', kinds: ['channels-chat-memory'], roles: ['server'], redis: false, goal: GOAL },
  {
    name: 'nestjs-channels redis',
    kinds: ['channels-conn-redis-interface', 'channels-chat-redis-worker'],
    roles: ['interface', 'worker'],
    redis: true,
    goal: GOAL,
  },
];

/** Bytes per connection: the change between the readings ÷ the sockets. */
interface PerConnection {
  heap: number;
  external: number;
  rss: number;
}

export interface IdleOutcome {
  server: IdleServerName;
  sockets: number;
  error?: string;
  /** Each process's readings before and after the sockets opened. */
  processes?: Array<{ role: string; before: ProcessMemory; after: ProcessMemory }>;
  bytesPerConnection?: PerConnection;
  /** redis-server used_memory change ÷ sockets (servers on Redis). */
  redisBytesPerConnection?: number;
  /** Per connection ÷ plain ws per connection. */
  ratioToPlainWs?: { heap: number; rss: number };
  goal?: number;
  goalMet?: boolean;
  /** Opening all the sockets. */
  openMs?: number;
  opensPerSecond?: number;
  /** CPU while opening: server processes, client processes (the bench's client helpers), machine. */
  cpu?: CpuTime & { serverMs: number; clientProcessesMs: number };
}

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  const value = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
  if (!Number.isFinite(value)) throw new Error('INFO memory has no used_memory');
  return value;
}

/** Opens and closes a few hundred sockets from the bench process, a bounded batch at a time. */
async function warmUp(server: BenchServer<IdleServerName>): Promise<void> {
  for (let opened = 0; opened < WARMUP_SOCKETS; opened += CONCURRENCY) {
    const batch = await Promise.all(Array.from({ length: CONCURRENCY }, () => openClient(server, 10_000)));
    await Promise.all(batch.map((socket) => socket.close(5000)));
  }
}

/** Starts every client helper, or none (those that started are stopped if one fails). */
async function startClients(server: BenchServer<IdleServerName>): Promise<BenchChild[]> {
  const shares = Array.from(
    { length: CLIENT_PROCESSES },
    (_, i) => Math.floor(SOCKETS / CLIENT_PROCESSES) + (i < SOCKETS % CLIENT_PROCESSES ? 1 : 0),
  );
  const settled = await Promise.allSettled(
    shares.map((share) =>
      startHelper(CLIENT_SCRIPT, [server.client, server.wsUrl, server.httpUrl, String(share), String(CONCURRENCY)]),
    ),
  );
  const started = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await stopHelpers(started);
    throw failure.reason;
  }
  return started;
}

function isOpened(reply: unknown): reply is OpenedReply {
  return typeof reply === 'object' && reply !== null && (reply as OpenedReply).type === 'opened';
}

function isStatus(reply: unknown): reply is StatusReply {
  return typeof reply === 'object' && reply !== null && (reply as StatusReply).type === 'status';
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

async function measure(plan: IdlePlan, redisUrl: string, admin: Redis): Promise<IdleOutcome> {
  const base = { server: plan.name, sockets: SOCKETS };
  const server = await startServer(plan.name, plan.kinds, redisUrl, { exposeGc: true });
  let clients: BenchChild[] = [];
  try {
    await withDeadline(warmUp(server), WARMUP_DEADLINE_MS, 'the warm-up');
    clients = await startClients(server);
    await sleep(SETTLE_MS);
    const before = await server.memory();
    const redisBefore = plan.redis ? await usedMemory(admin) : undefined;

    process.stderr.write(`idle: ${plan.name}: opening ${integer(SOCKETS)} sockets\n`);
    const clientCpu = (): number => sum(clients.map((c) => processCpuMs(c.pid)));
    const [serverStart, clientStart, meter] = [server.cpuMs(), clientCpu(), startCpuMeter()];
    const replies = await Promise.all(
      clients.map((c) => requestWithin(c, { type: 'open' }, OPEN_DEADLINE_MS, 'opening the sockets')),
    );
    const cpuTime = meter();
    const serverMs = server.cpuMs() - serverStart;
    const clientProcessesMs = clientCpu() - clientStart;
    const opened = replies.filter(isOpened);
    if (opened.length !== replies.length) throw new Error(`a client answered ${JSON.stringify(replies)}`);
    const open = sum(opened.map((r) => r.open));
    if (open < SOCKETS) {
      const firstError = opened.find((r) => r.firstError)?.firstError ?? 'none reported';
      throw new Error(`only ${integer(open)} of ${integer(SOCKETS)} sockets opened (first error: ${firstError})`);
    }

    await sleep(SETTLE_MS);
    const after = await server.memory();
    const redisAfter = plan.redis ? await usedMemory(admin) : undefined;
    const statuses = await Promise.all(
      clients.map((c) => requestWithin(c, { type: 'status' }, STATUS_DEADLINE_MS, 'the client status')),
    );
    const stillOpen = sum(statuses.filter(isStatus).map((s) => s.open));
    if (stillOpen < SOCKETS) throw new Error(`${integer(SOCKETS - stillOpen)} sockets closed before the reading ended`);

    const delta = (field: 'heapUsed' | 'external' | 'rss'): number =>
      sum(after.map((m, i) => m[field] - before[i][field])) / SOCKETS;
    return {
      ...base,
      processes: after.map((m, i) => ({ role: plan.roles[i] ?? plan.kinds[i], before: before[i], after: m })),
      bytesPerConnection: { heap: delta('heapUsed'), external: delta('external'), rss: delta('rss') },
      ...(redisBefore !== undefined && redisAfter !== undefined
        ? { redisBytesPerConnection: (redisAfter - redisBefore) / SOCKETS }
        : {}),
      openMs: cpuTime.wallMs,
      opensPerSecond: (SOCKETS / cpuTime.wallMs) * 1000,
      cpu: { ...cpuTime, serverMs, clientProcessesMs },
    };
  } finally {
    await stopHelpers(clients);
    await server.stop();
  }
}

export async function runIdle(redisUrl: string): Promise<IdleOutcome[]> {
  const admin = connect(redisUrl);
  try {
    const outcomes: IdleOutcome[] = [];
    for (const plan of PLAN) {
      process.stderr.write(`idle: ${plan.name}\n`);
      try {
        outcomes.push(await measure(plan, redisUrl, admin));
      } catch (error) {
        process.stderr.write(`idle: ${plan.name} FAILED: ${describe(error)}\n`);
        outcomes.push({ server: plan.name, sockets: SOCKETS, error: describe(error) });
      }
    }
    const plain = outcomes.find((o) => o.server === 'plain ws')?.bytesPerConnection;
    for (const outcome of outcomes) {
      const goal = PLAN.find((p) => p.name === outcome.server)?.goal;
      const own = outcome.bytesPerConnection;
      if (goal !== undefined) outcome.goal = goal;
      if (!own || !plain || outcome.server === 'plain ws') continue;
      outcome.ratioToPlainWs = { heap: own.heap / plain.heap, rss: own.rss / plain.rss };
      if (goal !== undefined)
        outcome.goalMet = outcome.ratioToPlainWs.heap <= goal && outcome.ratioToPlainWs.rss <= goal;
    }
    return outcomes;
  } finally {
    await disconnect(admin);
  }
}

const kb = (bytes: number | undefined): string => (bytes === undefined ? '—' : (bytes / 1024).toFixed(1));
/** A ratio as ×: 1.50× means half as much again. */
const times = (value: number | undefined): string => (value === undefined ? '—' : `${value.toFixed(2)}×`);
export function formatIdle(outcomes: readonly IdleOutcome[]): string {
  const header = [
    'server',
    'heap KB/conn',
    'vs ws',
    'RSS KB/conn',
    'vs ws',
    'goal',
    'external KB/conn',
    'redis KB/conn',
    'open s',
    'opens/s',
    'server CPU',
    'client CPU',
    'machine',
    'steal',
  ];
  const rows = outcomes.map((o) => {
    const per = o.bytesPerConnection;
    if (o.error || !per || !o.cpu || o.openMs === undefined) return [o.server, 'FAILED'];
    const reference = o.server === 'plain ws';
    const verdict = o.goalMet === undefined ? '—' : o.goalMet ? 'ok' : 'MISSED';
    const goal = o.goal === undefined ? '' : `≤${times(o.goal)} ${verdict}`;
    const { wallMs } = o.cpu;
    return [
      o.server,
      kb(per.heap),
      reference ? 'ref' : times(o.ratioToPlainWs?.heap),
      kb(per.rss),
      reference ? 'ref' : times(o.ratioToPlainWs?.rss),
      goal,
      kb(per.external),
      kb(o.redisBytesPerConnection),
      (o.openMs / 1000).toFixed(1),
      integer(o.opensPerSecond ?? 0),
      cpu(cpuShare(o.cpu.serverMs, wallMs)),
      cpu(cpuShare(o.cpu.clientProcessesMs, wallMs)),
      cpu(cpuShare(o.cpu.machineMs, wallMs)),
      cpu(cpuShare(o.cpu.stealMs, wallMs)),
    ];
  });
  return [
    `Idle connections (${integer(SOCKETS)} idle sockets from ${CLIENT_PROCESSES} client processes, ${CONCURRENCY} handshakes in flight each; one server at a time, ${WARMUP_SOCKETS} sockets opened and closed first; per connection = (after − before) ÷ sockets, of heap used after 3 forced full GCs, external and RSS, summed over the server's processes (Redis: interface + worker); redis = redis-server used_memory; nestjs-channels and Socket.IO put every socket in a room; CPU while opening, in % of one core; goal: nestjs-channels ≤ ${times(GOAL)} plain ws, heap and RSS)`,
    table(header, rows, 1),
    ...outcomes.flatMap(perProcess),
    ...outcomes.flatMap((o) => (o.error ? [`${o.server}: FAILED: ${o.error}`] : [])),
  ].join('\n');
}

/** For a server of several processes, each one's share (the worker holds no sockets). */
function perProcess(outcome: IdleOutcome): string[] {
  const processes = outcome.processes ?? [];
  if (processes.length < 2) return [];
  const parts = processes.map(({ role, before, after }) => {
    const per = (field: 'heapUsed' | 'rss'): string => kb((after[field] - before[field]) / outcome.sockets);
    return `${role} heap ${per('heapUsed')} / RSS ${per('rss')}`;
  });
  return [`${outcome.server}, KB/conn by process: ${parts.join(', ')}`];
}

export const IDLE_SETTINGS = {
  sockets: SOCKETS,
  clientProcesses: CLIENT_PROCESSES,
  concurrencyPerClient: CONCURRENCY,
  warmupSockets: WARMUP_SOCKETS,
  settleMs: SETTLE_MS,
  gcPasses: 3,
  goal: GOAL,
};

/** The `idle` section of `npm run bench`. */
export async function runIdleSection(redisUrl: string): Promise<SectionResult> {
  const outcomes = await runIdle(redisUrl);
  return {
    text: formatIdle(outcomes),
    json: { settings: IDLE_SETTINGS, scenarios: outcomes },
    failed: outcomes.filter((o) => o.error).length,
  };
}

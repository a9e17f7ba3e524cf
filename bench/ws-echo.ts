// WebSocket echo: closed-loop round trips through each server, beside a plain `ws` echo server.
// The client (the `ws` package, or socket.io-client for the Socket.IO server) runs in the bench
// process; each server in helper processes.
import { openClient, type ClientSocket } from './connections/client-socket';
import { cpuShare, cpu, integer, micros, ms, ratio, spread, table, times } from './format';
import type { BenchServer, ServerName } from './servers';
import { Samples, addCpuTime, startCpuMeter, type CpuTime, type LatencySummary } from './stats';

export interface WsShape {
  sockets: number;
  /** Messages in flight on each socket. */
  inFlight: number;
}

export const WS_SHAPES: readonly WsShape[] = [
  { sockets: 1, inFlight: 1 },
  { sockets: 1, inFlight: 16 },
  { sockets: 16, inFlight: 1 },
  { sockets: 16, inFlight: 16 },
];
const ROUNDS = 3;
const WARMUP_MS = 300;
const MEASURE_MS = 1000;
/** How long the replies still in flight after a round may take to come back before the round fails. */
const DRAIN_MS = 5000;
/** The reference of the Redis rows' `vs relay`: the relay that batches every hop (a ceiling for Redis). */
const RELAY = 'batched Redis relay' satisfies ServerName;
const NAIVE_RELAY = 'naive Redis relay' satisfies ServerName;

/** A goal of one server at one shape: its round trips/s ÷ the reference's at least `min`. */
export interface EchoGoal {
  reference: 'plain ws' | 'batched Redis relay';
  min: number;
  met?: boolean;
}

const isShape = (shape: WsShape, sockets: number, inFlight: number): boolean =>
  shape.sockets === sockets && shape.inFlight === inFlight;
const GOAL_SHAPES = (shape: WsShape): boolean =>
  isShape(shape, 1, 16) || isShape(shape, 16, 1) || isShape(shape, 16, 16);

/** The goals: in memory 50% of plain ws; over Redis 70% of the batched relay, and 50% of ws at 16×16. */
function goalsFor(server: ServerName, shape: WsShape): EchoGoal[] {
  if (!GOAL_SHAPES(shape)) return [];
  if (server === 'nestjs-channels in-memory') return [{ reference: 'plain ws', min: 0.5 }];
  if (server === 'nestjs-channels redis') {
    return [
      { reference: RELAY, min: 0.7 },
      ...(isShape(shape, 16, 16) ? [{ reference: 'plain ws' as const, min: 0.5 }] : []),
    ];
  }
  return [];
}
/** Sockets the server closed during the rounds: goal 0 for nestjs-channels at this shape. */
const CLOSED_GOAL_SHAPE = (shape: WsShape): boolean => isShape(shape, 16, 16);
const CHANNELS = new Set<ServerName>(['nestjs-channels in-memory', 'nestjs-channels redis']);
/** The servers that carry frames over Redis (redis-server's CPU is measured for them). */
const REDIS_SERVERS = new Set<ServerName>(['nestjs-channels redis', RELAY, NAIVE_RELAY]);
/** How long a client socket may take to open before the round fails. */
const OPEN_TIMEOUT_MS = 10_000;
export const WS_MESSAGE =
  '{"event":"echo","data":<n>} (text); channels and plain ws echo it, the Nest gateway returns <n>; Socket.IO: an `echo` event with <n>, emitted back';

export interface WsOutcome {
  server: ServerName;
  sockets: number;
  inFlight: number;
  error?: string;
  roundTripsPerSecond?: number;
  roundRates?: number[];
  latencyMs?: LatencySummary;
  /** Round trips/s ÷ those of the plain ws server, same shape. */
  ratioToPlainWs?: number;
  /** Server µs per message ÷ plain ws's, same shape (above 1: more server CPU per message). */
  cpuRatioToPlainWs?: number;
  /** For the Redis server: round trips/s ÷ those of the batched Redis relay (the Redis ceiling). */
  ratioToRedisRelay?: number;
  /** For the Redis server: server µs per message ÷ the batched relay's. */
  cpuRatioToRedisRelay?: number;
  /** For the Redis server: round trips/s ÷ those of the naive relay (one RPUSH/BLPOP per frame). */
  ratioToNaiveRelay?: number;
  goals?: EchoGoal[];
  /** Sockets the server closed during the rounds (a closed socket's messages stop counting). */
  socketsClosed?: number;
  /** Goal: no socket closed (nestjs-channels at 16×16). */
  closedGoal?: { max: 0; met: boolean };
  /** Server CPU (all its processes, redis-server apart) per round trip, µs; 10 ms /proc resolution. */
  serverCpuMicrosPerMessage?: number;
  /** Round trips per second of server CPU (all its processes): 10⁶ ÷ serverCpuMicrosPerMessage. */
  messagesPerServerCpuSecond?: number;
  /** redis-server CPU per round trip, µs (INFO cpu), for the server on Redis. */
  redisCpuMicrosPerMessage?: number;
  cpu?: CpuTime & { serverMs: number; redisMs?: number };
}

interface RoundResult {
  count: number;
  measuredMs: number;
  latencies: Samples;
  cpu: CpuTime;
  serverMs: number;
  redisMs?: number;
  closed: number;
}

/** CPU milliseconds redis-server has used so far. */
export type RedisCpu = () => Promise<number>;

/** One round: warm up, measure, then stop sending and wait for what is in flight. */
async function runRound(server: BenchServer, shape: WsShape, redisCpu?: RedisCpu): Promise<RoundResult> {
  const opening = Array.from({ length: shape.sockets }, () => openClient(server, OPEN_TIMEOUT_MS));
  const settled = await Promise.allSettled(opening);
  const sockets = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const refused = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (refused) {
    for (const socket of sockets) socket.terminate();
    throw refused.reason;
  }
  const latencies = new Samples();
  const sentAt = new Map<number, number>();
  let next = 0;
  let sending = true;
  let measuring = false;
  let count = 0;
  let closed = 0;
  let failure: Error | undefined;
  let drained: (() => void) | undefined;
  /** Each socket's messages in flight, so a closed socket's are no longer awaited. */
  const inFlight = sockets.map(() => new Set<number>());
  const send = (socket: ClientSocket, i: number): void => {
    const n = next++;
    sentAt.set(n, performance.now());
    inFlight[i].add(n);
    socket.sendEcho(n);
  };
  try {
    for (const [i, socket] of sockets.entries()) {
      socket.onEcho((n) => {
        const now = performance.now();
        try {
          if (n instanceof Error) throw n;
          const at = sentAt.get(n);
          if (at === undefined) throw new Error(`a reply to no message in flight: ${n}`);
          sentAt.delete(n);
          inFlight[i].delete(n);
          if (measuring) {
            count++;
            latencies.add(now - at);
          }
        } catch (error) {
          failure ??= error as Error;
          sending = false;
        }
        if (sending) send(socket, i);
        else if (sentAt.size === 0) drained?.();
      });
      socket.onLost(() => {
        // Counted, and its messages no longer awaited; the other sockets go on.
        closed++;
        for (const n of inFlight[i]) sentAt.delete(n);
        inFlight[i].clear();
        if (closed === sockets.length) {
          if (sending) failure ??= new Error('the server closed every socket');
          sending = false;
        }
        if (sentAt.size === 0) drained?.();
      });
      for (let k = 0; k < shape.inFlight; k++) send(socket, i);
    }
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const redisStart = await redisCpu?.();
    const meter = startCpuMeter();
    const serverStart = server.cpuMs();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    measuring = false;
    const cpuTime = meter();
    const serverMs = server.cpuMs() - serverStart;
    const redisMs = redisCpu && redisStart !== undefined ? (await redisCpu()) - redisStart : undefined;
    sending = false;
    if (sentAt.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, DRAIN_MS);
      });
      clearTimeout(timer);
    }
    if (failure) throw failure;
    if (sentAt.size > 0) throw new Error(`${sentAt.size} replies missing ${DRAIN_MS / 1000} s after the round`);
    return {
      count,
      measuredMs: cpuTime.wallMs,
      latencies,
      cpu: cpuTime,
      serverMs,
      ...(redisMs === undefined ? {} : { redisMs }),
      closed,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Every shape's rounds, servers taking turns (rotated each round) so drift hits all alike. */
export async function runWsEcho(servers: readonly BenchServer[], redisCpu: RedisCpu): Promise<WsOutcome[]> {
  const outcomes: WsOutcome[] = [];
  for (const shape of WS_SHAPES) {
    const results = new Map<ServerName, RoundResult[]>();
    const errors = new Map<ServerName, string>();
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...servers.slice(round % servers.length), ...servers.slice(0, round % servers.length)];
      for (const server of order) {
        if (errors.has(server.name)) continue;
        const name = `ws echo: ${server.name} ${shape.sockets} socket(s) × ${shape.inFlight}`;
        process.stderr.write(`round ${round + 1}/${ROUNDS}: ${name}\n`);
        try {
          const result = await runRound(server, shape, REDIS_SERVERS.has(server.name) ? redisCpu : undefined);
          results.set(server.name, [...(results.get(server.name) ?? []), result]);
        } catch (error) {
          errors.set(server.name, describe(error));
          process.stderr.write(`${name} FAILED: ${describe(error)}\n`);
        }
      }
    }
    const level: WsOutcome[] = servers.map((server) => {
      const base = { server: server.name, sockets: shape.sockets, inFlight: shape.inFlight };
      const rounds = results.get(server.name) ?? [];
      const error = errors.get(server.name) ?? (rounds.length === 0 ? 'no round completed' : undefined);
      if (error) return { ...base, error };
      const count = rounds.reduce((sum, r) => sum + r.count, 0);
      const wallMs = rounds.reduce((sum, r) => sum + r.measuredMs, 0);
      const latencies = new Samples();
      for (const r of rounds) latencies.addAll(r.latencies.toArray());
      const cpuTime = rounds.map((r) => r.cpu).reduce(addCpuTime);
      const serverMs = rounds.reduce((sum, r) => sum + r.serverMs, 0);
      const redisMs = rounds.every((r) => r.redisMs !== undefined)
        ? rounds.reduce((sum, r) => sum + (r.redisMs ?? 0), 0)
        : undefined;
      return {
        ...base,
        socketsClosed: rounds.reduce((sum, r) => sum + r.closed, 0),
        roundTripsPerSecond: (count / wallMs) * 1000,
        roundRates: rounds.map((r) => (r.count / r.measuredMs) * 1000),
        latencyMs: latencies.summary(),
        serverCpuMicrosPerMessage: count > 0 ? (serverMs * 1000) / count : undefined,
        ...(serverMs > 0 ? { messagesPerServerCpuSecond: count / (serverMs / 1000) } : {}),
        ...(redisMs !== undefined && count > 0 ? { redisCpuMicrosPerMessage: (redisMs * 1000) / count } : {}),
        cpu: { ...cpuTime, serverMs, ...(redisMs === undefined ? {} : { redisMs }) },
      };
    });
    const find = (name: ServerName): WsOutcome | undefined => level.find((o) => o.server === name && !o.error);
    const plain = find('plain ws');
    const relay = find(RELAY);
    const naive = find(NAIVE_RELAY);
    const div = (a: number | undefined, b: number | undefined): number | undefined =>
      a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
    for (const outcome of level) {
      if (outcome.roundTripsPerSecond === undefined) continue;
      if (outcome.server !== 'plain ws') {
        outcome.ratioToPlainWs = div(outcome.roundTripsPerSecond, plain?.roundTripsPerSecond);
        outcome.cpuRatioToPlainWs = div(outcome.serverCpuMicrosPerMessage, plain?.serverCpuMicrosPerMessage);
      }
      if (outcome.server === 'nestjs-channels redis') {
        outcome.ratioToRedisRelay = div(outcome.roundTripsPerSecond, relay?.roundTripsPerSecond);
        outcome.cpuRatioToRedisRelay = div(outcome.serverCpuMicrosPerMessage, relay?.serverCpuMicrosPerMessage);
        outcome.ratioToNaiveRelay = div(outcome.roundTripsPerSecond, naive?.roundTripsPerSecond);
      }
    }
    for (const outcome of level) {
      const goals = goalsFor(outcome.server, shape).map((goal) => {
        const value = goal.reference === 'plain ws' ? outcome.ratioToPlainWs : outcome.ratioToRedisRelay;
        return { ...goal, met: value !== undefined && value >= goal.min };
      });
      if (goals.length > 0) outcome.goals = goals;
      if (CHANNELS.has(outcome.server) && CLOSED_GOAL_SHAPE(shape)) {
        outcome.closedGoal = { max: 0, met: !outcome.error && outcome.socketsClosed === 0 };
      }
    }
    outcomes.push(...level);
  }
  return outcomes;
}

export function formatWsEcho(outcomes: readonly WsOutcome[]): string {
  const header = [
    'server',
    'sockets×in flight',
    'round trips/s',
    'vs ws',
    'CPU vs ws',
    'vs relay',
    'CPU vs relay',
    'goal',
    'closed',
    'rounds',
    'p50 ms',
    'p99 ms',
    'server µs/msg',
    'msgs/server CPU-s',
    'redis µs/msg',
    'server CPU',
    'redis CPU',
    'client CPU',
    'machine',
    'steal',
  ];
  const rows = outcomes.map((o) => {
    const shape = `${o.sockets}×${o.inFlight}`;
    if (o.error || !o.latencyMs || !o.cpu || !o.roundRates) return [o.server, shape, `FAILED: ${o.error}`];
    const goal = [
      ...(o.goals ?? []).map(
        (g) => `≥${ratio(g.min)} ${g.reference === 'plain ws' ? 'ws' : 'relay'} ${g.met ? 'ok' : 'MISSED'}`,
      ),
      ...(o.closedGoal ? [`0 closed ${o.closedGoal.met ? 'ok' : 'MISSED'}`] : []),
    ].join('; ');
    const { wallMs } = o.cpu;
    return [
      o.server,
      shape,
      integer(o.roundTripsPerSecond ?? 0),
      o.server === 'plain ws' ? 'ref' : ratio(o.ratioToPlainWs),
      o.server === 'plain ws' ? 'ref' : times(o.cpuRatioToPlainWs),
      o.server === RELAY ? 'ref' : o.ratioToRedisRelay === undefined ? '' : ratio(o.ratioToRedisRelay),
      o.server === RELAY ? 'ref' : o.cpuRatioToRedisRelay === undefined ? '' : times(o.cpuRatioToRedisRelay),
      goal,
      String(o.socketsClosed ?? 0),
      spread(o.roundRates),
      ms(o.latencyMs.p50),
      ms(o.latencyMs.p99),
      micros(o.serverCpuMicrosPerMessage),
      o.messagesPerServerCpuSecond === undefined ? '—' : integer(o.messagesPerServerCpuSecond),
      micros(o.redisCpuMicrosPerMessage),
      cpu(cpuShare(o.cpu.serverMs, wallMs)),
      o.cpu.redisMs === undefined ? '—' : cpu(cpuShare(o.cpu.redisMs, wallMs)),
      cpu(cpuShare(o.cpu.clientMs, wallMs)),
      cpu(cpuShare(o.cpu.machineMs, wallMs)),
      cpu(cpuShare(o.cpu.stealMs, wallMs)),
    ];
  });
  return [
    `WebSocket echo (ws client in the bench process, socket.io-client on the websocket transport for Socket.IO (no Redis adapter), closed loop; ${ROUNDS} interleaved rounds of ${MEASURE_MS / 1000} s after ${WARMUP_MS} ms warm-up; server = its processes (/proc, 10 ms ticks; Redis: interface + runWorker), redis = redis-server (INFO cpu); vs relay = nestjs-channels redis ÷ the batched Redis relay (plain ws, one RPUSH per tick, BLMPOP COUNT 256 on both hops, one write per socket per tick; no library: the Redis ceiling); the naive relay (one RPUSH/BLPOP per frame) is a row of its own; CPU vs = server µs/msg ÷ the reference's (above 1× = more server CPU per message); closed = sockets the server closed (goal 0 at 16×16); msgs/server CPU-s = round trips per second of server CPU; CPU in % of one core)`,
    table(header, rows, 2),
  ].join('\n');
}

export const WS_SETTINGS = {
  rounds: ROUNDS,
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  shapes: WS_SHAPES,
  message: WS_MESSAGE,
};

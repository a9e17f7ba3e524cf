// One size: both systems started and connected side by side, then rounds in which they take
// turns (so other load on the machine hits both alike), paced first, then at the maximum rate.
// The rounds of each system and mode are summed into one row.
import type Redis from 'ioredis';
import { Samples, type LatencySummary } from '../stats';
import type { Mode } from './drive';
import { measureRound, type RoundFigures } from './round';
import type { BroadcastSettings } from './settings';
import { SystemUnderTest, type SystemName } from './system';

export const SYSTEMS: readonly SystemName[] = ['nestjs-channels', 'Socket.IO', 'Socket.IO, engine.io client'];
const MODES: readonly Mode[] = ['paced', 'max'];

/**
 * Redis commands each system's processes send for a broadcast (everything else in commandstats ran
 * inside a Lua script): nestjs-channels the group-send script (EVALSHA, EVAL after a NOSCRIPT) and
 * the interfaces' reply pops (BLMPOP); Socket.IO's adapter one PUBLISH. Both systems run side by
 * side, so the other's idle loops (the channels worker's BLPOP, an interface's BLMPOP timing out
 * during a Socket.IO round) are left out of each row.
 */
const PATH_COMMANDS: Record<SystemName, ReadonlySet<string>> = {
  'nestjs-channels': new Set(['evalsha', 'eval', 'blmpop']),
  'Socket.IO': new Set(['publish']),
  'Socket.IO, engine.io client': new Set(['publish']),
};
/** Commands of the other system's (or the channels worker's) idle receive loops, never counted. */
const IDLE_COMMANDS: Record<SystemName, ReadonlySet<string>> = {
  'nestjs-channels': new Set(['blpop', 'publish']),
  'Socket.IO': new Set(['blpop', 'blmpop', 'evalsha', 'eval']),
  'Socket.IO, engine.io client': new Set(['blpop', 'blmpop', 'evalsha', 'eval']),
};

export interface RunRow {
  system: SystemName;
  sockets: number;
  mode: Mode;
  error?: string;
  rounds?: number;
  sends?: number;
  delivered?: number;
  /** delivered ÷ (sends × sockets). */
  deliveryRatio?: number;
  /** Delivered frames ÷ (last delivery − first send), rounds summed. */
  framesPerSecond?: number;
  /** Each round's frames/s. */
  roundFramesPerSecond?: number[];
  /** Send → receive, ms (wall clock of the same machine). */
  latencyMs?: LatencySummary;
  /** Why rounds ended with sends not delivered everywhere (the losses are in deliveryRatio). */
  incomplete?: string[];
  sendErrors?: number;
  firstSendError?: string;
  duplicates?: number;
  /** Sockets that closed during the rounds. */
  dropped?: number;
  redis?: {
    /** Commands the system's processes send per group send (EVALSHA and BLMPOP; PUBLISH). */
    clientCallsPerSend: number;
    /** Those and the commands run inside its Lua scripts (INFO commandstats), per group send. */
    commandsPerSend: number;
    /** Calls and execution time (µs) per group send, by command. */
    byCommand: Record<string, { calls: number; micros: number }>;
    /** Time redis-server spent executing those commands per group send (INFO commandstats usec), µs. */
    microsPerSend: number;
    /** redis-server CPU per group send (INFO cpu: its idle work and the other system's idle loops included), ms. */
    cpuMsPerSend: number;
  };
  /** % of one core over the measured rounds (first send → drained). */
  cpu?: {
    wallMs: number;
    servers: number[];
    worker?: number;
    clients: number[];
    /** The clients' own process.cpuUsage() while recording, ms. */
    clientsReportedMs: number[];
    bench: number;
    redis: number;
    /** Every process: the machine's cores × 100 is all of it. */
    machine: number;
    /** The machine minus this system's processes, the bench and redis-server: other work skews the figures. */
    others: number;
    steal: number;
  };
  /** CPU per delivered frame, µs: independent of how the machine's CPU was shared out. */
  microsPerFrame?: { servers: number; clients: number; redis: number };
  /** frames/s ÷ Socket.IO's (socket.io-client) at the same size and mode. */
  ratioToSocketIo?: number;
  /** Server µs per frame ÷ Socket.IO's (socket.io-client), same size and mode. */
  cpuRatioToSocketIo?: number;
  /** frames/s ÷ Socket.IO's with the engine.io client, same size and mode. */
  ratioToEngineIo?: number;
  /** Server µs per frame ÷ Socket.IO's with the engine.io client. */
  cpuRatioToEngineIo?: number;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function sumBy<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((sum, item) => sum + value(item), 0);
}

function addUp(lists: ReadonlyArray<readonly number[]>): number[] {
  return lists[0].map((_, i) => sumBy(lists, (list) => list[i]));
}

/** The rounds of one system and mode as one row. */
export function summarize(system: SystemUnderTest, mode: Mode, rounds: readonly RoundFigures[]): RunRow {
  const sends = sumBy(rounds, (r) => r.sends);
  const delivered = sumBy(rounds, (r) => r.delivered);
  const activeMs = sumBy(rounds, (r) => r.activeMs);
  const latencies = new Samples();
  for (const round of rounds) for (const list of round.latencies) latencies.addAll(list);
  const calls: Record<string, number> = {};
  const usecs: Record<string, number> = {};
  for (const round of rounds) {
    for (const [c, use] of Object.entries(round.commands)) {
      if (IDLE_COMMANDS[system.name].has(c)) continue;
      calls[c] = (calls[c] ?? 0) + use.calls;
      usecs[c] = (usecs[c] ?? 0) + use.usec;
    }
  }
  // A script's time includes its inner calls' (which commandstats also lists): the top-level commands only.
  const usec = sumBy(Object.entries(usecs), ([c, u]) => (PATH_COMMANDS[system.name].has(c) ? u : 0));
  const perSend = (value: number): number => (sends > 0 ? value / sends : NaN);
  const cpu = rounds.map((r) => r.cpu);
  const wallMs = sumBy(cpu, (c) => c.wallMs);
  const share = (ms: number): number => (ms / wallMs) * 100;
  const servers = addUp(cpu.map((c) => c.servers));
  const clients = addUp(cpu.map((c) => c.clients));
  const worker = sumBy(cpu, (c) => c.worker);
  const bench = sumBy(cpu, (c) => c.bench);
  const redis = sumBy(cpu, (c) => c.redis);
  const machine = sumBy(cpu, (c) => c.machine);
  const perFrame = (ms: number): number => (delivered > 0 ? (ms * 1000) / delivered : NaN);
  const ours = sumBy(servers, (v) => v) + worker + sumBy(clients, (v) => v) + bench + redis;
  const incomplete = rounds.flatMap((r, i) => (r.incomplete ? [`round ${i + 1}: ${r.incomplete}`] : []));
  const firstSendError = rounds.find((r) => r.firstSendError)?.firstSendError;
  return {
    system: system.name,
    sockets: system.sockets,
    mode,
    rounds: rounds.length,
    sends,
    delivered,
    deliveryRatio: sends > 0 ? delivered / (sends * system.sockets) : 0,
    framesPerSecond: activeMs > 0 ? (delivered / activeMs) * 1000 : 0,
    roundFramesPerSecond: rounds.map((r) => (r.activeMs > 0 ? (r.delivered / r.activeMs) * 1000 : 0)),
    latencyMs: latencies.summary(),
    ...(incomplete.length ? { incomplete } : {}),
    sendErrors: sumBy(rounds, (r) => r.sendErrors),
    ...(firstSendError ? { firstSendError } : {}),
    duplicates: sumBy(rounds, (r) => r.duplicates),
    dropped: sumBy(rounds, (r) => r.dropped),
    redis: {
      clientCallsPerSend: perSend(
        sumBy(Object.entries(calls), ([c, n]) => (PATH_COMMANDS[system.name].has(c) ? n : 0)),
      ),
      commandsPerSend: perSend(sumBy(Object.values(calls), (n) => n)),
      byCommand: Object.fromEntries(
        Object.entries(calls).map(([c, n]) => [c, { calls: perSend(n), micros: perSend(usecs[c]) }]),
      ),
      microsPerSend: perSend(usec),
      cpuMsPerSend: perSend(redis),
    },
    microsPerFrame: {
      // The channels worker is part of the server side (it is idle during the rounds).
      servers: perFrame(sumBy(servers, (v) => v) + worker),
      clients: perFrame(sumBy(clients, (v) => v)),
      redis: perFrame(redis),
    },
    cpu: {
      wallMs,
      servers: servers.map(share),
      ...(system.worker ? { worker: share(worker) } : {}),
      clients: clients.map(share),
      clientsReportedMs: addUp(cpu.map((c) => c.clientsReported)),
      bench: share(bench),
      redis: share(redis),
      machine: share(machine),
      others: Number.isFinite(ours) ? Math.max(0, share(machine - ours)) : NaN,
      steal: share(sumBy(cpu, (c) => c.steal)),
    },
  };
}

/** Both systems at one size; a system that fails gets FAILED rows, the other goes on. */
export async function runSize(
  sockets: number,
  redisUrl: string,
  admin: Redis,
  settings: BroadcastSettings,
): Promise<RunRow[]> {
  const errors = new Map<SystemName, string>();
  const fail = (name: SystemName, error: unknown): void => {
    errors.set(name, message(error));
    process.stderr.write(`broadcast: ${name}, ${sockets} sockets FAILED: ${message(error)}\n`);
  };
  process.stderr.write(`broadcast: ${sockets} sockets: starting the servers and clients\n`);
  const systems: SystemUnderTest[] = [];
  // One system after the other: start-ups are CPU-bound, and each has a 30 s limit.
  for (const name of SYSTEMS) {
    try {
      systems.push(await SystemUnderTest.start(name, sockets, redisUrl));
    } catch (error) {
      fail(name, error);
    }
  }
  const live = (): SystemUnderTest[] => systems.filter((s) => !errors.has(s.name));
  const rows: RunRow[] = [];
  try {
    // One system at a time: opening 10,000 sockets is CPU-heavy and would skew the other's warm-up.
    for (const system of live()) {
      try {
        const ms = await system.open(settings.openBatch);
        process.stderr.write(`broadcast: ${system.name}: ${sockets} sockets open in ${(ms / 1000).toFixed(1)} s\n`);
        await system.warmUp(settings);
      } catch (error) {
        fail(system.name, error);
      }
    }
    for (const mode of MODES) {
      const rounds = new Map<SystemName, RoundFigures[]>(SYSTEMS.map((name) => [name, []]));
      const modeErrors = new Map<SystemName, string>();
      for (let round = 0; round < settings.rounds; round++) {
        // Rotate who goes first, so none always follows the same one's leftovers.
        const all = live();
        const order = [...all.slice(round % all.length), ...all.slice(0, round % all.length)];
        for (const system of order) {
          if (modeErrors.has(system.name)) continue;
          process.stderr.write(`broadcast: ${system.name}, ${sockets} sockets, ${mode}, round ${round + 1}\n`);
          try {
            rounds.get(system.name)!.push(await measureRound(system, mode, round, admin, settings));
          } catch (error) {
            modeErrors.set(system.name, message(error));
            process.stderr.write(`broadcast: ${system.name} ${mode} FAILED: ${message(error)}\n`);
          }
        }
      }
      for (const name of SYSTEMS) {
        const system = systems.find((s) => s.name === name);
        const error = errors.get(name) ?? modeErrors.get(name);
        const done = rounds.get(name)!;
        if (error || !system || done.length === 0) {
          rows.push({ system: name, sockets, mode, error: error ?? 'no round completed' });
        } else rows.push(summarize(system, mode, done));
      }
    }
    return rows;
  } finally {
    await Promise.allSettled(systems.map((system) => system.close()));
  }
}

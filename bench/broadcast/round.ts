// One measured round of one system: clients recording, CPU and Redis counters read around the
// sends, the clients' deliveries collected. Rounds of the same mode are summed into a row.
import { join } from 'node:path';
import type Redis from 'ioredis';
import { startCpuMeter } from '../stats';
import { drive, type DriveOutcome, type DriveSettings, type Mode } from './drive';
import type { ProfiledReply } from './protocol';
import { readRedis, usageDelta, type Usage } from './redis-usage';
import type { BroadcastSettings } from './settings';
import type { SystemUnderTest } from './system';

const PROFILE_TIMEOUT_MS = 30_000;

/** CPU time over a round, ms of one core. */
export interface RoundCpu {
  wallMs: number;
  servers: number[];
  worker: number;
  clients: number[];
  /** The clients' own process.cpuUsage() while recording. */
  clientsReported: number[];
  bench: number;
  redis: number;
  machine: number;
  steal: number;
}

export interface RoundFigures {
  sends: number;
  sendErrors: number;
  firstSendError?: string;
  incomplete?: string;
  delivered: number;
  duplicates: number;
  dropped: number;
  /** First send → last delivery, ms. */
  activeMs: number;
  latencies: Float64Array[];
  commands: Usage;
  cpu: RoundCpu;
}

interface Counters {
  commands: Usage;
  redisMs: number;
  servers: number[];
  worker: number;
  clients: number[];
}

async function counters(admin: Redis, system: SystemUnderTest): Promise<Counters> {
  const { commands, cpuMs } = await readRedis(admin);
  return {
    commands,
    redisMs: cpuMs,
    servers: system.servers.map((s) => s.cpuMs()),
    worker: system.worker?.cpuMs() ?? 0,
    clients: system.clients.map((c) => c.cpuMs()),
  };
}

async function profile(system: SystemUnderTest, action: 'start' | 'stop', file: (i: number) => string): Promise<void> {
  await Promise.all(
    system.servers.map((server, i) =>
      server.request<ProfiledReply>({ type: 'profile', action, file: file(i) }, 'profiled', PROFILE_TIMEOUT_MS),
    ),
  );
}

export function driveSettings(settings: BroadcastSettings, mode: Mode): DriveSettings {
  return {
    mode,
    sends: settings.pacedSendsPerRound,
    intervalMs: settings.intervalMs,
    durationMs: settings.maxRoundMs,
    window: settings.window,
    stallMs: settings.stallMs,
    drainMs: settings.drainMs,
  };
}

export async function measureRound(
  system: SystemUnderTest,
  mode: Mode,
  round: number,
  admin: Redis,
  settings: BroadcastSettings,
): Promise<RoundFigures> {
  const firstN = system.nextN;
  await system.record(firstN);
  const dir = settings.profileDir;
  const profiling = dir !== undefined && mode === 'max';
  const tag = `broadcast-${system.name === 'nestjs-channels' ? 'channels' : system.name === 'Socket.IO' ? 'socketio' : 'socketio-eio'}-${system.sockets}-${mode}-r${round + 1}`;
  if (profiling) await profile(system, 'start', (i) => join(dir, `${tag}-server${i + 1}.cpuprofile`));
  const before = await counters(admin, system);
  const meter = startCpuMeter();
  let outcome: DriveOutcome;
  try {
    outcome = await drive(system.sender, system.clients, firstN, driveSettings(settings, mode));
  } finally {
    // Even after a failed round, the next one must not reuse these numbers (late frames).
    system.nextN = firstN + 1_000_000;
  }
  system.nextN = firstN + outcome.sends;
  const cpu = meter();
  const after = await counters(admin, system);
  if (profiling) await profile(system, 'stop', (i) => join(dir, `${tag}-server${i + 1}.cpuprofile`));
  const results = await system.results();
  const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
  return {
    sends: outcome.sends,
    sendErrors: outcome.sendErrors,
    ...(outcome.firstSendError ? { firstSendError: outcome.firstSendError } : {}),
    ...(outcome.incomplete ? { incomplete: outcome.incomplete } : {}),
    delivered: sum(results.map((r) => r.delivered)),
    duplicates: sum(results.map((r) => r.duplicates)),
    dropped: sum(results.map((r) => r.dropped)),
    activeMs: Math.max(0, Math.max(...results.map((r) => r.lastAt)) - outcome.startedAt),
    latencies: results.map((r) => r.latencies),
    commands: usageDelta(before.commands, after.commands),
    cpu: {
      wallMs: cpu.wallMs,
      servers: after.servers.map((ms, i) => ms - before.servers[i]),
      worker: after.worker - before.worker,
      clients: after.clients.map((ms, i) => ms - before.clients[i]),
      clientsReported: results.map((r) => r.cpuMs),
      bench: cpu.clientMs,
      redis: after.redisMs - before.redisMs,
      machine: cpu.machineMs,
      steal: cpu.stealMs,
    },
  };
}

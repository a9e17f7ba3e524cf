// What redis-server did, read around each round: calls and time per command (INFO commandstats,
// Lua's inner calls included) and the server's CPU (INFO cpu, which also counts its idle work).
import type Redis from 'ioredis';
import { isBookkeeping, parseServerCpuSeconds } from '../redis-stats';

export interface CommandUsage {
  calls: number;
  /** Time spent executing them, µs (blocking commands: not the time they waited). */
  usec: number;
}

export type Usage = Record<string, CommandUsage>;

export interface RedisReading {
  commands: Usage;
  cpuMs: number;
}

export function parseCommandUsage(info: string): Usage {
  const usage: Usage = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    usage[match[1]] = { calls: Number(match[2]), usec: Number(match[3]) };
  }
  return usage;
}

export async function readRedis(admin: Redis): Promise<RedisReading> {
  const [commandstats, cpu] = await Promise.all([admin.info('commandstats'), admin.info('cpu')]);
  return { commands: parseCommandUsage(commandstats), cpuMs: parseServerCpuSeconds(cpu) * 1000 };
}

/** Per-command use between two readings, the bench's own bookkeeping (INFO, CONFIG…) left out. */
export function usageDelta(before: Usage, after: Usage): Usage {
  const delta: Usage = {};
  for (const [command, { calls, usec }] of Object.entries(after)) {
    if (isBookkeeping(command)) continue;
    const was = before[command] ?? { calls: 0, usec: 0 };
    if (calls > was.calls) delta[command] = { calls: calls - was.calls, usec: usec - was.usec };
  }
  return delta;
}

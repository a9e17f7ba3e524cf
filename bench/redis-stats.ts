import type Redis from 'ioredis';

/** Calls per command name from `INFO commandstats` (`client|id` style names for subcommands). */
export type CommandCalls = Record<string, number>;

/** Commands the bench (or a client's connection setup) issues for itself, not per message. */
const BOOKKEEPING = new Set(['info', 'config', 'client', 'ping', 'hello', 'select', 'auth', 'command', 'quit']);

export function isBookkeeping(command: string): boolean {
  return BOOKKEEPING.has(command.split('|')[0]);
}

export function parseCommandStats(info: string): CommandCalls {
  const calls: CommandCalls = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
  return calls;
}

/** CPU seconds (user + system) the Redis server has used, from `INFO cpu`. */
export function parseServerCpuSeconds(info: string): number {
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Reads the figures of one Redis server through a connection of its own. */
export class RedisProbe {
  constructor(private readonly admin: Redis) {}

  async version(): Promise<string> {
    return /^redis_version:(\S+)/m.exec(await this.admin.info('server'))?.[1] ?? 'unknown';
  }

  async resetStats(): Promise<void> {
    await this.admin.config('RESETSTAT');
  }

  async commandCalls(): Promise<CommandCalls> {
    return parseCommandStats(await this.admin.info('commandstats'));
  }

  async cpuSeconds(): Promise<number> {
    return parseServerCpuSeconds(await this.admin.info('cpu'));
  }
}

// The faults section's helper processes: the app under test (bench/faults/app.ts) and the flooder
// (bench/faults/flooder.ts), started through bench/servers.ts's startHelper (so stopAllServers stops
// them too, signals included), asked one thing at a time with a deadline; and what /proc says of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/support/redis-server';
import type { BenchChild } from '../child-process';
import { isProcessMemory, type MemoryRequest, type ProcessMemory } from '../connections/process-memory';
import { HelperProcess } from '../helper-process';
import { startHelper, stopHelpers, type HelperOptions } from '../servers';
import type { AppKind, AppRequest, FloodRequest, StatisticsReply } from './protocol';

const APP_SCRIPT = join('bench', 'faults', 'app.ts');

/**
 * A helper of this section (bench/helper-process.ts). Started through bench/servers.ts's
 * startHelper, so stopped through its stopHelpers, which also drops it from stopAllServers' list.
 */
export class Helper extends HelperProcess<AppRequest | MemoryRequest | FloodRequest> {
  override stop(): Promise<void> {
    return stopHelpers([this.child]);
  }
}

/** An app under test in a process of its own. */
export class AppProcess extends Helper {
  constructor(
    label: string,
    child: BenchChild,
    readonly port: number,
  ) {
    super(label, child);
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  statistics(): Promise<StatisticsReply> {
    return this.request<StatisticsReply>({ type: 'statistics' }, 'statistics');
  }

  /** Heap and RSS after 3 forced full GCs (the app must have been started with `exposeGc`). */
  async memory(): Promise<ProcessMemory> {
    const reply = await this.request<ProcessMemory>({ type: 'memory' }, 'memory', 30_000);
    if (!isProcessMemory(reply) || reply.error) throw new Error(`${this.label}: ${reply.error ?? 'no memory reading'}`);
    return reply;
  }
}

/** Starts bench/faults/app.ts `kind` on a spare port (`port` 0 for a worker, which listens on none). */
export async function startApp(
  kind: AppKind,
  redisUrl: string | undefined,
  options: HelperOptions & { listen?: boolean } = {},
): Promise<AppProcess> {
  const port = options.listen === false ? 0 : await freePort();
  const child = await startHelper(APP_SCRIPT, [kind, String(port), redisUrl ?? '-'], options);
  return new AppProcess(kind, child, port);
}

/** Starts a helper script of this folder. */
export async function startScript(label: string, script: string, args: readonly string[] = []): Promise<Helper> {
  return new Helper(label, await startHelper(join('bench', 'faults', script), args));
}

/** Resident set size of a process now, bytes (VmRSS of /proc/<pid>/status); NaN once it has gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** Figures of ChannelsInterfaceService.statistics() that say what is open now, not what happened. */
const GAUGES = new Set(['websocketsOpen', 'httpRequestsOpen', 'httpBodyBytesHeld', 'messagesWaiting']);

/** The counters that moved between two readings of the interface statistics (gauges left out). */
export function counterDelta(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [key, value] of Object.entries(after ?? {})) {
    const change = value - (before?.[key] ?? 0);
    if (!GAUGES.has(key) && change !== 0) delta[key] = change;
  }
  return delta;
}

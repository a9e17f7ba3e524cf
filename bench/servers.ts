// The server helpers of the WebSocket echo and HTTP scenarios (bench/ws-server.ts), each in a process
// of its own on a port of its own; every one started is stopped by stopAllServers, signals included.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startBenchChild, type BenchChild } from './child-process';
import { processCpuMs } from './worker-process';

export type ServerName =
  'nestjs-channels in-memory' | 'nestjs-channels redis' | 'plain ws' | 'nest WsAdapter' | 'raw Redis relay';

export interface BenchServer {
  name: ServerName;
  /** ws://127.0.0.1:port/ws (the HTTP routes are on the same port). */
  wsUrl: string;
  httpUrl: string;
  /** The server's processes: for the Redis one the interface and the worker (redis-server apart). */
  pids: readonly number[];
  /** CPU time all of them have used so far (10 ms resolution). */
  cpuMs(): number;
}

const running = new Set<BenchChild>();

/** A port free just now on 127.0.0.1 (the helper listens on it next). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function child(kind: string, args: readonly string[]): Promise<BenchChild> {
  const started = await startBenchChild(join('bench', 'ws-server.ts'), [kind, ...args]);
  running.add(started);
  return started;
}

async function server(name: ServerName, kinds: readonly string[], redisUrl: string): Promise<BenchServer> {
  const port = await freePort();
  const children = await Promise.all(kinds.map((kind) => child(kind, [String(port), redisUrl])));
  const pids = children.map((c) => c.pid);
  return {
    name,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    pids,
    cpuMs: () => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
  };
}

/**
 * Starts the servers side by side (start-ups overlap; none is measured before all are up).
 * Those that fail to start are reported in `failed`; the others run.
 */
export async function startServers(
  redisUrl: string,
): Promise<{ servers: BenchServer[]; failed: Array<{ name: ServerName; error: string }> }> {
  const plan: Array<[ServerName, string[]]> = [
    ['plain ws', ['plain-ws']],
    ['nestjs-channels in-memory', ['channels-memory']],
    ['nestjs-channels redis', ['channels-redis-interface', 'channels-redis-worker']],
    ['nest WsAdapter', ['nest-ws']],
    ['raw Redis relay', ['redis-relay-interface', 'redis-relay-worker']],
  ];
  const settled = await Promise.allSettled(plan.map(([name, kinds]) => server(name, kinds, redisUrl)));
  const servers: BenchServer[] = [];
  const failed: Array<{ name: ServerName; error: string }> = [];
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') servers.push(result.value);
    else failed.push({ name: plan[i][0], error: String((result.reason as Error)?.message ?? result.reason) });
  });
  return { servers, failed };
}

/** Stops every server helper started (graceful, then SIGKILL after 5 s). */
export async function stopAllServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.allSettled(all.map((c) => c.stop()));
}

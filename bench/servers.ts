// The server helpers of the WebSocket echo, HTTP and connection scenarios (bench/ws-server.ts), each
// in a process of its own on a port of its own; every one started (and every client helper started
// through startHelper) is stopped by stopAllServers, signals included.
import type { Serializable } from 'node:child_process';
import { freePort } from '../test/support/redis-server';
import { join } from 'node:path';
import { startBenchChild, type BenchChild } from './child-process';
import { isProcessMemory, type HeapSnapshotReply, type ProcessMemory } from './connections/process-memory';
import { processCpuMs } from './worker-process';

export type ServerName =
  | 'nestjs-channels in-memory'
  | 'nestjs-channels redis'
  | 'plain ws'
  | 'nest WsAdapter'
  | 'batched Redis relay'
  | 'naive Redis relay'
  | 'Socket.IO';

/** How a client talks to the server: plain WebSocket frames, or Socket.IO events (websocket transport). */
export type ClientKind = 'ws' | 'socket.io';

export interface BenchServer<N extends string = ServerName> {
  name: N;
  client: ClientKind;
  /** ws://127.0.0.1:port/ws (the HTTP routes are on the same port). */
  wsUrl: string;
  /** http://127.0.0.1:port (Socket.IO clients connect here, to /socket.io/). */
  httpUrl: string;
  /** The server's processes: for the Redis one the interface and the worker (redis-server apart). */
  pids: readonly number[];
  /** CPU time all of them have used so far (10 ms resolution). */
  cpuMs(): number;
  /** Heap after forced GCs and RSS of each process, in `pids` order (needs `exposeGc` at start). */
  memory(): Promise<ProcessMemory[]>;
  /** Writes a heap snapshot of process `index` (default the first, the one holding the sockets) to `path`. */
  heapSnapshot(path: string, index?: number): Promise<void>;
  /** Stops this server's processes (stopAllServers would too). */
  stop(): Promise<void>;
}

export interface HelperOptions {
  /** Start node with --expose-gc, so the helper can force full collections before memory readings. */
  exposeGc?: boolean;
}

/** A memory reading taking longer than this has hung. */
const MEMORY_TIMEOUT_MS = 30_000;

const running = new Set<BenchChild>();

/**
 * Starts a bench helper script (bench/child-process.ts) that stopAllServers stops too. Node options
 * reach it through NODE_OPTIONS, set only while startBenchChild spawns (synchronously, on its call).
 */
export async function startHelper(
  script: string,
  args: readonly string[],
  options: HelperOptions = {},
): Promise<BenchChild> {
  const before = process.env.NODE_OPTIONS;
  let starting: Promise<BenchChild>;
  try {
    if (options.exposeGc) process.env.NODE_OPTIONS = [before, '--expose-gc'].filter(Boolean).join(' ');
    starting = startBenchChild(script, args);
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
  const started = await starting;
  running.add(started);
  return started;
}

/** Stops helpers started by startHelper (graceful, then SIGKILL after 5 s). */
export async function stopHelpers(children: readonly BenchChild[]): Promise<void> {
  for (const c of children) running.delete(c);
  await Promise.allSettled(children.map((c) => c.stop()));
}

/** Sends `message` to a helper and waits for its answer, at most `ms`. */
export async function requestWithin(
  child: BenchChild,
  message: Serializable,
  ms: number,
  what: string,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([child.request(message), deadline]).finally(() => clearTimeout(timer));
}

async function readMemory(child: BenchChild): Promise<ProcessMemory> {
  const reply = await requestWithin(child, { type: 'memory' }, MEMORY_TIMEOUT_MS, `memory of ${child.pid}`);
  if (!isProcessMemory(reply))
    throw new Error(`process ${child.pid} answered ${JSON.stringify(reply)} to a memory request`);
  if (reply.error) throw new Error(`process ${child.pid}: ${reply.error}`);
  return reply;
}

/** A helper's CPU time; a clear error when it has exited (its /proc entry is gone). */
function cpuOf(pid: number, kind: string): number {
  try {
    return processCpuMs(pid);
  } catch {
    throw new Error(`the ${kind} process (pid ${pid}) is not running`);
  }
}

async function writeHeapSnapshot(child: BenchChild, path: string): Promise<void> {
  const reply = (await requestWithin(
    child,
    { type: 'heap-snapshot', path },
    MEMORY_TIMEOUT_MS * 4,
    'a heap snapshot',
  )) as HeapSnapshotReply | undefined;
  if (reply?.type !== 'heap-snapshot')
    throw new Error(`process ${child.pid} answered ${JSON.stringify(reply)} to a heap snapshot request`);
  if (reply.error) throw new Error(`process ${child.pid}: ${reply.error}`);
}

/**
 * Starts one server: a helper per kind (bench/ws-server.ts), all on one port (the first kind
 * listens; for the Redis servers the second is the worker). If any fails to start, the others stop.
 * Kinds starting with `socketio` are Socket.IO servers, the rest speak plain WebSocket frames.
 */
export async function startServer<N extends string>(
  name: N,
  kinds: readonly string[],
  redisUrl: string,
  options: HelperOptions = {},
): Promise<BenchServer<N>> {
  const port = await freePort();
  const script = join('bench', 'ws-server.ts');
  const settled = await Promise.allSettled(
    kinds.map((kind) => startHelper(script, [kind, String(port), redisUrl], options)),
  );
  const children = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await stopHelpers(children);
    throw failure.reason;
  }
  const pids = children.map((c) => c.pid);
  return {
    name,
    client: kinds.some((kind) => kind.startsWith('socketio')) ? 'socket.io' : 'ws',
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    pids,
    cpuMs: () => pids.reduce((sum, pid, i) => sum + cpuOf(pid, kinds[i]), 0),
    memory: () => Promise.all(children.map(readMemory)),
    heapSnapshot: (path, index = 0) => writeHeapSnapshot(children[index], path),
    stop: () => stopHelpers(children),
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
    ['batched Redis relay', ['redis-batched-relay-interface', 'redis-batched-relay-worker']],
    ['naive Redis relay', ['redis-relay-interface', 'redis-relay-worker']],
    ['Socket.IO', ['socketio']],
  ];
  const settled = await Promise.allSettled(plan.map(([name, kinds]) => startServer(name, kinds, redisUrl)));
  const servers: BenchServer[] = [];
  const failed: Array<{ name: ServerName; error: string }> = [];
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') servers.push(result.value);
    else failed.push({ name: plan[i][0], error: String((result.reason as Error)?.message ?? result.reason) });
  });
  return { servers, failed };
}

/** Stops every server (and client) helper started (graceful, then SIGKILL after 5 s). */
export async function stopAllServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.allSettled(all.map((c) => c.stop()));
}

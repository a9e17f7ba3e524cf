// A server helper's memory, asked for over its IPC channel: heap used after forced full GCs (so
// only what is still reachable counts) and RSS; or a heap snapshot written to a file (for
// bench/connections/heap-breakdown.ts). The helper must run with --expose-gc for the first.
import { writeHeapSnapshot } from 'node:v8';

export interface MemoryRequest {
  type: 'memory';
}

/** Asks for a heap snapshot (V8 collects garbage before taking it) written to `path`. */
export interface HeapSnapshotRequest {
  type: 'heap-snapshot';
  path: string;
}

export interface HeapSnapshotReply {
  type: 'heap-snapshot';
  path: string;
  error?: string;
}

export interface ProcessMemory {
  type: 'memory';
  pid: number;
  /** V8 heap in use after the GCs, bytes. */
  heapUsed: number;
  /** Memory of the C++ objects bound to JS ones (Buffers, among others), bytes. */
  external: number;
  /** Resident set size, bytes (it seldom shrinks, so it is read after the GCs too). */
  rss: number;
  /** Set when the helper cannot force a GC (started without --expose-gc). */
  error?: string;
}

/** Full collections per reading: later ones pick up what finalizers and weak callbacks freed. */
const GC_PASSES = 3;

function isMemoryRequest(message: unknown): message is MemoryRequest {
  return typeof message === 'object' && message !== null && (message as MemoryRequest).type === 'memory';
}

function isHeapSnapshotRequest(message: unknown): message is HeapSnapshotRequest {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as HeapSnapshotRequest).type === 'heap-snapshot' &&
    typeof (message as HeapSnapshotRequest).path === 'string'
  );
}

export function isProcessMemory(message: unknown): message is ProcessMemory {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as ProcessMemory).type === 'memory' &&
    typeof (message as ProcessMemory).heapUsed === 'number'
  );
}

async function measure(): Promise<ProcessMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const base = { type: 'memory' as const, pid: process.pid };
  if (typeof gc !== 'function') {
    return { ...base, heapUsed: NaN, external: NaN, rss: NaN, error: 'started without --expose-gc' };
  }
  for (let pass = 0; pass < GC_PASSES; pass++) {
    gc();
    // Let the event loop run between passes, so callbacks queued by the collection can free more.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, external, rss } = process.memoryUsage();
  return { ...base, heapUsed, external, rss };
}

function snapshot(path: string): HeapSnapshotReply {
  try {
    writeHeapSnapshot(path);
    return { type: 'heap-snapshot', path };
  } catch (error) {
    return { type: 'heap-snapshot', path, error: error instanceof Error ? error.message : String(error) };
  }
}

/** In a helper: answers `{ type: 'memory' }` with a ProcessMemory, `{ type: 'heap-snapshot' }` with a file. */
export function answerMemoryRequests(): void {
  process.on('message', (message: unknown) => {
    if (isMemoryRequest(message)) void measure().then((reply) => process.send?.(reply));
    else if (isHeapSnapshotRequest(message)) process.send?.(snapshot(message.path));
  });
}

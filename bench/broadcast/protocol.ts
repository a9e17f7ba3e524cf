// The IPC messages between the broadcast section (bench process) and its helpers (servers and
// clients; a request that fails is answered with bench/helper-process.ts's ErrorReply), and the
// clock every process stamps and reads latencies with.

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes on one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Resolves at `at` (wallMs), at once if that has passed. */
export function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - wallMs())));
}

/** What a broadcast frame carries: the send's number and its send time (wallMs). */
export interface Stamp {
  n: number;
  t: number;
}

/**
 * ws: plain WebSocket (nestjs-channels); socket.io: socket.io-client on the websocket transport;
 * engine.io: plain `ws` speaking the Socket.IO protocol by hand (BENCH_BROADCAST_SIO_CLIENT=engine.io),
 * to tell how much of Socket.IO's figures is socket.io-client's own cost.
 */
export type ClientKind = 'ws' | 'socket.io' | 'engine.io';

// ---- bench → client helper ----
export type ClientRequest =
  | { type: 'open'; kind: ClientKind; url: string; count: number; batch: number }
  /** Start counting frames whose n ≥ firstN (earlier ones, the warm-up's, are ignored). */
  | { type: 'record'; firstN: number }
  /** Answered once `completed` exceeds `after`, or after a short wait with the current value. */
  | { type: 'progress'; after: number }
  | { type: 'results' }
  | { type: 'close' };

// ---- client helper → bench ----
export interface OpenedReply {
  type: 'opened';
  opened: number;
  failed: number;
  firstError?: string;
  ms: number;
}
export interface ProgressReply {
  type: 'progress';
  /** Sends (from firstN on) that every socket of this helper has received or skipped past. */
  completed: number;
}
export interface ResultsReply {
  type: 'results';
  delivered: number;
  /** Frames for an n a socket had already seen past (out of order or twice): never expected. */
  duplicates: number;
  /** Receive time − t of every delivered frame, ms. */
  latencies: Float64Array;
  /** wallMs of the last delivered frame (0 if none). */
  lastAt: number;
  completed: number;
  /** process.cpuUsage() since `record`, ms (user + system). */
  cpuMs: number;
  /** Sockets closed by the server or an error while recording. */
  dropped: number;
}

// ---- bench → server helper ----
export type ServerRequest =
  /** Socket.IO only: io.to('bc').emit('m', { n, t }) from this process now. */
  | { type: 'emit'; n: number; t: number }
  /** Socket.IO only: `count` emits from `firstN`, the i-th due at startAt + i × intervalMs and stamped with that time. */
  | { type: 'pace'; firstN: number; count: number; intervalMs: number; startAt: number }
  /** Socket.IO only: sockets in room `bc` in this process. */
  | { type: 'members' }
  /** Starts (or stops and writes to `file`) a V8 CPU profile of this process. */
  | { type: 'profile'; action: 'start' | 'stop'; file?: string };

export interface EmittedReply {
  type: 'emitted';
}
export interface PacedReply {
  type: 'paced';
  sent: number;
}
export interface MembersReply {
  type: 'members';
  count: number;
}
export interface ProfiledReply {
  type: 'profiled';
  file?: string;
}

/** Room / group every socket joins, and the Socket.IO event name. */
export const GROUP = 'bc';
export const EVENT = 'm';
/** WebSocket path of the nestjs-channels interface servers. */
export const WS_PATH = '/bc';

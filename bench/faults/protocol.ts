// The IPC messages between the faults section (bench process) and its helpers: the app under test
// (bench/faults/app.ts) and the flooding client (bench/faults/flooder.ts). Each helper answers one
// request at a time, in order (bench/faults/helpers.ts sends them one after another); a request
// that fails is answered with bench/helper-process.ts's ErrorReply.

/** The apps of bench/faults/app.ts: `<what>-<layer>`, the chat split into its interface and worker processes. */
export const APP_KINDS = [
  'echo-memory',
  'echo-redis',
  'body-memory',
  'body-redis',
  'chat-interface',
  'chat-worker',
] as const;
export type AppKind = (typeof APP_KINDS)[number];

/** Redis keys of this section, apart from the other sections' (`bench:`, `bench-ws:`, `bench-bc:` …). */
export const FAULTS_PREFIX = 'bench-faults:';
/** The chat's group (scenarios 3 and 4). */
export const CHAT_GROUP = 'faults-chat';
/** The body scenario's routes: one never reads its body (nor answers), one reads it and answers 200 (warm-up). */
export const UNREAD_PATH = '/unread';
export const READ_PATH = '/read';
/** interface.http.timeout of the body apps: unanswered requests end with 503 after this. */
export const BODY_APP_TIMEOUT_S = 5;

// ---- bench → app ----
export type AppRequest =
  /** The interface's counters (ChannelsInterfaceService.statistics()) and the layer's globalStatistics(). */
  | { type: 'statistics' }
  /** Starts keeping the highest httpBodyBytesHeld and process.memoryUsage() figures (sampled every 10 ms in the app), from now. */
  | { type: 'watch-body-bytes' };

/** Highest process.memoryUsage() figures sampled in the app, bytes (each at its own moment). */
export interface MemoryPeaks {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface StatisticsReply {
  type: 'statistics';
  /** ChannelsInterfaceService.statistics(); absent in a worker process. */
  interface?: Record<string, number>;
  /** The layer's globalStatistics() (the Redis layer's includes layer_unavailable_count). */
  layer?: Record<string, number>;
  /** Highest httpBodyBytesHeld since `watch-body-bytes`. */
  bodyBytesHeldPeak: number;
  /** Highest memory figures since `watch-body-bytes`. */
  memoryPeaks?: MemoryPeaks;
  error?: string;
}

export interface WatchingReply {
  type: 'watching';
}

// ---- bench → flooder ----
export type FloodRequest =
  /** Opens a socket to `url` and floods it; with `reopen`, a socket the server closes is replaced at once. */
  | { type: 'start'; url: string; reopen: boolean }
  /** Stops flooding, closes the socket, answers with what happened. */
  | { type: 'stop' };

export interface FloodStartedReply {
  type: 'flooding';
}

export interface FloodReport {
  type: 'flood-report';
  /** Sockets the flooder opened (1 unless it reopens the ones the server closes). */
  socketsOpened: number;
  /** Close codes the server sent (1006: the connection dropped without a close frame), in order. */
  closeCodes: number[];
  /** Milliseconds from the start of the flood to the first close, if any. */
  firstCloseMs?: number;
  /** Frames handed to socket.write (the last batches may still be in kernel buffers). */
  framesWritten: number;
  /** Echoes received: frames that went through the layer and the echo consumer. */
  framesEchoed: number;
  /** Writes that waited for 'drain' (the server stopped reading: TCP back-pressure). */
  drainWaits: number;
  /** Milliseconds of the flood spent waiting for 'drain'. */
  drainWaitMs: number;
  floodMs: number;
  /** Handshakes that failed (the first error's message in `firstError`). */
  failedOpens: number;
  firstError?: string;
}

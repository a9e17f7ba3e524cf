/**
 * `WebSocketBridge`: the browser client of Channels 1.x (`channels/js/websocketbridge.js`), rebuilt in TypeScript on
 * `reconnecting-websocket` 4.
 *
 * Differences from the original (js_client/src/index.js, channels 1.1.8):
 * - a relative URL such as `chat/` is resolved against the page's URL (the original used it verbatim, so it failed);
 *   `http(s)://` URLs are turned into `ws(s)://`;
 * - `send()` before the socket is open (or while it is reconnecting) queues the message and sends it on open (the
 *   original threw); the queue is bounded (`maxQueuedMessages`, default 1000; the oldest message is dropped);
 * - a frame that is not JSON is reported with `console.warn` and skipped (the original threw inside the handler);
 * - a `{stream, payload}` frame whose stream has no `demultiplex()` handler goes to the `listen()` callback as
 *   `(message, null)` (the original dropped it silently);
 * - `close()` closes for good (reconnecting-websocket 3's `close()` reconnected by default);
 * - the constructor's options are used: they are defaults for `connect()` (the original stored and ignored them).
 *
 * This file is browser code; it uses no DOM type names so that it also type-checks in the Node-only root project.
 */
import ReconnectingWebSocket from 'reconnecting-websocket';

/** The shape of a `WebSocket` class (the global `WebSocket` by default); reconnecting-websocket checks `CLOSING`. */
export interface WebSocketClass {
  new (url: string, protocols?: string | string[]): object;
  readonly CLOSING: number;
}

/** Options of the reconnecting socket (reconnecting-websocket 4), all optional. */
export interface ReconnectOptions {
  /** Delay before the first reconnect attempt, ms. Default: 1000 plus up to 1000 of random jitter. */
  minReconnectionDelay?: number;
  /** Upper bound of the delay between attempts, ms. Default 10000. */
  maxReconnectionDelay?: number;
  /** Each failed attempt multiplies the delay by this. Default 1.3. */
  reconnectionDelayGrowFactor?: number;
  /** A connection must stay up this long (ms) before the delay is reset. Default 5000. */
  minUptime?: number;
  /** An attempt not open after this long (ms) is abandoned and retried. Default 4000. */
  connectionTimeout?: number;
  /** Give up after this many consecutive failed attempts. Default `Infinity`. */
  maxRetries?: number;
  /** Do not connect until `socket.reconnect()` is called. Default false. */
  startClosed?: boolean;
  /** Log the socket's life cycle to the console. Default false. */
  debug?: boolean;
  /** The WebSocket class to use. Default: the global `WebSocket`. */
  WebSocket?: WebSocketClass;
}

/** Options of `new WebSocketBridge(options)` and `connect(url, protocols, options)`. */
export interface WebSocketBridgeOptions extends ReconnectOptions {
  /**
   * How many messages `send()` keeps while the socket is not open (before the first open, and while reconnecting).
   * When full, the oldest queued message is dropped with a `console.warn`. 0 disables queueing. Default 1000.
   */
  maxQueuedMessages?: number;
}

/** The `listen()` callback: every frame that no `demultiplex()` handler takes, parsed. */
export type MessageHandler<TMessage = unknown> = (message: TMessage, stream: null) => void;

/** A `demultiplex()` handler: the `payload` of a `{stream, payload}` frame, and the stream's name. */
export type StreamHandler<TPayload = unknown> = (payload: TPayload, stream: string) => void;

/** The frame a multiplexed message travels in. */
export interface StreamFrame<TPayload = unknown> {
  stream: string;
  payload: TPayload;
}

/** What `stream(name)` returns. */
export interface BridgeStream<TPayload = unknown> {
  readonly name: string;
  /** Sends `{stream: name, payload}`. */
  send(payload: TPayload): void;
}

/** The parts of the page's `location` used to resolve URLs. */
export interface PageLocation {
  protocol: string;
  host: string;
  href: string;
}

/** The default bound of the queue of messages sent before the socket is open. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1000;

/** Defaults like the original's (reconnecting-websocket 3 as bundled with channels 1.1.8). */
function defaultReconnectOptions(): ReconnectOptions {
  return {
    // Jitter, so that the clients of a restarted server do not all come back at the same moment.
    minReconnectionDelay: 1000 + Math.random() * 1000,
    maxReconnectionDelay: 10000,
    reconnectionDelayGrowFactor: 1.3,
    connectionTimeout: 4000,
    maxRetries: Infinity,
  };
}

function pageLocation(): PageLocation {
  const location = (globalThis as { location?: PageLocation }).location;
  if (!location) {
    throw new Error('WebSocketBridge: there is no page location here; pass an absolute ws:// or wss:// URL');
  }
  return location;
}

const WS_URL = /^wss?:\/\//i;
const HTTP_URL = /^https?:\/\//i;
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * The WebSocket URL `connect(url)` opens, for a page at `page` (default: the current `location`):
 * - no url → `ws(s)://<page host>/`;
 * - `ws://…`, `wss://…` → as given; `http://…`, `https://…` → the same URL with the ws(s) scheme;
 * - `//host/path` → that host with the page's ws(s) scheme;
 * - `/path` → the page's host; `path` (no leading slash) → resolved against the page's URL, like a link;
 * - `ws` when the page is served over `http:`, `wss` when it is served over `https:`.
 */
export function resolveWebSocketUrl(url?: string, page?: PageLocation): string {
  if (url !== undefined && WS_URL.test(url)) return url;
  if (url !== undefined && HTTP_URL.test(url))
    return url.replace(/^https?:/i, (s) => (s.length === 6 ? 'wss:' : 'ws:'));
  if (url !== undefined && ANY_SCHEME.test(url)) {
    throw new Error(`WebSocketBridge: cannot connect to ${JSON.stringify(url)}: use ws(s)://, http(s)://, or a path`);
  }
  const location = page ?? pageLocation();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url === undefined || url === '') return `${scheme}//${location.host}/`;
  const resolved = new URL(url, location.href);
  return `${scheme}//${resolved.host}${resolved.pathname}${resolved.search}`;
}

function isStreamFrame(message: unknown): message is StreamFrame {
  return (
    typeof message === 'object' &&
    message !== null &&
    !Array.isArray(message) &&
    typeof (message as { stream?: unknown }).stream === 'string'
  );
}

/** Calls a user callback; if it throws, the error is re-thrown asynchronously so that other listeners still run. */
function invoke(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    setTimeout(() => {
      throw error;
    }, 0);
  }
}

/**
 * A WebSocket wrapper for Channels consumers: JSON frames, multiplexed streams, reconnection with backoff.
 *
 * ```ts
 * const bridge = new WebSocketBridge();
 * bridge.connect('/ws/');
 * bridge.listen((message) => console.log(message));
 * bridge.demultiplex('chat', (payload, stream) => console.log(stream, payload));
 * bridge.stream('chat').send({ text: 'hello' });
 * ```
 *
 * `TReceive` types the messages the `listen()` callback gets; `TSend` the messages `send()` takes.
 */
export class WebSocketBridge<TReceive = unknown, TSend = unknown> {
  private rws: ReconnectingWebSocket | null = null;
  private readonly streams = new Map<string, StreamHandler>();
  private defaultCallback: MessageHandler<TReceive> | null = null;
  private listening = false;
  private closed = false;
  private queue: string[] = [];
  private maxQueuedMessages: number;
  private readonly handleOpen = (): void => this.flush();
  private readonly handleMessage = (event: { data: unknown }): void => this.dispatch(event.data);

  /** `options` are defaults for every `connect()`; `connect()`'s own options override them. */
  constructor(private readonly options: WebSocketBridgeOptions = {}) {
    this.maxQueuedMessages = options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
  }

  /** The underlying `ReconnectingWebSocket` (null before `connect()`); add your own listeners to it. */
  get socket(): ReconnectingWebSocket | null {
    return this.rws;
  }

  /**
   * Opens the reconnecting socket (see `resolveWebSocketUrl()` for how `url` is read). Calling it again closes the
   * previous socket for good and opens a new one; messages still queued are sent on the new one.
   */
  connect(url?: string, protocols?: string | string[], options?: WebSocketBridgeOptions): void {
    const { maxQueuedMessages, ...reconnect } = { ...defaultReconnectOptions(), ...this.options, ...options };
    const target = resolveWebSocketUrl(url);
    this.detach();
    this.maxQueuedMessages = maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
    this.closed = false;
    const socket = new ReconnectingWebSocket(target, protocols, reconnect);
    socket.addEventListener('open', this.handleOpen);
    socket.addEventListener('message', this.handleMessage);
    this.rws = socket;
  }

  /**
   * Starts dispatching incoming frames (as in the original, nothing is dispatched before `listen()` is called).
   * `callback` gets `(message, null)` for every frame that no `demultiplex()` handler takes.
   */
  listen(callback?: MessageHandler<TReceive>): void {
    this.defaultCallback = typeof callback === 'function' ? callback : null;
    this.listening = true;
  }

  /** Routes `{stream, payload}` frames of `stream` to `callback(payload, stream)`; a later call replaces it. */
  demultiplex<TPayload = unknown>(stream: string, callback: StreamHandler<TPayload>): void {
    this.streams.set(stream, callback as StreamHandler);
  }

  /** Sends `JSON.stringify(payload)`, or queues it until the socket is open. */
  send(payload: TSend): void {
    this.sendText(serialize(payload));
  }

  /** A sender for one stream: `stream('chat').send(x)` sends `{stream: 'chat', payload: x}`. */
  stream<TPayload = unknown>(name: string): BridgeStream<TPayload> {
    return {
      name,
      send: (payload: TPayload): void => {
        const frame: StreamFrame<TPayload> = { stream: name, payload };
        this.sendText(serialize(frame));
      },
    };
  }

  /** Closes the socket for good (no reconnect) and drops queued messages; `connect()` may be called again. */
  close(code = 1000, reason?: string): void {
    this.closed = true;
    this.queue = [];
    this.rws?.close(code, reason);
  }

  private detach(): void {
    const previous = this.rws;
    if (!previous) return;
    previous.removeEventListener('open', this.handleOpen);
    previous.removeEventListener('message', this.handleMessage);
    previous.close();
    this.rws = null;
  }

  private isOpen(): boolean {
    return this.rws !== null && this.rws.readyState === ReconnectingWebSocket.OPEN;
  }

  private sendText(text: string): void {
    if (this.closed) {
      console.warn('WebSocketBridge: the bridge is closed; message dropped');
      return;
    }
    if (this.isOpen()) {
      this.flush();
      this.rws?.send(text);
      return;
    }
    if (this.maxQueuedMessages <= 0) {
      console.warn('WebSocketBridge: the socket is not open and queueing is off; message dropped');
      return;
    }
    if (this.queue.length >= this.maxQueuedMessages) {
      this.queue.shift();
      console.warn(`WebSocketBridge: more than ${this.maxQueuedMessages} messages queued; the oldest was dropped`);
    }
    this.queue.push(text);
  }

  private flush(): void {
    while (this.queue.length > 0 && this.isOpen()) {
      this.rws?.send(this.queue.shift() as string);
    }
  }

  private dispatch(data: unknown): void {
    if (!this.listening) return;
    if (typeof data !== 'string') {
      console.warn('WebSocketBridge: ignoring a binary frame');
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn(`WebSocketBridge: ignoring a frame that is not JSON: ${data.slice(0, 200)}`);
      return;
    }
    if (isStreamFrame(message)) {
      const handler = this.streams.get(message.stream);
      if (handler) {
        const { payload, stream } = message;
        invoke(() => handler(payload, stream));
        return;
      }
    }
    const callback = this.defaultCallback;
    if (callback) invoke(() => callback(message as TReceive, null));
  }
}

function serialize(value: unknown): string {
  const text = JSON.stringify(value);
  if (typeof text !== 'string') {
    throw new TypeError('WebSocketBridge: the message cannot be sent as JSON');
  }
  return text;
}

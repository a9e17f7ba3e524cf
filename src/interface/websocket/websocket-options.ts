import { validateMessage } from '../../layers/channel-message';
import { checkRootPath } from '../common/root-path';

/** Options of the WebSocket interface server. Times are in seconds. */
export interface WebsocketInterfaceOptions {
  /** Alias of the layer connections talk over. Default `default`. */
  layer?: string;
  /** Which upgrade requests are ours (the rest are left to Nest gateways): a path RegExp or predicate. Default: all. */
  paths?: RegExp | ((path: string) => boolean);
  /** Seconds a handshake is held waiting for the connect consumer's answer before it is refused (403). Default 5. */
  connectTimeout?: number;
  /** Seconds of silence (no frame either way) before a ping. Default 20. */
  pingInterval?: number;
  /** Seconds to wait for the pong before the connection is dropped. Default 30. */
  pingTimeout?: number;
  /** Seconds without a data frame either way before the socket is closed (1000). Default: none. */
  idleTimeout?: number;
  /** Longest life of a socket; keep it below the layer's groupExpiry. Default: the layer's groupExpiry; `Infinity` for none. */
  websocketTimeout?: number;
  /**
   * Largest frame accepted, in bytes; bigger frames close the socket with 1009. Default: the most
   * the layer can carry once the frame is wrapped in its `websocket.receive` message (the layer's
   * `maxMessageSize` minus the envelope); a larger value is refused at bootstrap.
   */
  maxFrameSize?: number;
  /** Open sockets (handshakes included) this process accepts; more are answered 503. Default: no limit. */
  maxConnections?: number;
  /**
   * Frames of one socket that may wait to be sent to the layer before the server stops reading
   * from that socket (TCP back-pressure slows the client down); reading resumes when half are
   * sent. Default 16.
   */
  receiveAllowance?: number;
  /**
   * Frames one socket may have waiting at most; past it the socket is closed with 1013. Default
   * 16384: more than one socket read can hold (64 KiB of the smallest frames), so a burst is paused,
   * not closed.
   */
  maxQueuedFrames?: number;
  /** Bytes of frames one socket may have waiting at most; past it the socket is closed with 1013. Default 4 MiB. */
  maxQueuedBytes?: number;
  /**
   * Seconds a socket's next frame may wait for room in a full channel (or for the layer to come
   * back) before the socket is closed with 1013. Other sockets are not affected. Default 10.
   */
  backpressureTimeout?: number;
  /** Subprotocols the server speaks; the first one the client offers is chosen. */
  subprotocols?: readonly string[];
  /**
   * Take the client address from X-Forwarded-For / X-Forwarded-Port, the scheme from
   * X-Forwarded-Proto and `root_path` from Daphne-Root-Path (taken out of the headers). Default false.
   */
  proxyHeaders?: boolean;
  /** Where the app is mounted behind a proxy (`/app`): the `root_path` of every connect. Default ''. */
  rootPath?: string;
}

export interface ResolvedWebsocketInterfaceOptions {
  layer: string;
  accepts: (path: string) => boolean;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  websocketTimeoutMs: number;
  idleTimeoutMs: number;
  maxFrameSize: number;
  /** The layer's message-size limit, when it has one (frames are checked against it per socket). */
  maxMessageSize: number | undefined;
  maxConnections: number;
  receiveAllowance: number;
  maxQueuedFrames: number;
  maxQueuedBytes: number;
  backpressureTimeoutMs: number;
  subprotocols: readonly string[];
  proxyHeaders: boolean;
  rootPath: string;
}

/** Frame bytes a message of `reply_channel` and `path` can carry within the layer's `maxMessageSize`. */
export function frameRoom(maxMessageSize: number, replyChannel: string, path: string): number {
  // The envelope as the layers measure it: every key, the reply channel, the path, an order and
  // an empty payload (`bytes`, the longer key of the two kinds of frame).
  return maxMessageSize - validateMessage({ reply_channel: replyChannel, path, order: 0, bytes: '' });
}

/** A reply channel as long as the interface's own (`interface.<10 letters>!<10 letters>`). */
const TYPICAL_REPLY_CHANNEL = `interface.${'x'.repeat(10)}!${'x'.repeat(10)}`;

function count(value: number | undefined, fallback: number, name: string, min = 1): number {
  const resolved = value ?? fallback;
  if (resolved !== Infinity && (!Number.isInteger(resolved) || resolved < min)) {
    throw new TypeError(`${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return resolved;
}

function seconds(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || Number.isNaN(resolved) || resolved <= 0) {
    throw new TypeError(`${name} must be a positive number of seconds (or Infinity), got ${String(value)}`);
  }
  return resolved * 1000;
}

/**
 * Checks and completes the options; `groupExpiry` and `maxMessageSize` are the layer's (a layer
 * without a size limit leaves frames at `maxFrameSize`, 1 MiB by default).
 */
export function resolveWebsocketInterfaceOptions(
  options: WebsocketInterfaceOptions,
  groupExpiry: number,
  maxMessageSize?: number,
): ResolvedWebsocketInterfaceOptions {
  const paths = options.paths;
  const room = maxMessageSize === undefined ? undefined : frameRoom(maxMessageSize, TYPICAL_REPLY_CHANNEL, '/');
  const maxFrameSize = options.maxFrameSize ?? room ?? 1024 * 1024;
  if (!Number.isInteger(maxFrameSize) || maxFrameSize < 1) {
    throw new TypeError(`maxFrameSize must be a positive integer number of bytes, got ${String(maxFrameSize)}`);
  }
  if (room !== undefined && maxFrameSize > room) {
    throw new TypeError(
      `websocket maxFrameSize ${maxFrameSize} is more than the layer can carry (${room} bytes of frame in a ` +
        `message of at most ${maxMessageSize} bytes): lower maxFrameSize to ${room} or less, or raise the ` +
        `layer's maxMessageSize to ${maxFrameSize + (maxMessageSize! - room)} or more`,
    );
  }
  const receiveAllowance = count(options.receiveAllowance, 16, 'receiveAllowance');
  return {
    layer: options.layer ?? 'default',
    accepts: paths === undefined ? () => true : paths instanceof RegExp ? (path) => paths.test(path) : paths,
    connectTimeoutMs: seconds(options.connectTimeout, 5, 'connectTimeout'),
    pingIntervalMs: seconds(options.pingInterval, 20, 'pingInterval'),
    pingTimeoutMs: seconds(options.pingTimeout, 30, 'pingTimeout'),
    websocketTimeoutMs: seconds(options.websocketTimeout, groupExpiry, 'websocketTimeout'),
    idleTimeoutMs: seconds(options.idleTimeout, Infinity, 'idleTimeout'),
    maxFrameSize,
    maxMessageSize,
    maxConnections: count(options.maxConnections, Infinity, 'maxConnections'),
    receiveAllowance,
    maxQueuedFrames: count(options.maxQueuedFrames, 16_384, 'maxQueuedFrames', receiveAllowance),
    maxQueuedBytes: count(options.maxQueuedBytes, 4 * 1024 * 1024, 'maxQueuedBytes'),
    backpressureTimeoutMs: seconds(options.backpressureTimeout, 10, 'backpressureTimeout'),
    subprotocols: options.subprotocols ?? [],
    proxyHeaders: options.proxyHeaders ?? false,
    rootPath: checkRootPath(options.rootPath, 'interface.websocket.rootPath'),
  };
}

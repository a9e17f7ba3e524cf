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
  /** Largest frame accepted, in bytes; bigger frames close the socket with 1009. Default 1 MiB. */
  maxFrameSize?: number;
  /** Subprotocols the server speaks; the first one the client offers is chosen. */
  subprotocols?: readonly string[];
  /** Take the client address from X-Forwarded-For / X-Forwarded-Port. Default false. */
  proxyHeaders?: boolean;
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
  subprotocols: readonly string[];
  proxyHeaders: boolean;
}

function seconds(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || Number.isNaN(resolved) || resolved <= 0) {
    throw new TypeError(`${name} must be a positive number of seconds (or Infinity), got ${String(value)}`);
  }
  return resolved * 1000;
}

export function resolveWebsocketInterfaceOptions(
  options: WebsocketInterfaceOptions,
  groupExpiry: number,
): ResolvedWebsocketInterfaceOptions {
  const paths = options.paths;
  const maxFrameSize = options.maxFrameSize ?? 1024 * 1024;
  if (!Number.isInteger(maxFrameSize) || maxFrameSize < 1) {
    throw new TypeError(`maxFrameSize must be a positive integer number of bytes, got ${String(maxFrameSize)}`);
  }
  return {
    layer: options.layer ?? 'default',
    accepts: paths === undefined ? () => true : paths instanceof RegExp ? (path) => paths.test(path) : paths,
    connectTimeoutMs: seconds(options.connectTimeout, 5, 'connectTimeout'),
    pingIntervalMs: seconds(options.pingInterval, 20, 'pingInterval'),
    pingTimeoutMs: seconds(options.pingTimeout, 30, 'pingTimeout'),
    websocketTimeoutMs: seconds(options.websocketTimeout, groupExpiry, 'websocketTimeout'),
    idleTimeoutMs: seconds(options.idleTimeout, Infinity, 'idleTimeout'),
    maxFrameSize,
    subprotocols: options.subprotocols ?? [],
    proxyHeaders: options.proxyHeaders ?? false,
  };
}

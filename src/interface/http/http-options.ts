import { checkRootPath } from '../common/root-path';

/** Options of HTTP over channels (`interface.http` of ChannelsModule). Times are in seconds. */
export interface HttpInterfaceOptions {
  /** Alias of the layer requests go over. Default `default`. */
  layer?: string;
  /**
   * `routes` (default): requests an `http.request` route takes go over channels, the rest to the
   * controllers here. `all`: every request goes over channels, and workers run the Nest controllers
   * from the message, so interface and worker processes can be separate.
   */
  mode?: 'routes' | 'all';
  /** Seconds to wait for the start of a response before answering 503. Default 60. */
  timeout?: number;
  /** Largest request body accepted, in bytes (413 beyond). Default 10 MiB. */
  maxBodySize?: number;
  /**
   * Bytes of request bodies this process may have waiting in the layer at once, all requests
   * together; a request that would go past it stops reading its body until there is room (503
   * after `backpressureTimeout`). Default 8 MiB.
   */
  bodyBuffer?: number;
  /**
   * Bytes of one request's body that may wait in its body channel, unread by the consumer; the
   * request's socket is not read further until the consumer catches up. Default 1 MiB.
   */
  bodyWindow?: number;
  /** Seconds a request body may stall (no bytes) before the request is answered 408. Default 10. */
  bodyTimeout?: number;
  /**
   * Seconds a request waits for room in a full `http.request` channel (or in `bodyBuffer`)
   * before it is answered 503. Other clients' requests take turns with it. Default 5.
   */
  backpressureTimeout?: number;
  /** Requests over channels open at once in this process; more are answered 503. Default: no limit. */
  maxRequests?: number;
  /** Requests over channels one client address may have open at once; more are answered 429. Default 64. */
  maxRequestsPerClient?: number;
  /**
   * Seconds the HTTP server gives a client to send a request's headers (Node's `headersTimeout`,
   * 60 by default there); `false` leaves the server's own. Default 10.
   */
  headersTimeout?: number | false;
  /**
   * Seconds the HTTP server gives a client to send a whole request, body included (Node's
   * `requestTimeout`, 300 there); `false` leaves the server's own. Default 60.
   */
  requestTimeout?: number | false;
  /**
   * Client address from X-Forwarded-For / -Port, scheme from X-Forwarded-Proto, and `root_path`
   * from Daphne-Root-Path (taken out of the headers). Trust them only behind a proxy that sets
   * them. Default false.
   */
  proxyHeaders?: boolean;
  /** Where the app is mounted behind a proxy (`/app`): the `root_path` of every request. Default ''. */
  rootPath?: string;
}

/** The options checked and completed; times in milliseconds. */
export interface ResolvedHttpInterfaceOptions {
  layer: string;
  all: boolean;
  timeoutMs: number;
  maxBodySize: number;
  bodyBuffer: number;
  bodyWindow: number;
  bodyTimeoutMs: number;
  backpressureTimeoutMs: number;
  maxRequests: number;
  maxRequestsPerClient: number;
  /** Undefined: leave the server's own. */
  headersTimeoutMs: number | undefined;
  requestTimeoutMs: number | undefined;
  proxyHeaders: boolean;
  rootPath: string;
}

const MIB = 1024 * 1024;

function seconds(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !(resolved > 0)) {
    throw new TypeError(`interface.http.${name} must be a positive number of seconds, got ${String(value)}`);
  }
  return resolved * 1000;
}

function serverSeconds(value: number | false | undefined, fallback: number, name: string): number | undefined {
  return value === false ? undefined : seconds(value, fallback, name);
}

function count(value: number | undefined, fallback: number, name: string, min = 1): number {
  const resolved = value ?? fallback;
  if (resolved !== Infinity && (!Number.isInteger(resolved) || resolved < min)) {
    throw new TypeError(`interface.http.${name} must be an integer of at least ${min}, got ${String(value)}`);
  }
  return resolved;
}

/** Checks and completes the options: a bad value is a `TypeError` naming it, at bootstrap. */
export function resolveHttpInterfaceOptions(options: HttpInterfaceOptions): ResolvedHttpInterfaceOptions {
  return {
    layer: options.layer ?? 'default',
    all: options.mode === 'all',
    timeoutMs: seconds(options.timeout, 60, 'timeout'),
    maxBodySize: count(options.maxBodySize, 10 * MIB, 'maxBodySize', 0),
    bodyBuffer: count(options.bodyBuffer, 8 * MIB, 'bodyBuffer', MIB),
    bodyWindow: count(options.bodyWindow, MIB, 'bodyWindow'),
    bodyTimeoutMs: seconds(options.bodyTimeout, 10, 'bodyTimeout'),
    backpressureTimeoutMs: seconds(options.backpressureTimeout, 5, 'backpressureTimeout'),
    maxRequests: count(options.maxRequests, Infinity, 'maxRequests'),
    maxRequestsPerClient: count(options.maxRequestsPerClient, 64, 'maxRequestsPerClient'),
    headersTimeoutMs: serverSeconds(options.headersTimeout, 10, 'headersTimeout'),
    requestTimeoutMs: serverSeconds(options.requestTimeout, 60, 'requestTimeout'),
    proxyHeaders: options.proxyHeaders ?? false,
    rootPath: checkRootPath(options.rootPath, 'interface.http.rootPath'),
  };
}

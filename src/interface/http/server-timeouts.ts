import type { Server } from 'node:http';
import type { ResolvedHttpInterfaceOptions } from './http-options';

/** Node's own defaults (ms), which the interface lowers unless the app changed them itself. */
const NODE_HEADERS_TIMEOUT = 60_000;
const NODE_REQUEST_TIMEOUT = 300_000;
/** How often Node checks those timeouts (30 s by default there, too coarse for a 10 s limit). */
const TIMEOUT_CHECK_MS = 2000;

/**
 * Lowers the server's header and request timeouts (a slow client otherwise holds a connection for
 * minutes and Node answers 408 only then), unless the app set its own or turned them off (`false`).
 */
export function limitRequestTimes(
  server: Server,
  { headersTimeoutMs, requestTimeoutMs }: Pick<ResolvedHttpInterfaceOptions, 'headersTimeoutMs' | 'requestTimeoutMs'>,
): void {
  if (requestTimeoutMs !== undefined && server.requestTimeout === NODE_REQUEST_TIMEOUT) {
    server.requestTimeout = requestTimeoutMs;
  }
  if (headersTimeoutMs !== undefined && server.headersTimeout === NODE_HEADERS_TIMEOUT) {
    server.headersTimeout = Math.min(headersTimeoutMs, server.requestTimeout || Infinity);
  }
  // Read by Node when the server starts listening; the interface is set up before that.
  const checking = server as Server & { connectionsCheckingInterval?: number };
  if ((checking.connectionsCheckingInterval ?? 0) > TIMEOUT_CHECK_MS) {
    checking.connectionsCheckingInterval = TIMEOUT_CHECK_MS;
  }
}

import { inject, type InjectOptions } from 'light-my-request';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Message } from '../channels/message';
import type { ChannelMessage } from '../layers/channel-message';
import { readHttpRequest } from './http-request';
import { sendHttpResponse } from './http-response';

/**
 * The requests this module injected. Only this module adds to it, and a request from the network
 * is never one of them, so no header or anything else a client sends can pass for one.
 */
const injected = new WeakSet<object>();

/** A request the controller consumer injected: the HTTP interface lets it through to Nest. */
export function isForwardedRequest(request: IncomingMessage): boolean {
  return injected.has(request);
}

/** Headers of which Node keeps the first when a request repeats them (`IncomingMessage.headers`). */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Response headers about the connection the response went over, not about the response. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

interface Peer {
  address: string;
  port: number;
}

/** A message's `client` or `server` (`[host, port]`), or none. */
function peer(value: unknown): Peer | undefined {
  if (!Array.isArray(value) || typeof value[0] !== 'string' || value[0] === '') return undefined;
  return { address: value[0], port: Number(value[1]) || 0 };
}

/**
 * The request's headers as Node's server would give them, from the message's `[name, value]`
 * pairs: repeated cookies joined with "; ", other repeats with ", " (the first kept of those Node
 * keeps one of). The body is whole now, so its framing is a `content-length`.
 */
function requestHeaders(pairs: unknown, bodyLength: number): { headers: IncomingHttpHeaders; rawHeaders: string[] } {
  const headers: Record<string, string | string[]> = {};
  const rawHeaders: string[] = [];
  let framed = bodyLength > 0;
  for (const [rawName, rawValue] of (Array.isArray(pairs) ? pairs : []) as Uint8Array[][]) {
    const name = Buffer.from(rawName).toString('latin1').toLowerCase();
    const value = Buffer.from(rawValue).toString('latin1');
    if (name === 'content-length' || name === 'transfer-encoding') {
      framed = true;
      continue;
    }
    rawHeaders.push(name, value);
    const previous = headers[name];
    if (previous === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(previous)) previous.push(value);
    else if (!FIRST_ONLY.has(name)) headers[name] = `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (framed) {
    headers['content-length'] = String(bodyLength);
    rawHeaders.push('content-length', String(bodyLength));
  }
  return { headers, rawHeaders };
}

/**
 * The request target: the (decoded) path encoded again, with `?` and `#` in it kept in the path,
 * and the raw query string.
 */
function requestTarget(path: string, query: string): string {
  const encoded = encodeURI(path.startsWith('/') ? path : `/${path}`).replace(/[?#]/g, (char) =>
    encodeURIComponent(char),
  );
  return query ? `${encoded}?${query.replace(/#/g, '%23')}` : encoded;
}

/**
 * Makes the injected request the one the interface received: its exact URL, headers and HTTP
 * version, and a socket with the client's address and port, the interface's own, and `encrypted`
 * when the client came over HTTPS (what `req.ip`, `req.protocol` and `req.hostname` read, in
 * Express and Fastify alike, with or without `trust proxy`). A message without a client has a
 * socket without an address, as a Unix socket's request does, never a loopback one.
 */
function shapeRequest(
  request: IncomingMessage,
  content: ChannelMessage,
  parts: ReturnType<typeof requestHeaders>,
): void {
  const client = peer(content.client);
  const server = peer(content.server);
  const socket = request.socket as unknown as Record<string, unknown>;
  socket.remoteAddress = client?.address;
  socket.remotePort = client?.port;
  socket.remoteFamily = client && (isIPv6(client.address) ? 'IPv6' : 'IPv4');
  socket.localAddress = server?.address;
  socket.localPort = server?.port;
  if (content.scheme === 'https') socket.encrypted = true;
  // light-my-request's own `connection` warns that it is deprecated: a plain alias of `socket`.
  Object.defineProperty(request, 'connection', { configurable: true, get: () => request.socket });
  request.headers = parts.headers;
  request.rawHeaders = parts.rawHeaders;
  const version = /^(\d)\.(\d)$/.exec(String(content.http_version ?? ''));
  if (version) {
    request.httpVersion = version[0];
    request.httpVersionMajor = Number(version[1]);
    request.httpVersionMinor = Number(version[2]);
  }
}

/**
 * Copies the methods of `target`'s own class onto it. Express re-parents each request and
 * response onto its own prototypes (over Node's `IncomingMessage` and `ServerResponse`), which
 * would drop light-my-request's `write`/`end`/`destroy`: as own properties they stay.
 */
function keepOwnMethods(target: object): void {
  const prototype = Object.getPrototypeOf(target) as object;
  for (const [key, { value }] of Object.entries(Object.getOwnPropertyDescriptors(prototype))) {
    if (key === 'constructor' || typeof value !== 'function' || Object.hasOwn(target, key)) continue;
    Object.defineProperty(target, key, { value: value as unknown, writable: true, configurable: true });
  }
}

/**
 * Runs the app's own Nest controllers for an `http.request` message, in this process: the request
 * is injected (light-my-request) into the app's HTTP server, whatever adapter listens on it (its
 * `request` listeners get it as they would a request from a socket), and the response goes back
 * as `http.response` messages. This is what lets interface servers and workers be separate
 * processes running the same app. The controllers see the original client, scheme and host.
 *
 * `ready`, when given, is awaited once before the first request: an adapter that builds its routes
 * only when it starts listening (Fastify's `ready()`) can be started for a worker that never listens.
 */
export function controllerConsumer(server: Server, ready?: () => unknown): (message: Message) => Promise<void> {
  let started: Promise<unknown> | undefined;
  return async (message) => {
    started ??= Promise.resolve()
      .then(ready)
      .catch((error: unknown) => {
        started = undefined; // the next request tries again
        throw error;
      });
    await started;
    const content = message.content;
    const request = await readHttpRequest(message);
    const target = requestHeaders(content.headers, request.body.length);
    const url = requestTarget(
      request.path,
      Buffer.from((content.query_string as Uint8Array | undefined) ?? []).toString('latin1'),
    );
    // A function of our own (not the server's listener): light-my-request re-parents Express's
    // prototypes, for every request of the process, when it is handed the Express app itself.
    const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
      if (server.listenerCount('request') === 0) throw new Error('the HTTP server has no request listener');
      shapeRequest(req, content, target);
      req.url = url;
      keepOwnMethods(req);
      keepOwnMethods(res);
      injected.add(req);
      server.emit('request', req, res);
    };
    const response = await inject(dispatch, {
      method: request.method.toUpperCase() as InjectOptions['method'],
      url,
      headers: target.headers,
      payload: request.body.length > 0 ? request.body : undefined,
      validate: false,
    });
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = Array.isArray(value) ? value : String(value);
    }
    await sendHttpResponse(message, { status: response.statusCode, headers, body: response.rawPayload });
  };
}

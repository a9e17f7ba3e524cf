/**
 * Serves the bundled browser client (`dist/client/websocketbridge.js`, an IIFE that sets the global `channels`) from
 * the app, like Channels 1.x's static `channels/js/websocketbridge.js`.
 *
 * Written for Node's raw `IncomingMessage`/`ServerResponse`, so it works as Express middleware, as Nest middleware on
 * either adapter (Nest hands raw objects to middleware under Fastify), and in a plain `http` server. For a Fastify
 * route, use `websocketBridgeResponse()`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';

/** Where the script is served by default. */
export const WEBSOCKET_BRIDGE_PATH = '/channels/websocketbridge.js';

/** The command that builds `dist/client/` (run from the package root). */
export const WEBSOCKET_BRIDGE_BUILD_COMMAND = 'node scripts/build-client.mjs';

const FILE_NAME = 'websocketbridge.js';
const CACHE_CONTROL = 'public, max-age=3600';
const CONTENT_TYPE = 'text/javascript; charset=utf-8';

/** The script's bytes and strong ETag (a hash of the bytes). */
export interface WebsocketBridgeScript {
  readonly body: Buffer;
  readonly etag: string;
  /** The file it was read from. */
  readonly file: string;
}

export interface WebsocketBridgeScriptOptions {
  /** Read this file instead of looking for the built one next to the package. */
  file?: string;
}

export interface WebsocketBridgeMiddlewareOptions extends WebsocketBridgeScriptOptions {
  /** The URL path to answer (exact match; the query string is ignored). Default `/channels/websocketbridge.js`. */
  path?: string;
}

/** A framework-neutral answer: set `status` and `headers`, and write `body` when it is not null. */
export interface WebsocketBridgeResponse {
  status: 200 | 304;
  headers: Record<string, string>;
  body: Buffer | null;
}

/** Raw Node middleware; `next` is optional (without it, other paths get a 404). */
export type WebsocketBridgeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/**
 * Where the built script may be: where the package's own `exports` say (`nestjs-channels/client/websocketbridge.js`,
 * found from anywhere inside the package, compiled copies of its sources included), then relative to this file:
 * `dist/src/client/` in the built package (→ `dist/client/`), or `src/client/` when running from the repository's
 * sources with ts-jest or tsx (→ `<repo>/dist/client/`).
 */
export function websocketBridgeScriptCandidates(): string[] {
  const candidates: string[] = [];
  try {
    candidates.push(require.resolve(`nestjs-channels/client/${FILE_NAME}`, { paths: [__dirname] }));
  } catch {
    // Not resolvable from here (a copy outside the package): the relative places below.
  }
  candidates.push(
    resolve(__dirname, '..', '..', 'client', FILE_NAME),
    resolve(__dirname, '..', '..', 'dist', 'client', FILE_NAME),
  );
  return candidates;
}

const cache = new Map<string, WebsocketBridgeScript>();

/**
 * Reads the built script (once; it is cached). Throws a clear error naming the build command when it is missing.
 */
export function websocketBridgeScript(options: WebsocketBridgeScriptOptions = {}): WebsocketBridgeScript {
  const candidates = options.file !== undefined ? [resolve(options.file)] : websocketBridgeScriptCandidates();
  const file = candidates.find((candidate) => existsSync(candidate));
  if (file === undefined) {
    throw new Error(
      `nestjs-channels: the WebSocketBridge browser script was not found (looked for ${candidates.join(', ')}). ` +
        `Build it with \`${WEBSOCKET_BRIDGE_BUILD_COMMAND}\` from the nestjs-channels package root, ` +
        'or turn serving it off.',
    );
  }
  const cached = cache.get(file);
  if (cached) return cached;
  const body = readFileSync(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
  const script: WebsocketBridgeScript = { body, etag, file };
  cache.set(file, script);
  return script;
}

/** Whether an `If-None-Match` header matches `etag` (weak comparison, as RFC 9110 asks for this header). */
function matchesEtag(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const header = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch;
  return header
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag.replace(/^W\//, '') === etag);
}

/**
 * The answer to a GET or HEAD of the script: 304 when `If-None-Match` matches, else 200 with the bytes (no body for
 * HEAD). For Fastify: `reply.code(r.status).headers(r.headers).send(r.body ?? undefined)`.
 */
export function websocketBridgeResponse(
  request: { method?: string; headers: IncomingHttpHeaders },
  script: WebsocketBridgeScript = websocketBridgeScript(),
): WebsocketBridgeResponse {
  const common = { etag: script.etag, 'cache-control': CACHE_CONTROL };
  if (matchesEtag(request.headers['if-none-match'], script.etag)) {
    return { status: 304, headers: common, body: null };
  }
  return {
    status: 200,
    headers: {
      ...common,
      'content-type': CONTENT_TYPE,
      'content-length': String(script.body.length),
      'x-content-type-options': 'nosniff',
    },
    body: request.method === 'HEAD' ? null : script.body,
  };
}

function requestPath(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl || req.url || '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function write(res: ServerResponse, response: WebsocketBridgeResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(response.body ?? undefined);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('Not Found');
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  next: ((error?: unknown) => void) | undefined,
  path: string,
  script: () => WebsocketBridgeScript,
): void {
  const method = req.method ?? 'GET';
  if ((method !== 'GET' && method !== 'HEAD') || requestPath(req) !== path) {
    if (next) next();
    else notFound(res);
    return;
  }
  let response: WebsocketBridgeResponse;
  try {
    response = websocketBridgeResponse(req, script());
  } catch (error) {
    if (next) {
      next(error);
      return;
    }
    throw error;
  }
  write(res, response);
}

/**
 * Middleware answering GET/HEAD `options.path` (default `/channels/websocketbridge.js`) with the script and passing
 * everything else to `next`. Reads the script now, so a missing build fails at startup.
 *
 * Express: `app.use(createWebsocketBridgeMiddleware())`. Nest (Express or Fastify adapter):
 * `consumer.apply(createWebsocketBridgeMiddleware({ path })).forRoutes({ path, method: RequestMethod.GET })` or
 * `app.use(...)`. Plain Node: `http.createServer((req, res) => middleware(req, res, () => otherHandler(req, res)))`.
 */
export function createWebsocketBridgeMiddleware(
  options: WebsocketBridgeMiddlewareOptions = {},
): WebsocketBridgeMiddleware {
  const path = options.path ?? WEBSOCKET_BRIDGE_PATH;
  const script = websocketBridgeScript(options);
  return (req, res, next) => handle(req, res, next, path, () => script);
}

/**
 * The same middleware at the default path, reading the script on first use (a missing build is passed to `next`,
 * or thrown when there is no `next`). Prefer `createWebsocketBridgeMiddleware()` to fail at startup instead.
 */
export function serveWebsocketBridge(
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
): void {
  handle(req, res, next, WEBSOCKET_BRIDGE_PATH, () => websocketBridgeScript());
}

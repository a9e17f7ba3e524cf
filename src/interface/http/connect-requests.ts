import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpInterface } from './http-interface';

/** How long the body of a CONNECT request may take to arrive, and how long its socket may linger. */
interface ConnectLimits {
  maxBodySize: number;
  bodyTimeoutMs: number;
}

/**
 * Node hands a `CONNECT` request to the server's `'connect'` event instead of `'request'`, and
 * closes the socket when nobody listens: so no consumer or controller would ever see one. This
 * turns it back into a request with a response of its own: HTTP over channels when a route takes
 * it, else the app's own request handling (a 404 from Nest, or its route). A server that already
 * listens for `'connect'` (a proxy of the app's own) is left alone. The connection closes after
 * the response: CONNECT opens no tunnel here.
 */
export function serveConnectRequests(server: Server, http: HttpInterface, limits: ConnectLimits): void {
  if (server.listenerCount('connect') > 0) return;
  server.on('connect', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.once('error', () => socket.destroy());
    const response = new ServerResponse(request);
    response.shouldKeepAlive = false;
    response.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
    response.once('finish', () => {
      response.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
      // Whatever else the client sent is not ours to read: end, drain, and never linger.
      socket.end();
      socket.resume();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    if (!http.wants(request)) {
      server.emit('request', request, response);
      return;
    }
    void serveWithBody(request, response, socket, head, http, limits);
  });
}

/**
 * Reads a CONNECT request's declared body within the process's body budget (as every body over
 * channels), then hands the request over as a parser would have left it: Node gives a CONNECT
 * request no body stream, what follows its head being tunnel data.
 */
async function serveWithBody(
  request: IncomingMessage,
  response: ServerResponse,
  socket: Duplex,
  head: Buffer,
  http: HttpInterface,
  limits: ConnectLimits,
): Promise<void> {
  const declared = Number(request.headers['content-length'] ?? 0);
  const reserved = Number.isInteger(declared) && declared > 0 && declared <= limits.maxBodySize ? declared : 0;
  if (reserved > 0 && !(await http.takeBodyBytes(reserved))) {
    response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
    response.end('The server is busy: try again later');
    return;
  }
  let body: Buffer;
  try {
    body = await readConnectBody(request, socket, head, limits);
  } catch {
    socket.destroy();
    return;
  } finally {
    // The exchange takes its own share of the budget for the body it is handed.
    http.releaseBodyBytes(reserved);
  }
  (request as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
  await http.handle(request, response).catch(() => socket.destroy());
}

/** The `Content-Length` bytes that follow a CONNECT request's head (none when it declares none or too many). */
function readConnectBody(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  limits: ConnectLimits,
): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  // No body, or one the exchange will refuse (413) from its declared length alone.
  if (!Number.isInteger(declared) || declared <= 0 || declared > limits.maxBodySize)
    return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [head];
    let length = head.length;
    const timer = setTimeout(() => done(new Error('CONNECT body timed out')), limits.bodyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= declared) done();
    };
    const onClose = (): void => done(new Error('the client left before its CONNECT body'));
    function done(error?: Error): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).subarray(0, declared));
    }
    if (length >= declared) return done();
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

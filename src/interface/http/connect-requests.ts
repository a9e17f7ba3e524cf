import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpInterface } from './http-interface';

/**
 * Node hands a `CONNECT` request to the server's `'connect'` event instead of `'request'`, and
 * closes the socket when nobody listens: so no consumer or controller would ever see one. This
 * turns it back into a request with a response of its own: HTTP over channels when a route takes
 * it, else the app's own request handling (a 404 from Nest, or its route). A server that already
 * listens for `'connect'` (a proxy of the app's own) is left alone.
 */
export function serveConnectRequests(server: Server, http: HttpInterface): void {
  if (server.listenerCount('connect') > 0) return;
  server.on('connect', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (head.length > 0) socket.unshift(head);
    const response = new ServerResponse(request);
    response.shouldKeepAlive = false;
    response.assignSocket(socket as Parameters<ServerResponse['assignSocket']>[0]);
    response.once('finish', () => {
      response.detachSocket(socket as Parameters<ServerResponse['detachSocket']>[0]);
      socket.end();
    });
    socket.once('error', () => socket.destroy());
    if (http.wants(request)) {
      http.handle(request, response).catch(() => socket.destroy());
      return;
    }
    server.emit('request', request, response);
  });
}

// One client connection of either kind (a `ws` WebSocket, or a socket.io-client socket on the
// websocket transport), behind one small interface so the echo, idle and churn scenarios drive both
// the same way.
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ClientKind } from '../servers';

export interface ClientSocket {
  /** Sends echo number `n`: a `{"event":"echo","data":n}` text frame, or a Socket.IO `echo` event. */
  sendEcho(n: number): void;
  /** Each reply's number, or an Error when a reply is not one. */
  onEcho(handler: (reply: number | Error) => void): void;
  /** Called once if the connection goes away without this side closing it. */
  onLost(handler: () => void): void;
  /** Closes it (closing handshake for `ws`) and resolves once it is gone, or after `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
  /** Drops it at once. */
  terminate(): void;
}

/** Where a client of `kind` connects: the WebSocket URL, or the HTTP base URL for Socket.IO. */
export interface ServerAddress {
  client: ClientKind;
  wsUrl: string;
  httpUrl: string;
}

/** A ws reply: the echoed `{"event":"echo","data":n}`, or `n` alone (what a Nest gateway returns). */
function replyNumber(data: WebSocket.RawData): number | Error {
  try {
    const value: unknown = JSON.parse(String(data));
    const n = typeof value === 'object' && value !== null ? (value as { data?: unknown }).data : value;
    return typeof n === 'number' ? n : new Error(`unexpected reply: ${String(data)}`);
  } catch {
    return new Error(`unexpected reply: ${String(data)}`);
  }
}

function wsClient(socket: WebSocket): ClientSocket {
  let closing = false;
  return {
    sendEcho: (n) => socket.send(`{"event":"echo","data":${n}}`),
    onEcho: (handler) => socket.on('message', (data) => handler(replyNumber(data))),
    onLost: (handler) => socket.once('close', () => closing || handler()),
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        closing = true;
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        const timer = setTimeout(() => {
          socket.terminate();
          resolve();
        }, timeoutMs);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1000);
      }),
    terminate: () => {
      closing = true;
      socket.terminate();
    },
  };
}

function socketIoClient(socket: Socket): ClientSocket {
  let closing = false;
  return {
    sendEcho: (n) => void socket.emit('echo', n),
    onEcho: (handler) =>
      socket.on('echo', (n: unknown) =>
        handler(typeof n === 'number' ? n : new Error(`unexpected reply: ${JSON.stringify(n)}`)),
      ),
    onLost: (handler) => socket.once('disconnect', () => closing || handler()),
    // socket.io-client tells nobody when the TCP connection is really gone (its engine reports the
    // close as soon as it starts it), so this resolves at once; the close finishes in the background.
    close: async () => {
      closing = true;
      socket.disconnect();
    },
    terminate: () => {
      closing = true;
      socket.disconnect();
    },
  };
}

function openWs(url: string, timeoutMs: number): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    // The servers offer no compression either; not offering it keeps every handshake alike.
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    // Before 'open' an error rejects (settled promises ignore the rest); after it, 'close' follows (onLost).
    socket.on('error', reject);
    socket.once('open', () => resolve(wsClient(socket)));
  });
}

function openSocketIo(url: string, timeoutMs: number): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    // A manager (engine, TCP connection) of its own per socket, no polling, no reconnects.
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.off('connect_error');
      resolve(socketIoClient(socket));
    });
    socket.once('connect_error', (error: Error) => {
      socket.disconnect();
      reject(error);
    });
  });
}

/** Opens a connection; resolves once it is open (for Socket.IO: once the namespace is joined). */
export function openClient(server: ServerAddress, timeoutMs: number): Promise<ClientSocket> {
  return server.client === 'socket.io' ? openSocketIo(server.httpUrl, timeoutMs) : openWs(server.wsUrl, timeoutMs);
}

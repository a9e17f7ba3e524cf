/**
 * Daphne 1.4.2's `daphne/tests/factories.py` and the scaffolding of its test classes, on a real
 * Nest app. Daphne fed raw request bytes to its protocol over Twisted's StringTransport and read
 * the message it put on an asgiref in-memory layer; here the bytes go over a real TCP socket to a
 * Nest app listening on a real port, whose in-memory layer the test holds. The app's worker is off
 * and one `http.request` route (that never runs) makes every request go over channels, so the
 * test receives `http.request` / `websocket.connect` itself, asserts on it and answers on its
 * `reply_channel`, as Daphne's tests did with `factory.dispatch_reply`.
 */
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ChannelsModule, Consumer, InMemoryChannelLayer, type ChannelMessage } from '../../../src';
import { quote, urlencode, type Headers, type QueryParams } from './http-strategies';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'fastify'];

/** How long a test waits for a message or a response before it calls it missing. */
const WAIT_MS = 3000;

@Injectable()
class EveryRequestOverChannels {
  /** Never runs (the worker is off): its route makes the interface send every request to the layer. */
  @Consumer('http.request')
  request(): void {}

  /** Never runs either: its route says the app consumes `http.disconnect` (else none is sent). */
  @Consumer('http.disconnect')
  disconnect(): void {}
}

export interface AppOptions {
  /** Daphne's `proxy_forwarded_*_header` settings: the package's `proxyHeaders`, on both interfaces. */
  proxyHeaders?: boolean;
}

/** A running app, its layer, and the raw connections the test opened to it. */
export class DaphneApp {
  private readonly connections = new Set<RawConnection>();

  /** The server's side of every connection, to end what a close would otherwise wait on forever. */
  private readonly serverSockets = new Set<Socket>();

  private constructor(
    private readonly app: INestApplication,
    readonly layer: InMemoryChannelLayer,
    readonly port: number,
    server: Server,
  ) {
    server.on('connection', (socket: Socket) => {
      this.serverSockets.add(socket);
      socket.once('close', () => this.serverSockets.delete(socket));
    });
  }

  static async start(adapter: AdapterName, options: AppOptions = {}): Promise<DaphneApp> {
    const layer = new InMemoryChannelLayer();
    const proxyHeaders = options.proxyHeaders ?? false;
    @Module({
      imports: [
        ChannelsModule.forRoot({
          layers: { default: { backend: layer } },
          worker: { enabled: false },
          interface: { http: { proxyHeaders }, websocket: { proxyHeaders } },
        }),
      ],
      providers: [EveryRequestOverChannels],
    })
    class DaphneTestApp {}
    const app = await NestFactory.create(
      DaphneTestApp,
      adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
      { logger: false, abortOnError: false },
    );
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as Server & { requireHostHeader: boolean };
    // The original's requests (factories._build_request) carry no Host header; Twisted took them.
    // Node answers an HTTP/1.1 request without Host with 400 unless told not to, so the harness
    // lets them through to keep the requests byte for byte the original's.
    server.requireHostHeader = false;
    return new DaphneApp(app, layer, (server.address() as AddressInfo).port, server);
  }

  /** A raw TCP connection to the app. */
  async open(): Promise<RawConnection> {
    const connection = await RawConnection.open(this.port);
    this.connections.add(connection);
    return connection;
  }

  /**
   * The next message on `channel`, as Daphne's tests took it with `channel_layer.receive`. Fails
   * at once (instead of waiting) if the server answered the client without sending one.
   */
  async receive(channel: string, client: RawConnection): Promise<ChannelMessage> {
    const stop = new AbortController();
    const fromLayer = this.layer.receive([channel], { block: true, timeout: WAIT_MS / 1000, signal: stop.signal });
    const answered = client.activity().then(() => 'answered' as const);
    const first = await Promise.race([fromLayer, answered]);
    if (first === 'answered') {
      stop.abort();
      const [, message] = await fromLayer;
      if (message) return message;
      const head = client.peek().toString('latin1').split('\r\n')[0];
      throw new Error(`no ${channel} message: the server answered the client itself (${head || 'closed the socket'})`);
    }
    const [, message] = first;
    if (!message) throw new Error(`no ${channel} message within ${WAIT_MS} ms`);
    return message;
  }

  /** Sends a reply, as `factory.dispatch_reply(reply_channel, message)`. */
  async reply(replyChannel: unknown, message: ChannelMessage): Promise<void> {
    if (typeof replyChannel !== 'string') throw new TypeError(`reply_channel is not a string: ${String(replyChannel)}`);
    await this.layer.send(replyChannel, message);
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
    // A server socket left open (the package's CONNECT handling, while these tests were written,
    // kept one whose client had gone) would make the app's close wait forever: after a grace
    // period, the harness ends what is left.
    const closing = this.app.close();
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      closing.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 2000))),
    ]);
    clearTimeout(timer);
    if (late) for (const socket of this.serverSockets) socket.destroy();
    await closing;
    await this.layer.close();
  }
}

/** A raw TCP client: what it wrote is exactly the test's bytes, what it read is exactly the server's. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, data]);
      this.changed();
    });
    socket.on('close', () => {
      this.closed = true;
      this.changed();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? -1;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** What has been received and not taken yet. */
  peek(): Buffer {
    return this.buffer;
  }

  /** Resolves when anything arrives or the socket closes. */
  activity(): Promise<void> {
    return this.until(() => this.buffer.length > 0 || this.closed);
  }

  /**
   * Takes the bytes of one complete unit from what arrives: `complete` says how long the unit is
   * once it is all there (undefined before). On close or after the wait, takes what there is.
   */
  async take(complete: (data: Buffer, closed: boolean) => number | undefined): Promise<Buffer> {
    await this.until(() => complete(this.buffer, this.closed) !== undefined || this.closed, WAIT_MS);
    const length = Math.min(complete(this.buffer, this.closed) ?? this.buffer.length, this.buffer.length);
    const taken = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return taken;
  }

  /** Everything until the server closes the socket (or the wait ends). */
  async takeUntilClosed(): Promise<Buffer> {
    return this.take((data, closed) => (closed ? data.length : undefined));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private until(done: () => boolean, timeoutMs = Infinity): Promise<void> {
    return new Promise((resolve) => {
      if (done()) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        if (!done()) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      this.listeners.add(check);
      if (timeoutMs !== Infinity) {
        timer = setTimeout(() => {
          this.listeners.delete(check);
          resolve();
        }, timeoutMs);
      }
    });
  }
}

/** Length of one complete HTTP response at the start of `data` (undefined while incomplete). */
export function httpResponseLength(data: Buffer, closed: boolean): number | undefined {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1) return closed ? data.length : undefined;
  const head = data.subarray(0, headEnd).toString('latin1');
  const bodyStart = headEnd + 4;
  const status = Number(head.split(' ')[1]);
  if ((status >= 100 && status < 200) || status === 204 || status === 304) return bodyStart;
  const fields = head.toLowerCase().split('\r\n').slice(1);
  const field = (name: string): string | undefined =>
    fields
      .find((line) => line.startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  if (field('transfer-encoding')?.includes('chunked')) {
    let position = bodyStart;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', position);
      if (lineEnd === -1) return closed ? data.length : undefined;
      const size = parseInt(data.subarray(position, lineEnd).toString('latin1').split(';')[0], 16);
      if (size === 0) {
        const trailers = data.indexOf('\r\n\r\n', lineEnd);
        if (data.subarray(lineEnd + 2, lineEnd + 4).toString('latin1') === '\r\n') return lineEnd + 4;
        if (trailers === -1) return closed ? data.length : undefined;
        return trailers + 4;
      }
      position = lineEnd + 2 + size + 2;
      if (position > data.length) return closed ? data.length : undefined;
    }
  }
  const length = field('content-length');
  if (length !== undefined) {
    const end = bodyStart + Number(length);
    return data.length >= end ? end : closed ? data.length : undefined;
  }
  return closed ? data.length : undefined;
}

/** Length of `count` complete WebSocket frames (server frames: unmasked) from `offset`. */
function framesLength(data: Buffer, offset: number, count: number): number | undefined {
  let position = offset;
  for (let i = 0; i < count; i++) {
    if (data.length < position + 2) return undefined;
    const masked = (data[position + 1] & 0x80) !== 0;
    let length = data[position + 1] & 0x7f;
    let header = 2;
    if (length === 126) {
      if (data.length < position + 4) return undefined;
      length = data.readUInt16BE(position + 2);
      header = 4;
    } else if (length === 127) {
      if (data.length < position + 10) return undefined;
      length = Number(data.readBigUInt64BE(position + 2));
      header = 10;
    }
    position += header + (masked ? 4 : 0) + length;
    if (data.length < position) return undefined;
  }
  return position;
}

/**
 * A handshake answer followed by `frames` frames when it is a 101; any other answer, once the
 * server closed the socket (so that nothing it sent is missed).
 */
export function upgradeResponse(frames: number) {
  return (data: Buffer, closed: boolean): number | undefined => {
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd === -1) return closed ? data.length : undefined;
    if (!data.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) return closed ? data.length : undefined;
    return framesLength(data, headEnd + 4, frames) ?? (closed ? data.length : undefined);
  };
}

/** `frames` complete WebSocket frames. */
export function websocketFrames(frames: number) {
  return (data: Buffer, closed: boolean): number | undefined =>
    framesLength(data, 0, frames) ?? (closed ? data.length : undefined);
}

/** `factories.header_line`: `name: value\r\n` (ASCII). */
export function headerLine(name: string, value: string): Buffer {
  return Buffer.from(`${name}: ${value}\r\n`, 'latin1');
}

/** `factories.content_length_header`. */
export function contentLengthHeader(body: string): [string, string] {
  return ['Content-Length', String(body.length)];
}

/** `factories._build_request`: the bytes of an HTTP/1.1 request (Python 3 branch). */
export function buildRequest(
  method: string,
  path: string,
  params?: QueryParams | null,
  headers?: Headers | null,
  body?: string | null,
): Buffer {
  let target = quote(path);
  if (params && params.length > 0) target += '?' + urlencode(params);
  const parts: Buffer[] = [Buffer.from(`${method} ${target} HTTP/1.1\r\n`, 'ascii')];
  for (const [name, value] of headers ?? []) parts.push(headerLine(name, value));
  parts.push(Buffer.from('\r\n'));
  if (body) parts.push(Buffer.from(body, 'latin1'));
  return Buffer.concat(parts);
}

/** `factories.build_websocket_upgrade`: the test's headers, then the handshake's. */
export function buildWebsocketUpgrade(path: string, params: QueryParams | null | undefined, headers: Headers): Buffer {
  const wsHeaders: Headers = [
    ['Host', 'somewhere.com'],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', 'x3JJHMbDL1EzLkh9GBhXDw=='],
    ['Sec-WebSocket-Protocol', 'chat, superchat'],
    ['Sec-WebSocket-Version', '13'],
    ['Origin', 'http://example.com'],
  ];
  return buildRequest('GET', path, params, [...headers, ...wsHeaders], null);
}

/**
 * `factories.message_for_request`: the `http.request` message a request becomes. The request is
 * then answered (a bare 200) and its socket closed, so nothing is left open.
 */
export async function messageForRequest(
  app: DaphneApp,
  method: string,
  path: string,
  params?: QueryParams | null,
  headers?: Headers | null,
  body?: string | null,
): Promise<ChannelMessage> {
  const client = await app.open();
  try {
    client.write(buildRequest(method, path, params, headers, body));
    const message = await app.receive('http.request', client);
    await app.reply(message.reply_channel, { status: 200 });
    // The response has started (and ended) once its first bytes arrive.
    await client.take((data) => (data.length > 0 ? data.length : undefined));
    return message;
  } finally {
    client.destroy();
  }
}

/**
 * `factories.response_for_message`: the raw HTTP response the app writes for a reply message to a
 * `GET /` request (whose `http.request` the test receives first, as the original did).
 */
export async function responseForMessage(app: DaphneApp, message: ChannelMessage): Promise<Buffer> {
  const client = await app.open();
  try {
    client.write(buildRequest('GET', '/'));
    const request = await app.receive('http.request', client);
    await app.reply(request.reply_channel, message);
    return await client.take(httpResponseLength);
  } finally {
    client.destroy();
  }
}

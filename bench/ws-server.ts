// The servers of the WebSocket echo, HTTP and connection scenarios, each in a helper process of its
// own: `ws-server.ts <kind> <port> [redis url]`, started by bench/servers.ts. Apps with consumers
// turn on async_hooks process-wide, so none of them runs in the bench process. Every helper answers
// memory requests (bench/connections/process-memory.ts) for the idle-connection scenario.
import 'reflect-metadata';
import { createServer } from 'node:http';
import { Controller, Get, Injectable, Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import Redis from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChannelsModule, Consumer, runWorker, sendHttpResponse, type ChannelLayerConfig, type Message } from '../src';
import { serveParent } from './child-process';
import { answerMemoryRequests } from './connections/process-memory';
import { EchoConsumers } from './echo-consumers';
import { roomConsumers } from './room-consumers';

const SERVER_KINDS = [
  'channels-memory',
  'channels-redis-interface',
  'channels-redis-worker',
  'plain-ws',
  'nest-ws',
  'redis-relay-interface',
  'redis-relay-worker',
  'socketio',
  'socketio-redis',
  'channels-accept-memory',
  'channels-chat-memory',
  'channels-conn-redis-interface',
  'channels-accept-redis-worker',
  'channels-chat-redis-worker',
] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

/** Redis keys of these scenarios, apart from the others' (`bench:`, `bench-dispatch:`). */
const WS_PREFIX = 'bench-ws:';
/** The connection scenarios' keys, so Redis memory per connection counts theirs alone. */
const CONN_PREFIX = 'bench-conn:';
/** The group every socket of the idle scenario joins, as a chat room's would. */
const CHAT_GROUP = 'bench-room';
/** Raised well above the in-flight levels so no send fails with ChannelFull. */
const CAPACITY = 100_000;
const LOGGER = ['error', 'warn'] as const;

/** The HTTP scenario's consumer: `http.request` on /echo answers ok. */
@Injectable()
class HttpEchoConsumers {
  @Consumer('http.request', { path: /^\/echo$/ })
  async http(message: Message): Promise<void> {
    await sendHttpResponse(message, { body: 'ok' });
  }
}

/** The echo app's consumers: the WebSocket echo, then the HTTP route. */
const ECHO_APP_CONSUMERS = [EchoConsumers, HttpEchoConsumers];

/** Connection churn: accept every socket; the disconnect is consumed so no queue grows. */
@Injectable()
class AcceptConsumers {
  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.disconnect')
  disconnect(): void {}
}

/** Idle connections: what a chat does with each socket, join a room on connect and leave on disconnect. */
const ChatConsumers = roomConsumers(CHAT_GROUP);

@Controller()
class PlainController {
  @Get('plain')
  plain(): string {
    return 'ok';
  }
}

function channelsModule(
  layer: ChannelLayerConfig,
  worker: boolean,
  consumers: readonly Type<unknown>[] = ECHO_APP_CONSUMERS,
): Type<unknown> {
  @Module({
    imports: [ChannelsModule.forRoot({ layers: { default: layer }, worker: { enabled: worker } })],
    providers: [...consumers],
    controllers: [PlainController],
  })
  class EchoAppModule {}
  return EchoAppModule;
}

/** A Nest gateway on the platform-ws adapter: `{ event: 'echo', data }` in, `data` (as JSON) out. */
@WebSocketGateway({ path: '/ws' })
class EchoGateway {
  @SubscribeMessage('echo')
  echo(_client: unknown, data: unknown): unknown {
    return data;
  }
}

@Module({ providers: [EchoGateway], controllers: [PlainController] })
class NestWsModule {}

async function listen(module: Type<unknown>, port: number, ws: boolean): Promise<() => Promise<void>> {
  const app = await NestFactory.create(module, { logger: [...LOGGER] });
  if (ws) app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(port, '127.0.0.1');
  return () => app.close();
}

async function plainWs(port: number): Promise<() => Promise<void>> {
  const server = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** Lists of the raw Redis relay: frames in, replies out (tagged with the socket's id). */
const RELAY_IN = `${WS_PREFIX}relay:in`;
const RELAY_OUT = `${WS_PREFIX}relay:out`;
const RELAY_LOOPS = 4;

/**
 * A naive, unbatched design that carries frames over Redis: plain `ws`, one RPUSH per frame, a
 * relay process moving it back with BLPOP + RPUSH, and one BLPOP loop pushing replies to sockets.
 * No routing, no envelopes, no expiry: what is left is Redis and the processes' wake-ups.
 */
async function redisRelayInterface(port: number, redisUrl: string): Promise<() => Promise<void>> {
  const commands = new Redis(redisUrl);
  const blocking = new Redis(redisUrl);
  const sockets = new Map<string, WebSocket>();
  let nextId = 0;
  let closing = false;
  const server = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    const id = String(nextId++);
    sockets.set(id, socket);
    socket.on('close', () => sockets.delete(id));
    socket.on('message', (data) => void commands.rpush(RELAY_IN, `${id} ${String(data)}`));
  });
  const loop = (async () => {
    while (!closing) {
      const popped = await blocking.blpop(RELAY_OUT, 1).catch(() => null);
      if (!popped) continue;
      const space = popped[1].indexOf(' ');
      sockets.get(popped[1].slice(0, space))?.send(popped[1].slice(space + 1));
    }
  })();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return async () => {
    closing = true;
    for (const client of wss.clients) client.terminate();
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await loop;
    blocking.disconnect();
    await commands.quit();
  };
}

async function redisRelayWorker(redisUrl: string): Promise<() => Promise<void>> {
  let closing = false;
  const loops = Array.from({ length: RELAY_LOOPS }, async () => {
    const redis = new Redis(redisUrl);
    while (!closing) {
      const popped = await redis.blpop(RELAY_IN, 1).catch(() => null);
      if (popped) await redis.rpush(RELAY_OUT, popped[1]);
    }
    redis.disconnect();
  });
  return async () => {
    closing = true;
    await Promise.all(loops);
  };
}

/** The Socket.IO room of every socket (the idle scenario's chat room; harmless to the echo). */
const SOCKET_IO_ROOM = 'bench-room';

/**
 * Socket.IO on a plain HTTP server: each socket joins a room and gets its `echo` events back.
 * With a Redis URL, rooms go through @socket.io/redis-adapter (pub/sub, as a cluster would).
 */
async function socketIo(port: number, redisUrl: string | undefined): Promise<() => Promise<void>> {
  const server = createServer((_req, res) => res.end('ok'));
  const io = new SocketIoServer(server, { serveClient: false });
  const pub = redisUrl ? new Redis(redisUrl) : undefined;
  const sub = pub?.duplicate();
  if (pub && sub) io.adapter(createAdapter(pub, sub, { key: `${CONN_PREFIX}socket.io` }));
  io.on('connection', (socket) => {
    void socket.join(SOCKET_IO_ROOM);
    socket.on('echo', (data: unknown) => socket.emit('echo', data));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return async () => {
    io.disconnectSockets(true);
    await new Promise<void>((resolve) => io.close(() => resolve()));
    pub?.disconnect();
    sub?.disconnect();
  };
}

async function start(kind: string, port: number, redisUrl: string | undefined): Promise<() => Promise<void>> {
  const url = (): string => {
    if (!redisUrl) throw new Error(`${kind} needs a redis url`);
    return redisUrl;
  };
  const redis = (): ChannelLayerConfig => ({
    backend: 'redis',
    options: { hosts: [url()], prefix: WS_PREFIX, capacity: CAPACITY },
  });
  const connRedis = (): ChannelLayerConfig => ({
    backend: 'redis',
    options: { hosts: [url()], prefix: CONN_PREFIX, capacity: CAPACITY },
  });
  const worker = async (module: Type<unknown>): Promise<() => Promise<void>> => {
    const { app } = await runWorker(module, { nest: { logger: [...LOGGER] } });
    return () => (app as INestApplicationContext).close();
  };
  const memory: ChannelLayerConfig = { backend: 'memory', options: { capacity: CAPACITY } };
  switch (kind as ServerKind) {
    case 'channels-memory':
      return listen(channelsModule({ backend: 'memory', options: { capacity: CAPACITY } }, true), port, false);
    case 'channels-redis-interface':
      return listen(channelsModule(redis(), false), port, false);
    case 'channels-redis-worker': {
      const { app } = await runWorker(channelsModule(redis(), true), { nest: { logger: [...LOGGER] } });
      return () => (app as INestApplicationContext).close();
    }
    case 'plain-ws':
      return plainWs(port);
    case 'nest-ws':
      return listen(NestWsModule, port, true);
    case 'redis-relay-interface':
      return redisRelayInterface(port, url());
    case 'redis-relay-worker':
      return redisRelayWorker(url());
    case 'socketio':
      return socketIo(port, undefined);
    case 'socketio-redis':
      return socketIo(port, url());
    case 'channels-accept-memory':
      return listen(channelsModule(memory, true, [AcceptConsumers]), port, false);
    case 'channels-chat-memory':
      return listen(channelsModule(memory, true, [ChatConsumers]), port, false);
    case 'channels-conn-redis-interface':
      return listen(channelsModule(connRedis(), false, [AcceptConsumers]), port, false);
    case 'channels-accept-redis-worker':
      return worker(channelsModule(connRedis(), true, [AcceptConsumers]));
    case 'channels-chat-redis-worker':
      return worker(channelsModule(connRedis(), true, [ChatConsumers]));
    default:
      throw new Error(`usage: ws-server.ts <${SERVER_KINDS.join('|')}> <port> [redis url]`);
  }
}

start(process.argv[2], Number(process.argv[3] ?? 0), process.argv[4]).then(
  (close) => {
    answerMemoryRequests();
    serveParent(close);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

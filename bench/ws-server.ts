// The servers of the WebSocket echo, HTTP and connection scenarios, each in a helper process of its
// own: `ws-server.ts <kind> <port> [redis url]`, started by bench/servers.ts. Apps with consumers
// turn on async_hooks process-wide, so none of them runs in the bench process. Every helper answers
// memory requests (bench/connections/process-memory.ts) for the idle-connection scenario.
import 'reflect-metadata';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
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
  'redis-batched-relay-interface',
  'redis-batched-relay-worker',
  'nest-http',
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
    imports: [
      ChannelsModule.forRoot({
        layers: { default: layer },
        worker: { enabled: worker },
        // autocannon's 100 connections all come from 127.0.0.1, one client address: the default
        // cap of 64 open requests per client would answer the rest 429 (a fairness limit, not a cost).
        interface: { http: { maxRequestsPerClient: 1000 } },
      }),
    ],
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

/** The HTTP reference: a Nest app with the controller alone (no ChannelsModule, nothing of this package). */
@Module({ controllers: [PlainController] })
class PlainHttpModule {}

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

/** Lists of the Redis relays: frames in, replies out (tagged with the socket's id), one pair per relay. */
const RELAY_IN = `${WS_PREFIX}relay:in`;
const RELAY_OUT = `${WS_PREFIX}relay:out`;
const BATCHED_IN = `${WS_PREFIX}batched:in`;
const BATCHED_OUT = `${WS_PREFIX}batched:out`;
const RELAY_LOOPS = 4;
/** Batched relay: values one BLMPOP takes at most, and the relay process's pop loops. */
const BATCH_COUNT = 256;
const BATCHED_LOOPS = 2;

/** `socketId text` → [socketId, text]. */
function untag(value: string): [string, string] {
  const space = value.indexOf(' ');
  return [value.slice(0, space), value.slice(space + 1)];
}

/**
 * `BLMPOP 1 1 <key> LEFT COUNT 256` (Redis 7): up to 256 values, or none after 1 s (or on error).
 */
async function popBatch(redis: Redis, key: string): Promise<string[]> {
  const reply: unknown = await redis
    .call('BLMPOP', '1', '1', key, 'LEFT', 'COUNT', String(BATCH_COUNT))
    .catch(() => null);
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) return [];
  return (reply[1] as unknown[]).map((value) => String(value));
}

/**
 * Listens on `port` for a relay's interface; the stop it returns ends the pop loop (`stopLoop`),
 * the sockets and the server, then the Redis connections.
 */
async function listenRelay(
  port: number,
  server: ReturnType<typeof createServer>,
  wss: WebSocketServer,
  loop: Promise<void>,
  [blocking, commands]: [Redis, Redis],
  stopLoop: () => void,
): Promise<() => Promise<void>> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return async () => {
    stopLoop();
    for (const client of wss.clients) client.terminate();
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await loop;
    blocking.disconnect();
    await commands.quit();
  };
}

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
      const [id, text] = untag(popped[1]);
      sockets.get(id)?.send(text);
    }
  })();
  return listenRelay(port, server, wss, loop, [blocking, commands], () => (closing = true));
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

/** A server-side socket and the TCP socket under it (corked around a batch of replies). */
interface RelaySocket {
  ws: WebSocket;
  tcp: Socket;
}

/**
 * The Redis ceiling: what carrying frames through Redis costs when every hop batches, with no
 * library. Plain `ws`; the frames of one event-loop tick leave in one `RPUSH key v1 v2 …` (flushed
 * by setImmediate); one loop pops replies with `BLMPOP … COUNT 256` and writes each socket's
 * replies of a pop with its TCP socket corked (one write per socket per tick).
 */
async function batchedRelayInterface(port: number, redisUrl: string): Promise<() => Promise<void>> {
  const commands = new Redis(redisUrl);
  const blocking = new Redis(redisUrl);
  const sockets = new Map<string, RelaySocket>();
  let nextId = 0;
  let closing = false;
  let pending: string[] = [];
  let flushing = false;
  const flush = (): void => {
    flushing = false;
    const values = pending;
    pending = [];
    if (values.length > 0) void commands.rpush(BATCHED_IN, ...values).catch(() => undefined);
  };
  const server = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    const id = String(nextId++);
    sockets.set(id, { ws: socket, tcp: request.socket });
    socket.on('close', () => sockets.delete(id));
    socket.on('message', (data) => {
      pending.push(`${id} ${String(data)}`);
      if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
    });
  });
  const loop = (async () => {
    while (!closing) {
      const values = await popBatch(blocking, BATCHED_OUT);
      const bySocket = new Map<string, string[]>();
      for (const value of values) {
        const [id, text] = untag(value);
        const list = bySocket.get(id);
        if (list) list.push(text);
        else bySocket.set(id, [text]);
      }
      for (const [id, texts] of bySocket) {
        const target = sockets.get(id);
        if (!target) continue;
        target.tcp.cork();
        for (const text of texts) target.ws.send(text);
        target.tcp.uncork();
      }
    }
  })();
  return listenRelay(port, server, wss, loop, [blocking, commands], () => (closing = true));
}

/** The batched relay's middle: BLMPOP up to 256 frames, RPUSH them all back in one command. */
async function batchedRelayWorker(redisUrl: string): Promise<() => Promise<void>> {
  let closing = false;
  const loops = Array.from({ length: BATCHED_LOOPS }, async () => {
    const redis = new Redis(redisUrl);
    while (!closing) {
      const values = await popBatch(redis, BATCHED_IN);
      // Not awaited: the next BLMPOP follows it on the same connection, so Redis runs them in order.
      if (values.length > 0) void redis.rpush(BATCHED_OUT, ...values).catch(() => undefined);
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
    case 'redis-batched-relay-interface':
      return batchedRelayInterface(port, url());
    case 'redis-batched-relay-worker':
      return batchedRelayWorker(url());
    case 'nest-http':
      return listen(PlainHttpModule, port, false);
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

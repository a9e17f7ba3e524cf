// The server processes of the broadcast scenario, one per helper process:
//   server.ts channels-interface <port> <redis url>   nestjs-channels interface (runServer, no worker)
//   server.ts channels-worker 0 <redis url>           nestjs-channels worker (runWorker): the consumers
//   server.ts socket.io <port> <redis url>            Socket.IO with @socket.io/redis-adapter on ioredis
// Started by bench/broadcast/processes.ts; answers ServerRequests over IPC; exits when the bench goes.
import 'reflect-metadata';
import { createServer } from 'node:http';
import type { INestApplicationContext } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { ChannelsInterfaceService, runServer, runWorker } from '../../src';
import { serveParent } from '../child-process';
import { broadcastAppModule } from './app';
import { CpuProfiler } from './profiler';
import { EVENT, GROUP, sleepUntil, type ServerRequest } from './protocol';

const LOGGER = ['error', 'warn'] as const;
/** A close that hangs must not keep a helper alive once the bench has gone. */
const CLOSE_DEADLINE_MS = 4000;

interface Running {
  close(): Promise<void>;
  /** Sockets this process serves (Socket.IO: in room `bc`; channels interface: open connections). */
  members(): number;
  emit?(n: number, t: number): void;
}

async function channelsInterface(port: number, redisUrl: string): Promise<Running> {
  const app = await runServer(broadcastAppModule(redisUrl, false), {
    port,
    host: '127.0.0.1',
    noWorker: true,
    nest: { logger: [...LOGGER] },
  });
  const service = app.get(ChannelsInterfaceService, { strict: false });
  return { close: () => app.close(), members: () => service.websockets?.size ?? 0 };
}

async function channelsWorker(redisUrl: string): Promise<Running> {
  // Concurrency above the default so 10,000 connects (group add + accept each) go through quickly.
  const { app } = await runWorker(broadcastAppModule(redisUrl, true), {
    concurrency: 64,
    nest: { logger: [...LOGGER] },
  });
  return { close: () => (app as INestApplicationContext).close(), members: () => 0 };
}

async function socketIo(port: number, redisUrl: string): Promise<Running> {
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  let closing = false;
  // Redis going away while the bench ends is expected; an error before that is worth a line.
  for (const client of [pub, sub]) {
    client.on('error', (error: Error) => {
      if (!closing && process.connected) console.error(`socket.io redis: ${error.message}`);
    });
  }
  const http = createServer((_req, res) => res.writeHead(404).end());
  const io = new Server(http, {
    adapter: createAdapter(pub, sub),
    serveClient: false,
    transports: ['websocket'],
    perMessageDeflate: false,
  });
  io.on('connection', (socket) => void socket.join(GROUP));
  await new Promise<void>((resolve, reject) => http.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    members: () => io.of('/').adapter.rooms.get(GROUP)?.size ?? 0,
    emit: (n, t) => void io.to(GROUP).emit(EVENT, { n, t }),
    close: async () => {
      closing = true;
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}

async function start(kind: string | undefined, port: number, redisUrl: string | undefined): Promise<Running> {
  if (!redisUrl) throw new Error('usage: server.ts <channels-interface|channels-worker|socket.io> <port> <redis url>');
  switch (kind) {
    case 'channels-interface':
      return channelsInterface(port, redisUrl);
    case 'channels-worker':
      return channelsWorker(redisUrl);
    case 'socket.io':
      return socketIo(port, redisUrl);
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

function serve(running: Running): void {
  const profiler = new CpuProfiler();
  const reply = (message: object): void => void process.send?.(message);
  process.on('message', (raw: unknown) => {
    const request = raw as ServerRequest;
    void (async () => {
      switch (request.type) {
        case 'emit':
          if (!running.emit) throw new Error('this server does not emit');
          running.emit(request.n, request.t);
          return reply({ type: 'emitted' });
        case 'pace': {
          const emit = running.emit;
          if (!emit) throw new Error('this server does not emit');
          // Stamped with the due time: a busy event loop that emits late shows in the latency.
          for (let i = 0; i < request.count; i++) {
            const due = request.startAt + i * request.intervalMs;
            await sleepUntil(due);
            emit(request.firstN + i, due);
          }
          return reply({ type: 'paced', sent: request.count });
        }
        case 'members':
          return reply({ type: 'members', count: running.members() });
        case 'profile':
          if (request.action === 'start') await profiler.start();
          else if (request.file) await profiler.stopTo(request.file);
          return reply({ type: 'profiled', file: request.file });
        default:
          throw new Error(`unknown request ${JSON.stringify(raw)}`);
      }
    })().catch((error: unknown) => reply({ type: 'error', message: (error as Error).message ?? String(error) }));
  });
  // A reply or 'ready' sent after the bench has gone (EPIPE) must not crash the helper: it exits on disconnect.
  process.on('error', () => undefined);
  const close = async (): Promise<void> => {
    setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
    await running.close();
  };
  // The bench gave up on this start (or died) while it was starting: nobody will ever disconnect.
  if (!process.connected) void close().finally(() => process.exit(1));
  else serveParent(close);
}

start(process.argv[2], Number(process.argv[3] ?? 0), process.argv[4]).then(serve, (error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { ChannelsInterfaceService, ChannelsModule, Consumer, type Message } from '../../src';
import { serverPid, startRedisServer, uniquePrefix, type SpawnedRedis } from '../support/redis-server';
import { openSocket } from '../support/websocket';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class Echo {
  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive')
  async receive(message: Message): Promise<void> {
    await message.replyChannel!.send({ text: String(message.content.text) });
  }
}

describe('WebSockets over Redis while Redis stalls (SIGSTOP)', () => {
  let redis: SpawnedRedis;
  let app: INestApplication;
  let port: number;

  beforeAll(async () => {
    redis = await startRedisServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRoot({
          layers: { default: { backend: 'redis', options: { hosts: [redis.url], prefix: uniquePrefix('stall') } } },
        }),
      ],
      providers: [Echo],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('loses no frame sent during a 3 s stall and closes no socket: the backlog is answered once Redis wakes', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 10 }, (_, i) => openSocket(`ws://127.0.0.1:${port}/s${i}/`)),
    );
    const heard = sockets.map(() => [] as string[]);
    const closes: number[] = [];
    sockets.forEach((ws: WebSocket, i) => {
      ws.on('message', (data) => heard[i].push(String(data)));
      ws.once('close', (code) => closes.push(code));
    });
    const pid = await serverPid(redis.url);
    process.kill(pid, 'SIGSTOP');
    try {
      for (let n = 0; n < 5; n++) {
        sockets.forEach((ws, i) => ws.send(`${i}:${n}`));
        await sleep(500);
      }
      await sleep(500);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    for (let i = 0; i < 100 && heard.some((frames) => frames.length < 5); i++) await sleep(100);
    expect(heard).toEqual(sockets.map((_, i) => [0, 1, 2, 3, 4].map((n) => `${i}:${n}`)));
    expect(closes).toEqual([]);
    expect(app.get(ChannelsInterfaceService).statistics().websocketClosedBackpressure).toBe(0);
    for (const ws of sockets) ws.close();
  }, 30_000);
});

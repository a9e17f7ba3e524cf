import type WebSocket from 'ws';
import { browserLike, inbox } from '../sample/sample-client';
import { killAllCli, startCli, type CliProcess } from '../support/cli-process';
import { freePort, startRedisServer, uniquePrefix, type SpawnedRedis } from '../support/redis-server';
import { openSocket } from '../support/websocket';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function closed(socket: WebSocket, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket was not closed within ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('Redis restarted under a running chat (interface and worker processes)', () => {
  let redis: SpawnedRedis;
  let server: CliProcess;
  let worker: CliProcess;
  let port: number;

  beforeAll(async () => {
    redis = await startRedisServer();
    port = await freePort();
    const env = { CHANNELS_LAYER: 'redis', REDIS_URL: redis.url, CHANNELS_PREFIX: uniquePrefix('restart') };
    server = await startCli(['runserver', 'sample/app.module.ts', '-p', String(port), '--noworker'], env, /serving on/);
    worker = await startCli(['runworker', 'sample/app.module.ts'], env, /worker listening on/);
  }, 60_000);
  afterAll(async () => {
    killAllCli();
    await redis.stop();
  });

  const origin = (): string => `http://127.0.0.1:${port}`;
  const join = (name: string): Promise<WebSocket> =>
    openSocket(`ws://127.0.0.1:${port}/chat/restart/?username=${name}`, undefined, browserLike(origin()));

  async function chat(): Promise<{ ann: WebSocket; bob: WebSocket }> {
    const ann = await join('ann');
    const bob = await join('bob');
    const heard = inbox(bob);
    ann.send('hello');
    expect(JSON.parse(await heard.next(10_000))).toEqual({ text: 'hello', username: 'ann' });
    return { ann, bob };
  }

  it('closes the sockets whose groups were lost (1012), stays up, and chats again within seconds', async () => {
    const before = await chat();
    const closes = [closed(before.ann, 20_000), closed(before.bob, 20_000)];
    await redis.kill();
    await sleep(500);
    await redis.start(); // same port, empty: no persistence
    const restartedAt = Date.now();
    expect(await Promise.all(closes)).toEqual([1012, 1012]);
    expect(server.alive()).toBe(true);
    expect(worker.alive()).toBe(true);
    // Clients reconnect as browsers would; the chat works again.
    for (;;) {
      try {
        const again = await chat();
        again.ann.close();
        again.bob.close();
        break;
      } catch (error) {
        if (Date.now() - restartedAt > 15_000) throw error;
        await sleep(250);
      }
    }
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    expect(server.alive() && worker.alive()).toBe(true);
  }, 60_000);
});

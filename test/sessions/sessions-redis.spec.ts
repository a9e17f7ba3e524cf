import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { SessionData } from 'express-session';
import Redis from 'ioredis';
import {
  ChannelLayerRegistry,
  ChannelSession,
  ChannelsModule,
  Consumer,
  RedisSessionStore,
  type ChannelLayer,
  type Message,
} from '../../src';
import { SESSIONS_SECRET, SessionsAppModule } from '../fixtures/sessions-app';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';
import { startWorkerProcess, type WorkerChild } from '../support/worker-process';
import { cookieHeader } from './session-fixtures';

@Injectable()
class LocalSessionConsumer {
  @Consumer('websocket.connect')
  @ChannelSession()
  async connect(message: Message): Promise<void> {
    message.channelSession!.set('seen', true);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('sessions and ordering over Redis, with two worker processes', () => {
  let redis: TestRedis;
  let direct: Redis;
  let app: INestApplicationContext;
  let layer: ChannelLayer;
  let workers: WorkerChild[] = [];
  const prefix = uniquePrefix('sessions');

  beforeAll(async () => {
    redis = await findOrStartRedis();
    const env = { REDIS_URL: redis.url, CHANNELS_PREFIX: prefix };
    Object.assign(process.env, env);
    workers = await Promise.all([1, 2].map(() => startWorkerProcess('test/fixtures/sessions-app.ts', env)));
    app = await (await Test.createTestingModule({ imports: [SessionsAppModule] }).compile()).init();
    layer = app.get(ChannelLayerRegistry).layer();
    direct = new Redis(redis.url);
    const store = new RedisSessionStore({ client: direct, prefix: `${prefix}sess:` });
    const session = {
      cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) },
      passport: { user: 'alice' },
    };
    await new Promise<void>((resolve, reject) =>
      store.set('sid-alice', session as unknown as SessionData, (error) => (error ? reject(error) : resolve())),
    );
  });
  afterAll(async () => {
    for (const { child } of workers) child.kill('SIGKILL');
    await app?.close();
    direct?.disconnect();
    await redis.stop();
  });

  async function reply(replyChannel: string): Promise<Record<string, unknown>> {
    const [channel, message] = await layer.receive([replyChannel.slice(0, replyChannel.indexOf('!') + 1)], {
      block: true,
      timeout: 5,
    });
    if (channel === null) throw new Error(`no reply on ${replyChannel}`);
    return message;
  }

  it('shares a channel session and its user between the worker processes', async () => {
    const replyChannel = 'redis-sessions.reply!count';
    await layer.send('websocket.connect', {
      path: '/count/',
      reply_channel: replyChannel,
      order: 0,
      headers: [cookieHeader('sid-alice', SESSIONS_SECRET)],
    });
    expect(await reply(replyChannel)).toEqual({ accept: true });
    const seen: Array<{ count: number; pid: number; user: unknown }> = [];
    for (let i = 1; i <= 16; i++) {
      await layer.send('websocket.receive', { path: '/count/', reply_channel: replyChannel, order: i, text: 'hi' });
      seen.push(JSON.parse((await reply(replyChannel)).text as string) as (typeof seen)[number]);
    }
    expect(seen.map((s) => s.count)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(new Set(seen.map((s) => s.user))).toEqual(new Set(['alice']));
    // Written by one process, read by the other: both took part.
    expect(new Set(seen.map((s) => s.pid)).size).toBe(2);
    // The session is stored under the hashed key, never the reply channel's name.
    const keys = await direct.keys(`${prefix}sess:*`);
    expect(keys.some((key) => key.includes('count'))).toBe(false);
  });

  it('runs frames sent out of order in order across both processes', async () => {
    const replyChannel = 'redis-sessions.other!ordered';
    const orders = Array.from({ length: 30 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    for (const order of orders) {
      await layer.send('websocket.receive', { path: '/ordered/', reply_channel: replyChannel, order });
    }
    const key = `${prefix}runs:${replyChannel}`;
    for (let i = 0; i < 300 && (await direct.llen(key)) < 30; i++) await sleep(20);
    const runs = (await direct.lrange(key, 0, -1)).map((entry) => entry.split(':').map(Number));
    expect(runs.map(([order]) => order)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(runs.map(([, pid]) => pid)).size).toBe(2);
  });
});

describe('channel sessions kept in one process, on a layer shared by several', () => {
  it('are warned about at start', async () => {
    const redis = await findOrStartRedis();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ChannelsModule.forRoot({
            layers: { default: { backend: 'redis', options: { hosts: [redis.url], prefix: uniquePrefix('warn') } } },
            worker: { enabled: false },
          }),
        ],
        providers: [LocalSessionConsumer],
      }).compile();
      const app = await moduleRef.init();
      await app.close();
      const warnings = warn.mock.calls.map(([text]) => String(text));
      expect(
        warnings.some((text) => /LocalSessionConsumer\.connect use channel sessions kept in this process/.test(text)),
      ).toBe(true);
    } finally {
      warn.mockRestore();
      await redis.stop();
    }
  });
});

import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Channel, ChannelLayerRegistry } from '../../src';
import { WorkerAppModule } from '../fixtures/worker-app';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';
import { startWorkerProcess, type WorkerChild } from '../support/worker-process';

describe('a worker in its own process, over Redis', () => {
  let redis: TestRedis;
  let app: INestApplicationContext;
  let worker: WorkerChild;
  const prefix = uniquePrefix('worker-process');

  beforeAll(async () => {
    redis = await findOrStartRedis();
    const env = { REDIS_URL: redis.url, CHANNELS_PREFIX: prefix };
    Object.assign(process.env, env);
    worker = await startWorkerProcess('test/fixtures/worker-app.ts', env);
    app = await (await Test.createTestingModule({ imports: [WorkerAppModule] }).compile()).init();
  });
  afterAll(async () => {
    worker.child.kill('SIGKILL');
    await app?.close();
    await redis.stop();
  });

  it('consumes what the app process sends and replies to it', async () => {
    const layer = app.get(ChannelLayerRegistry).layer();
    await new Channel('tasks.uppercase').send({ text: 'hello', reply_channel: 'web.reply!1' });
    const [channel, reply] = await layer.receive(['web.reply!'], { block: true, timeout: 10 });
    expect(channel).toBe('web.reply!1');
    expect(reply?.text).toBe('HELLO');
    expect(reply?.pid).toBe(worker.child.pid);
    expect(reply?.pid).not.toBe(process.pid);
  });

  it('finishes the consumer in flight when told to stop (SIGTERM), then exits cleanly', async () => {
    const layer = app.get(ChannelLayerRegistry).layer();
    await new Channel('tasks.uppercase').send({ text: 'last', delay: 500, reply_channel: 'web.reply!2' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.child.kill('SIGTERM');
    // Nest closes the app gracefully, then re-raises the signal to exit with it.
    const exit = await worker.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    // The reply comes after the signal: the consumer in flight was allowed to finish.
    const [, reply] = await layer.receive(['web.reply!'], { block: true, timeout: 5 });
    expect(reply?.text).toBe('LAST');
  });
});

import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Channel, ChannelLayerRegistry, type ChannelLayer } from '../../src';
import { WorkerAppModule } from '../fixtures/worker-app';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';
import { startWorkerProcess, type WorkerChild } from '../support/worker-process';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a worker killed with SIGKILL in the middle of a consumer', () => {
  let redis: TestRedis;
  let app: INestApplicationContext;
  let layer: ChannelLayer;
  const workers: WorkerChild[] = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    redis = await findOrStartRedis();
    env = { REDIS_URL: redis.url, CHANNELS_PREFIX: uniquePrefix('killed') };
    Object.assign(process.env, env);
    app = await (await Test.createTestingModule({ imports: [WorkerAppModule] }).compile()).init();
    layer = app.get(ChannelLayerRegistry).layer();
  });
  afterAll(async () => {
    for (const { child } of workers) child.kill('SIGKILL');
    await app?.close();
    await redis.stop();
  });

  it('leaves the other workers serving, and nothing waits on the dead one', async () => {
    const doomed = await startWorkerProcess('test/fixtures/worker-app.ts', env);
    workers.push(doomed);
    // The only worker takes the slow task, and is killed while running it.
    await new Channel('tasks.uppercase', layer).send({ text: 'slow', delay: 5000, reply_channel: 'web.reply!slow' });
    await sleep(500);
    const survivor = await startWorkerProcess('test/fixtures/worker-app.ts', env);
    workers.push(survivor);
    doomed.child.kill('SIGKILL');
    expect((await doomed.exited).signal).toBe('SIGKILL');

    for (let i = 0; i < 10; i++) {
      await new Channel('tasks.uppercase', layer).send({ text: `task ${i}`, reply_channel: `web.reply!${i}` });
    }
    const replies = new Map<string, unknown>();
    while (replies.size < 10) {
      const [channel, reply] = await layer.receive(['web.reply!'], { block: true, timeout: 10 });
      if (channel === null) throw new Error(`only ${replies.size} of 10 replies came`);
      expect(reply.pid).toBe(survivor.child.pid);
      replies.set(channel, reply.text);
    }
    expect([...replies.values()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `TASK ${i}`).sort());
    // At-most-once delivery: the task the dead worker held is gone, not redelivered twice or hung on.
    expect(replies.has('web.reply!slow')).toBe(false);
    expect(await layer.receive(['web.reply!'], { block: true, timeout: 1 })).toEqual([null, null]);
  }, 60_000);
});

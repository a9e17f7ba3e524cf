import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Channel, ChannelLayerRegistry } from '../../src';
import { WorkerAppModule } from '../fixtures/worker-app';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';

const root = join(__dirname, '..', '..');

type Exit = { code: number | null; signal: NodeJS.Signals | null };

function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; exited: Promise<Exit> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/worker-app.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker process did not start in 20 s')), 20_000);
    child.stdout?.on('data', (data: Buffer) => {
      if (data.toString().includes('worker ready')) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    });
    child.once('exit', (code) => reject(new Error(`the worker process exited with ${String(code)}`)));
  });
}

describe('a worker in its own process, over Redis', () => {
  let redis: TestRedis;
  let app: INestApplicationContext;
  let worker: { child: ChildProcess; exited: Promise<Exit> };
  const prefix = uniquePrefix('worker-process');

  beforeAll(async () => {
    redis = await findOrStartRedis();
    const env = { REDIS_URL: redis.url, CHANNELS_PREFIX: prefix };
    Object.assign(process.env, env);
    worker = await startWorkerProcess(env);
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

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ChannelsWorkerService } from '../../src';
import { ControllersAppModule } from '../fixtures/controllers-app';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';

async function listen(): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(ControllersAppModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe("http.mode 'all': every request over channels, controllers run by the worker", () => {
  it('serves the controllers through the in-process worker', async () => {
    const { app, url } = await listen();
    const consumers: string[] = [];
    app.get(ChannelsWorkerService).on('consumerFinished', (event) => consumers.push(event.consumer));
    try {
      expect(await (await fetch(`${url}/items?page=2`)).json()).toMatchObject({ items: ['a', 'b'], page: 2 });
      const created = await fetch(`${url}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tag': 't1' },
        body: JSON.stringify({ name: 'pen' }),
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({ created: 'pen', tag: 't1' });
      expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
      expect(consumers).toEqual(['Nest controllers', 'Nest controllers', 'Nest controllers']);
    } finally {
      await app.close();
    }
  });

  describe('with the interface and the worker in separate processes over Redis', () => {
    let redis: TestRedis;
    let worker: ChildProcess;
    const env = { CHANNELS_LAYER: 'redis', CHANNELS_PREFIX: uniquePrefix('controllers') };

    beforeAll(async () => {
      redis = await findOrStartRedis();
      Object.assign(env, { REDIS_URL: redis.url });
      worker = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/controllers-app.ts'], {
        cwd: join(__dirname, '..', '..'),
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the worker did not start')), 20_000);
        worker.stdout?.on('data', (data: Buffer) => {
          if (data.toString().includes('worker ready')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    });
    afterAll(async () => {
      worker.kill('SIGKILL');
      for (const key of Object.keys(env)) delete process.env[key];
      await redis.stop();
    });

    it('answers from the worker process', async () => {
      Object.assign(process.env, env, { CHANNELS_WORKER: 'off' });
      const { app, url } = await listen();
      try {
        const body = (await (await fetch(`${url}/items`)).json()) as { pid: number };
        expect(body.pid).toBe(worker.pid);
      } finally {
        await app.close();
        delete process.env.CHANNELS_WORKER;
      }
    });
  });
});

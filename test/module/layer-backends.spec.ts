// `backend: 'rabbitmq'` and `backend: 'ipc'` in ChannelsModule.forRoot: the layer each names, its
// options passed through, and a misconfiguration refused at bootstrap with the fix.
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  Consumer,
  IpcChannelLayer,
  LayerUnavailable,
  RabbitmqChannelLayer,
  type ChannelsModuleOptions,
} from '../../src';
import {
  cleanUpRabbitPrefixes,
  findOrStartRabbitmq,
  uniqueRabbitPrefix,
  type TestRabbitmq,
} from '../support/rabbitmq-server';
import { freePort } from '../support/redis-server';

@Injectable()
class Echo {
  @Consumer('backend.echo')
  echo(): void {}
}

async function withApp<T>(
  options: ChannelsModuleOptions,
  use: (registry: ChannelLayerRegistry) => Promise<T>,
): Promise<T> {
  const moduleRef = await Test.createTestingModule({
    imports: [ChannelsModule.forRoot({ worker: { enabled: false }, ...options })],
    providers: [Echo],
  }).compile();
  const app = await moduleRef.init();
  try {
    return await use(app.get(ChannelLayerRegistry));
  } finally {
    await app.close();
  }
}

describe("backend: 'ipc'", () => {
  const folder = mkdtempSync(join(tmpdir(), 'channels-backend-ipc-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('makes an IpcChannelLayer on the given path, with the given options', async () => {
    const path = join(folder, 'layer.db');
    await withApp({ layers: { default: { backend: 'ipc', options: { path, capacity: 7 } } } }, async (registry) => {
      const layer = registry.layer();
      expect(layer).toBeInstanceOf(IpcChannelLayer);
      expect(layer.capacity).toBe(7);
      await layer.send('backend.check', { n: 1 });
      // Another layer on the same path (another process would do the same) reads it.
      const other = new IpcChannelLayer({ path });
      try {
        expect(await other.receive(['backend.check'])).toEqual(['backend.check', { n: 1 }]);
      } finally {
        await other.close();
      }
    });
  });

  it('refuses to start without a path, saying what to give', async () => {
    await expect(withApp({ layers: { default: { backend: 'ipc' } } }, async () => undefined)).rejects.toThrow(
      /IpcChannelLayer needs `path`/,
    );
  });
});

describe("backend: 'rabbitmq'", () => {
  let rabbitmq: TestRabbitmq;
  beforeAll(async () => {
    rabbitmq = await findOrStartRabbitmq();
  });
  afterAll(async () => {
    await cleanUpRabbitPrefixes(rabbitmq.url);
    await rabbitmq.stop();
  });

  it('makes a RabbitmqChannelLayer on the given broker and prefix, ready at bootstrap', async () => {
    const prefix = uniqueRabbitPrefix('backend');
    await withApp(
      { layers: { default: { backend: 'rabbitmq', options: { url: rabbitmq.url, prefix }, waitForReady: 10 } } },
      async (registry) => {
        const layer = registry.layer();
        expect(layer).toBeInstanceOf(RabbitmqChannelLayer);
        await layer.send('backend.check', { n: 2 });
        expect(await layer.receive(['backend.check'], { block: true, timeout: 5 })).toEqual([
          'backend.check',
          { n: 2 },
        ]);
      },
    );
  });

  it('fails the bootstrap with waitForReady when no broker answers', async () => {
    const port = await freePort();
    const started = withApp(
      {
        layers: {
          default: { backend: 'rabbitmq', options: { url: `amqp://guest:guest@127.0.0.1:${port}` }, waitForReady: 0.5 },
        },
      },
      async () => undefined,
    );
    await expect(started).rejects.toBeInstanceOf(LayerUnavailable);
  });
});

// Port of channels 1.1.8 tests/test_management.py (RunWorkerTests, RunServerTests): the cases that
// have a counterpart in the package's `runworker` / `runserver` (`runWorker` / `runServer`, which
// the CLI calls with its parsed options). The original replaced the Worker and the Daphne server
// with mocks and checked the arguments they were built with; here the real worker and server run,
// and what those arguments decide is checked on them. The Django-only cases (DEBUG and
// staticfiles, the action log) are listed in COVERAGE.md.
import { Injectable, Module, type Type } from '@nestjs/common';
import {
  ChannelsModule,
  ChannelsWorkerService,
  Consumer,
  runServer,
  runWorker,
  type ChannelsModuleRootOptions,
} from '../../../src';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../../support/redis-server';

@Injectable()
class Consumers {
  @Consumer('test.channel')
  onDefault(): void {}
}

@Injectable()
class FakeChannelConsumers {
  @Consumer('test.other', {}, { layer: 'fake_channel' })
  onFake(): void {}
}

/** An app module as the command loads it (tests/settings.py's CHANNEL_LAYERS → `layers`). */
function appModule(options: ChannelsModuleRootOptions, providers: Type[] = [Consumers]): Type {
  @Module({ imports: [ChannelsModule.forRoot(options)], providers })
  class AppModule {}
  return AppModule;
}

describe('RunWorkerTests (channels 1.1.8 tests/test_management.py)', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await findOrStartRedis();
  });
  afterAll(() => redis.stop());

  /**
   * tests/settings.py: `default` is the in-memory layer, `fake_channel` a layer that is not (the
   * original subclassed the in-memory layer to get past runworker's check; here it is a Redis layer).
   */
  const layers = (): ChannelsModuleRootOptions['layers'] => ({
    default: { backend: 'memory' },
    fake_channel: { backend: 'redis', options: { hosts: [redis.url], prefix: uniquePrefix('peer-mgmt') } },
  });

  it('test_runworker_no_local_only: runworker fails with the default in-memory layer', async () => {
    // call_command('runworker') raises CommandError: a worker process cannot share an in-memory layer.
    let started: Awaited<ReturnType<typeof runWorker>> | undefined;
    let error: unknown;
    try {
      started = await runWorker(appModule({ layers: { default: { backend: 'memory' } } }), { nest: { logger: false } });
    } catch (caught) {
      error = caught;
    } finally {
      await started?.app.close();
    }
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toMatch(/memory|process/i); // refused for its layer, not for another reason
  });

  it('test_runworker: runworker --layer runs one worker on that layer, with no channel filters', async () => {
    // call_command('runworker', '--layer', 'fake_channel') → Worker(channel_layer=<fake_channel>,
    // only_channels=None, exclude_channels=None, callback=None). Without `-v` the CLI attaches no
    // per-consumer callback; that is not observable from here and is not checked.
    const { app, worker } = await runWorker(appModule({ layers: layers() }, [Consumers, FakeChannelConsumers]), {
      layers: ['fake_channel'],
      nest: { logger: false },
    });
    try {
      expect(worker.workers.map((w) => w.alias)).toEqual(['fake_channel']);
      expect(worker.workers[0].channels).toEqual(['test.other']); // every routed channel: no filters
    } finally {
      await app.close();
    }
  });
});

describe('RunServerTests (channels 1.1.8 tests/test_management.py)', () => {
  it('test_runserver_basic: runserver serves on 127.0.0.1:8000 by default', async () => {
    // server_cls(endpoints=['tcp:port=8000:interface=127.0.0.1'], http_timeout=60, ws_protocols=None,
    // root_path='', websocket_handshake_timeout=5, ...): the endpoint is checked on the running app;
    // the timeouts are durations (not asserted) and the other defaults are not exposed.
    const app = await runServer(appModule({}), { nest: { logger: false } });
    try {
      expect(await app.getUrl()).toBe('http://127.0.0.1:8000');
    } finally {
      await app.close();
    }
  });

  it('test_runserver_noworker: runserver --noworker runs no worker', async () => {
    // call_command('runserver', '--noreload', '--noworker'); port 0 instead of 8000 so the test
    // does not depend on 8000 being free (the endpoint is test_runserver_basic's).
    const app = await runServer(appModule({}), { noWorker: true, port: 0, nest: { logger: false } });
    try {
      expect(app.get(ChannelsWorkerService, { strict: false }).workers).toHaveLength(0);
    } finally {
      await app.close();
    }
  });
});

// Port of channels 1.1.8 tests/test_worker.py (WorkerTests).
import { Test, type TestingModule } from '@nestjs/testing';
import {
  Channel,
  ChannelsModule,
  ChannelsWorkerService,
  ConsumeLater,
  InMemoryChannelLayer,
  route,
  Router,
  Worker,
  type ChannelMessage,
  type ConsumerFunction,
} from '../../../src';

/**
 * The original proxied `channel_layer.send` with a counting mock; here the layer itself counts:
 * a real in-memory layer given to the module as its backend instance.
 */
class CountingLayer extends InMemoryChannelLayer {
  sendCount = 0;

  override async send(channel: string, message: ChannelMessage): Promise<void> {
    this.sendCount++;
    return super.send(channel, message);
  }
}

/** An app (ChannelTestCase) whose default layer is `layer`, routing `test` to `consumer`; the worker starts later. */
async function startApp(layer: InMemoryChannelLayer, consumer: ConsumerFunction): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ChannelsModule.forRoot({
        layers: { default: { backend: layer, routing: [route('test', consumer)] } },
        worker: { enabled: false },
      }),
    ],
  }).compile();
  return moduleRef.init();
}

/**
 * Runs the worker until `runs` consumers have finished, then stops it (the original's
 * PatchedWorker ran a set number of loops).
 */
async function runWorker(app: TestingModule, runs: number): Promise<void> {
  const workers = app.get(ChannelsWorkerService);
  let finished = 0;
  const done = new Promise<void>((resolve) =>
    workers.on('consumerFinished', () => {
      if (++finished === runs) resolve();
    }),
  );
  workers.start();
  await done;
  await workers.stop();
}

describe('WorkerTests (channels 1.1.8 tests/test_worker.py)', () => {
  it('test_channel_filters: only_channels and exclude_channels select the channels listened on', () => {
    // Worker(None, only_channels=...).apply_channel_filters(names): here a Worker takes its channel
    // names from a router, and `worker.channels` is what the filters let through. The router lists
    // its channels sorted, so the expected lists are compared as sets (their order means nothing).
    const layer = new InMemoryChannelLayer();
    const noop: ConsumerFunction = () => undefined;
    const filtered = (names: string[], options: { onlyChannels?: string[]; excludeChannels?: string[] }): Set<string> =>
      new Set(new Worker(layer, new Router(names.map((name) => route(name, noop))), options).channels);
    // Include
    expect(filtered(['yes.1', 'no.1'], { onlyChannels: ['yes.*', 'maybe.*'] })).toEqual(new Set(['yes.1']));
    expect(filtered(['yes.1', 'no.1', 'maybe.2', 'yes'], { onlyChannels: ['yes.*', 'maybe.*'] })).toEqual(
      new Set(['yes.1', 'maybe.2']),
    );
    // Exclude
    expect(filtered(['yes.1', 'no.1', 'maybe.2', 'yes'], { excludeChannels: ['no.*', 'maybe.*'] })).toEqual(
      new Set(['yes.1', 'yes']),
    );
    // Both
    expect(
      filtered(['yes.1', 'no.1', 'maybe.2', 'yes'], { excludeChannels: ['no.*'], onlyChannels: ['yes.*'] }),
    ).toEqual(new Set(['yes.1']));
    void layer.close();
  });

  it('test_run_with_consume_later_error: ConsumeLater requeues the message once, and it runs again', async () => {
    let callCount = 0;
    // consumer with ConsumeLater error at first call
    const consumer: ConsumerFunction = () => {
      callCount++;
      if (callCount === 1) throw new ConsumeLater();
    };
    const layer = new CountingLayer();
    const app = await startApp(layer, consumer);
    try {
      await new Channel('test').send({ test: 'test' }, { immediately: true });
      layer.sendCount = 0; // the original started counting after this send
      await runWorker(app, 2); // first run with error, second with sending
      expect(callCount).toBe(2);
      expect(layer.sendCount).toBe(1);
    } finally {
      await app.close();
      await layer.close();
    }
  });

  it('test_normal_run: the consumer runs once and nothing is sent', async () => {
    const consumer = jest.fn();
    const layer = new CountingLayer();
    const app = await startApp(layer, consumer);
    try {
      await new Channel('test').send({ test: 'test' }, { immediately: true });
      layer.sendCount = 0;
      await runWorker(app, 1);
      expect(consumer).toHaveBeenCalledTimes(1);
      expect(layer.sendCount).toBe(0);
    } finally {
      await app.close();
      await layer.close();
    }
  });
});

import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  ChannelsWorkerService,
  ConsumeLater,
  Consumer,
  InMemoryChannelLayer,
  type ChannelLayerOptions,
  type ChannelsModuleOptions,
  type Message,
  type ReceiveOptions,
  type ReceiveResult,
} from '../../src';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A third-party-style layer class: counts receive calls. */
class CountingLayer extends InMemoryChannelLayer {
  receives = 0;
  constructor(options?: ChannelLayerOptions) {
    super(options);
  }
  override receive(channels: readonly string[], options?: ReceiveOptions): Promise<ReceiveResult> {
    this.receives++;
    return super.receive(channels, options);
  }
}

@Injectable()
class SlowConsumers {
  running = 0;
  maxRunning = 0;
  done = 0;
  laterRuns = 0;

  @Consumer('slow.task')
  async slow(): Promise<void> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await sleep(30);
    this.running--;
    this.done++;
  }

  @Consumer('full.later')
  async later(message: Message): Promise<void> {
    this.laterRuns++;
    if (message.content.filler) return;
    // Fill the channel (capacity 1) so the requeue finds it full.
    await this.registryLayer?.send('full.later', { filler: true });
    throw new ConsumeLater();
  }

  registryLayer?: InMemoryChannelLayer;
}

describe('the worker loop', () => {
  let app: INestApplicationContext;

  async function start(
    layers: ChannelsModuleOptions['layers'],
    worker: ChannelsModuleOptions['worker'],
  ): Promise<SlowConsumers> {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ layers, worker })],
      providers: [SlowConsumers],
    }).compile();
    app = await moduleRef.init();
    return app.get(SlowConsumers);
  }
  afterEach(() => app.close());

  it('runs at most `concurrency` consumers at once', async () => {
    const consumers = await start({ default: {} }, { concurrency: 2 });
    const layer = app.get(ChannelLayerRegistry).layer();
    for (let i = 0; i < 6; i++) await layer.send('slow.task', { i });
    for (let i = 0; i < 100 && consumers.done < 6; i++) await sleep(20);
    expect(consumers.done).toBe(6);
    expect(consumers.maxRunning).toBe(2);
  });

  it('uses a layer class given as the backend, and blocks instead of polling when idle', async () => {
    await start({ default: { backend: CountingLayer, options: { capacity: 9 } } }, {});
    const layer = app.get(ChannelLayerRegistry).layer() as CountingLayer;
    expect(layer).toBeInstanceOf(CountingLayer);
    expect(layer.capacity).toBe(9);
    await sleep(500);
    // One blocking receive (5 s timeout) per receive loop covers the idle time.
    const loops = app.get(ChannelsWorkerService).workers[0].receiveLoops;
    expect(loops).toBeGreaterThanOrEqual(1);
    expect(layer.receives).toBe(loops);
  });

  it('logs a requeue that finds the channel full and goes on', async () => {
    // One consumer at a time, so the loop cannot drain the channel while the requeue retries.
    const consumers = await start({ default: { options: { capacity: 1 } } }, { concurrency: 1 });
    const layer = app.get(ChannelLayerRegistry).layer() as InMemoryChannelLayer;
    consumers.registryLayer = layer;
    const finished: unknown[] = [];
    app.get(ChannelsWorkerService).on('consumerFinished', (event) => finished.push(event.error));
    await layer.send('full.later', {});
    for (let i = 0; i < 100 && finished.length < 2; i++) await sleep(20);
    // The original was dropped after its requeue failed; the filler that filled the channel ran.
    expect(finished).toHaveLength(2);
    expect(finished[0]).toBeInstanceOf(ConsumeLater);
    expect(finished[1]).toBeUndefined();
    expect(consumers.laterRuns).toBe(2);
    await layer.send('slow.task', {});
    for (let i = 0; i < 100 && consumers.done < 1; i++) await sleep(20);
    expect(consumers.done).toBe(1);
  });
});

import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  Channel,
  ChannelLayerRegistry,
  ChannelsModule,
  ChannelsWorkerService,
  ConsumeLater,
  Consumer,
  DenyConnection,
  Group,
  InMemoryChannelLayer,
  Message,
  WebsocketCloseException,
  type ChannelLayer,
} from '../../src';
import { Client, useCaptiveChannelLayers } from '../../src/testing';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class Consumers {
  seenDuringConsumer: Array<[string | null, unknown]> = [];
  laterRuns = 0;
  gate: Promise<void> = Promise.resolve();

  constructor(private readonly registry: ChannelLayerRegistry) {}

  @Consumer('task.send')
  async sendsTwice(message: Message): Promise<void> {
    await new Channel('out').send({ n: 1 });
    await new Group('watchers').send({ n: 2 });
    // Nothing has left yet: the sends are held until the consumer finishes.
    this.seenDuringConsumer.push(await this.registry.layer().receive(['out']));
    if (message.content.fail) throw new Error('consumer failed after sending');
  }

  @Consumer('task.immediate')
  async immediate(): Promise<void> {
    await new Channel('out').send({ now: true }, { immediately: true });
    this.seenDuringConsumer.push(await this.registry.layer().receive(['out']));
  }

  @Consumer('task.slow')
  async slow(): Promise<void> {
    await this.gate;
    await new Channel('out').send({ finished: true });
  }

  @Consumer('task.later')
  later(message: Message): void {
    this.laterRuns++;
    if (!message.content.ok) throw new ConsumeLater();
  }

  @Consumer('websocket.connect', { path: /^\/deny\/$/ })
  deny(): void {
    throw new DenyConnection();
  }

  @Consumer('websocket.receive')
  close(message: Message): void {
    throw new WebsocketCloseException(message.content.code as number);
  }
}

describe('consumer atomicity and exceptions (test client)', () => {
  let app: INestApplicationContext;
  let client: Client;
  let layer: ChannelLayer;
  let consumers: Consumers;

  beforeEach(async () => {
    const builder = Test.createTestingModule({ imports: [ChannelsModule.forRoot()], providers: [Consumers] });
    app = await (await useCaptiveChannelLayers(builder).compile()).init();
    client = new Client(app);
    layer = app.get(ChannelLayerRegistry).layer();
    consumers = app.get(Consumers);
    await layer.groupAdd!('watchers', 'watcher');
  });
  afterEach(() => app.close());

  it('holds sends until the consumer finishes, then sends them in order', async () => {
    await client.sendAndConsume('task.send');
    expect(consumers.seenDuringConsumer).toEqual([[null, null]]);
    expect(await layer.receive(['out'])).toEqual(['out', { n: 1 }]);
    expect(await layer.receive(['watcher'])).toEqual(['watcher', { n: 2 }]);
  });

  it('still sends what it held when the consumer throws', async () => {
    await expect(client.sendAndConsume('task.send', { fail: true })).rejects.toThrow('consumer failed after sending');
    expect(await layer.receive(['out'])).toEqual(['out', { n: 1 }]);
  });

  it('sends at once with immediately, and outside consumers', async () => {
    await client.sendAndConsume('task.immediate');
    expect(consumers.seenDuringConsumer).toEqual([['out', { now: true }]]);
    await new Channel('out').send({ outside: true });
    expect(await layer.receive(['out'])).toEqual(['out', { outside: true }]);
  });

  it('refuses a connection with DenyConnection and closes with WebsocketCloseException', async () => {
    await client.sendAndConsume('websocket.connect', { path: '/deny/' });
    expect(await client.receive()).toEqual({ close: true });
    await client.sendAndConsume('websocket.receive', { path: '/x', code: 4001 });
    expect(await client.receive()).toEqual({ close: 4001 });
    expect(() => new WebsocketCloseException(99)).toThrow(TypeError);
  });

  it('lets ConsumeLater and missing routes surface in the test client', async () => {
    await expect(client.sendAndConsume('task.later')).rejects.toBeInstanceOf(ConsumeLater);
    await expect(client.sendAndConsume('websocket.connect', { path: '/nowhere/' })).rejects.toThrow(/No consumer/);
    await expect(client.consume('task.later')).rejects.toThrow(/none/);
    expect(await client.consume('task.later', { failOnNone: false })).toBe(false);
  });
});

describe('the in-process worker', () => {
  let app: INestApplicationContext;
  let layer: InMemoryChannelLayer;

  afterEach(async () => {
    await app.close(); // a second close is a no-op
    await layer.close();
  });

  async function start(worker = {}): Promise<Consumers> {
    layer = new InMemoryChannelLayer();
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ layers: { default: { backend: layer } }, worker })],
      providers: [Consumers],
    }).compile();
    app = await moduleRef.init();
    return app.get(Consumers);
  }

  it('puts a ConsumeLater message back, and drops it after 10 retries', async () => {
    const consumers = await start();
    const finished: unknown[] = [];
    app.get(ChannelsWorkerService).on('consumerFinished', (event) => finished.push(event.error));
    await layer.send('task.later', {});
    for (let i = 0; i < 100 && finished.length < 11; i++) await sleep(20);
    await sleep(100);
    expect(consumers.laterRuns).toBe(11);
    expect(finished.every((error) => error instanceof ConsumeLater)).toBe(true);
    expect(await layer.receive(['task.later'])).toEqual([null, null]);
  });

  it('runs a requeued message once it can be consumed', async () => {
    const consumers = await start();
    await layer.send('task.later', { ok: true });
    for (let i = 0; i < 50 && consumers.laterRuns < 1; i++) await sleep(10);
    expect(consumers.laterRuns).toBe(1);
  });

  it('logs a failing consumer and goes on; flushes its held sends', async () => {
    await start();
    await layer.groupAdd('watchers', 'watcher');
    await layer.send('task.send', { fail: true });
    await layer.send('task.send', {});
    expect(await layer.receive(['out'], { block: true, timeout: 2 })).toEqual(['out', { n: 1 }]);
    expect(await layer.receive(['out'], { block: true, timeout: 2 })).toEqual(['out', { n: 1 }]);
  });

  it('lets in-flight consumers finish and flush at shutdown', async () => {
    const consumers = await start();
    let release!: () => void;
    consumers.gate = new Promise<void>((resolve) => (release = resolve));
    const started = new Promise<void>((resolve) =>
      app.get(ChannelsWorkerService).once('consumerStarted', () => resolve()),
    );
    await layer.send('task.slow', {});
    await started;
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await sleep(50);
    expect(closed).toBe(false);
    release();
    await closing;
    expect(await layer.receive(['out'])).toEqual(['out', { finished: true }]);
  });

  it('runs no worker when disabled', async () => {
    await start({ enabled: false });
    expect(app.get(ChannelsWorkerService).workers).toHaveLength(0);
    await layer.send('task.send', {});
    await sleep(50);
    expect(await layer.receive(['task.send'])).toEqual(['task.send', {}]);
  });

  it('listens only on the channels only/exclude leave', async () => {
    await start({ onlyChannels: ['task.*'], excludeChannels: ['task.later'] });
    expect(app.get(ChannelsWorkerService).workers[0].channels).toEqual(['task.immediate', 'task.send', 'task.slow']);
  });
});

describe('sends from work a consumer leaves behind', () => {
  it('go out at once once the consumer has finished (a timer it started, say)', async () => {
    const layer = new InMemoryChannelLayer();
    @Injectable()
    class Later {
      @Consumer('later.timer')
      start(): void {
        setTimeout(() => void new Channel('later.out', layer).send({ fired: true }), 50);
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ layers: { default: { backend: layer } } })],
      providers: [Later],
    }).compile();
    const app = await moduleRef.init();
    await layer.send('later.timer', {});
    expect(await layer.receive(['later.out'], { block: true, timeout: 2 })).toEqual(['later.out', { fired: true }]);
    await app.close();
    await layer.close();
  });
});

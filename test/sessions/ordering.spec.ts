import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ChannelLayerRegistry,
  ChannelSession,
  ChannelsModule,
  ChannelsWorkerService,
  ConsumerSessions,
  Consumer,
  EnforceOrdering,
  NEXT_ORDER_KEY,
  waitChannelOf,
  type ChannelLayer,
  type Message,
} from '../../src';
import { Client } from '../../src/testing';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const PATH = '/ordered/';

@Injectable()
class OrderedConsumers {
  readonly runs = new Map<string, number[]>();

  @Consumer('websocket.connect', { path: PATH })
  @EnforceOrdering()
  async connect(message: Message): Promise<void> {
    this.record(message);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: PATH })
  @EnforceOrdering()
  async receive(message: Message): Promise<void> {
    // Random delays, so consumers running at once would finish out of order if nothing held them.
    await sleep(Math.random() * 5);
    this.record(message);
    if (message.content.text === 'boom') throw new Error('this frame fails');
  }

  @Consumer('websocket.receive', { path: '/plain-connect/' })
  @EnforceOrdering()
  @ChannelSession()
  async afterUnorderedConnect(message: Message): Promise<void> {
    this.record(message);
  }

  private record(message: Message): void {
    const reply = message.replyChannel!.name;
    this.runs.set(reply, [...(this.runs.get(reply) ?? []), message.content.order as number]);
  }
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

describe('@EnforceOrdering', () => {
  let app: INestApplicationContext;
  let layer: ChannelLayer;
  let consumers: OrderedConsumers;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ worker: { concurrency: 16 } })],
      providers: [OrderedConsumers],
    }).compile();
    app = await moduleRef.init();
    layer = app.get(ChannelLayerRegistry).layer();
    consumers = app.get(OrderedConsumers);
  });
  afterEach(() => app.close());

  async function until(check: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 250 && !check(); i++) await sleep(20);
    if (!check()) throw new Error(`timed out waiting for ${what}`);
  }

  it('runs frames delivered out of order, to concurrent consumers, in order — per connection', async () => {
    const replies = ['ord.reply!one', 'ord.reply!two', 'ord.reply!three'];
    for (const reply of replies) await layer.send('websocket.connect', { path: PATH, reply_channel: reply, order: 0 });
    const frames = replies.flatMap((reply) =>
      Array.from({ length: 25 }, (_, i) => ({ path: PATH, reply_channel: reply, order: i + 1, text: `f${i + 1}` })),
    );
    for (const frame of shuffled(frames)) await layer.send('websocket.receive', frame);
    await until(() => replies.every((r) => consumers.runs.get(r)?.length === 26), 'every frame to run');
    for (const reply of replies) {
      expect(consumers.runs.get(reply)).toEqual(Array.from({ length: 26 }, (_, i) => i));
    }
    // Nothing is left waiting.
    for (const reply of replies) expect(await layer.receive([waitChannelOf(reply)])).toEqual([null, null]);
  });

  it('names the wait channel after the reply channel, `!` as `?`', () => {
    expect(waitChannelOf('test-reply!b')).toBe('__wait__.test-reply?b');
  });

  it('does not stall the connection when an in-order frame throws', async () => {
    const reply = 'ord.reply!boom';
    await layer.send('websocket.connect', { path: PATH, reply_channel: reply, order: 0 });
    for (const order of [3, 2, 1]) {
      await layer.send('websocket.receive', {
        path: PATH,
        reply_channel: reply,
        order,
        text: order === 1 ? 'boom' : '',
      });
    }
    await until(() => consumers.runs.get(reply)?.length === 4, 'the frames after the failing one');
    expect(consumers.runs.get(reply)).toEqual([0, 1, 2, 3]);
  });

  it('does not need the connect consumer to be ordered', async () => {
    const reply = 'ord.reply!plain';
    for (const order of [2, 1])
      await layer.send('websocket.receive', { path: '/plain-connect/', reply_channel: reply, order });
    await until(() => consumers.runs.get(reply)?.length === 2, 'both frames');
    expect(consumers.runs.get(reply)).toEqual([1, 2]);
  });

  it('rejects a message without an integer order, and drops a duplicate', async () => {
    await app.get(ChannelsWorkerService).stop(); // the test client runs the consumers here
    const client = new Client(app);
    await expect(client.sendAndConsume('websocket.receive', { path: PATH, text: 'x' })).rejects.toThrow(
      /needs an integer "order"/,
    );
    await expect(client.sendAndConsume('websocket.receive', { path: PATH, order: 'one' })).rejects.toThrow(
      /needs an integer "order"/,
    );
    await client.sendAndConsume('websocket.connect', { path: PATH, order: 0 });
    await client.sendAndConsume('websocket.receive', { path: PATH, order: 1 });
    await client.sendAndConsume('websocket.receive', { path: PATH, order: 1 });
    expect(consumers.runs.get(client.replyChannel)).toEqual([0, 1]);
    expect(await layer.receive([waitChannelOf(client.replyChannel)])).toEqual([null, null]);
    const session = await app.get(ConsumerSessions).channelSessionFor(client.replyChannel);
    expect(session.get(NEXT_ORDER_KEY)).toBe(2);
  });
});

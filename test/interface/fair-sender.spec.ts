import { ChannelFull, InMemoryChannelLayer, type ChannelMessage } from '../../src';
import {
  FairSender,
  type FairGiveUp,
  type FairQueue,
  type FairSendFailure,
} from '../../src/interface/common/fair-sender';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Drains `channel` as a worker would, returning the `from`/`n` of each message in arrival order. */
async function drain(layer: InMemoryChannelLayer, channel: string): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const [name, message] = await layer.receive([channel]);
    if (name === null) return got;
    got.push(`${String(message.from)}${String(message.n)}`);
  }
}

function owner(): { failures: FairGiveUp[]; sent: number; failed(q: FairQueue, f: FairGiveUp): void; sentOne(): void } {
  const record = {
    failures: [] as FairGiveUp[],
    sent: 0,
    failed: (_q: FairQueue, failure: FairGiveUp) => record.failures.push(failure),
    sentOne: () => record.sent++,
  };
  return record;
}

describe('FairSender', () => {
  let layer: InMemoryChannelLayer;
  afterEach(() => layer.close());

  it("keeps each queue's order and lets queues take turns", async () => {
    layer = new InMemoryChannelLayer({ capacity: 1000 });
    const sender = new FairSender(layer, 1000);
    const a = sender.queue({ failed: () => undefined }, 1000);
    const b = sender.queue({ failed: () => undefined }, 1000);
    for (let n = 0; n < 300; n++) a.push('work', { from: 'a', n });
    for (let n = 0; n < 2; n++) b.push('work', { from: 'b', n });
    await sender.whenIdle(1000);
    const order = await drain(layer, 'work');
    expect(order.filter((m) => m.startsWith('a'))).toEqual(Array.from({ length: 300 }, (_, n) => `a${n}`));
    expect(order.filter((m) => m.startsWith('b'))).toEqual(['b0', 'b1']);
    // b did not wait for all of a: a's turn is one send (a batch of at most 64), then b's comes.
    expect(order.indexOf('b1')).toBeLessThan(order.indexOf('a100'));
  });

  it('holds messages while the channel is full instead of failing them, and sends them, in order, once there is room', async () => {
    layer = new InMemoryChannelLayer({ capacity: 2 });
    const sender = new FairSender(layer);
    const flooder = owner();
    const queue = sender.queue({ failed: flooder.failed, sent: flooder.sentOne }, 5000);
    for (let n = 0; n < 6; n++) queue.push('work', { from: 'f', n });
    await sleep(30);
    expect(queue.pending).toBe(4); // two in the channel, the rest waiting here
    const received: string[] = [];
    while (received.length < 6) {
      const [, message] = await layer.receive(['work'], { block: true, timeout: 2 });
      received.push(`f${String((message as ChannelMessage).n)}`);
    }
    expect(received).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
    expect(flooder.failures).toEqual([]);
    expect(flooder.sent).toBe(6);
  });

  it("gives a newcomer the next free slot ahead of a flooder's backlog", async () => {
    layer = new InMemoryChannelLayer({ capacity: 1 });
    const sender = new FairSender(layer);
    const flooder = sender.queue({ failed: () => undefined }, 5000);
    for (let n = 0; n < 20; n++) flooder.push('work', { from: 'f', n });
    await sleep(20);
    const bystander = sender.queue({ failed: () => undefined }, 5000);
    bystander.push('work', { from: 'b', n: 0 });
    const order: string[] = [];
    while (!order.includes('b0')) {
      const [, message] = await layer.receive(['work'], { block: true, timeout: 2 });
      order.push(`${String(message!.from)}${String(message!.n)}`);
    }
    // f0 held the channel; b0 takes the first slot that frees up, not the 21st.
    expect(order.indexOf('b0')).toBeLessThanOrEqual(2);
  });

  it('gives up on a queue whose next message waited longer than its maxWait, telling each message and the owner', async () => {
    layer = new InMemoryChannelLayer({ capacity: 1 });
    const sender = new FairSender(layer);
    const record = owner();
    const queue = sender.queue({ failed: record.failed }, 100);
    const outcomes: Array<FairSendFailure | undefined> = [];
    for (let n = 0; n < 3; n++) queue.push('work', { n }, 0, (failure) => outcomes.push(failure));
    await sleep(400);
    expect(outcomes).toEqual([undefined, { reason: 'full', channel: 'work' }, { reason: 'full', channel: 'work' }]);
    expect(record.failures).toEqual([{ reason: 'full', channel: 'work' }]);
    expect(queue.pending).toBe(0);
    expect(sender.pending).toBe(0);
  });

  it('fails a message the layer refuses for another reason at once, with that error', async () => {
    layer = new InMemoryChannelLayer({ maxMessageSize: 100 });
    const sender = new FairSender(layer);
    const record = owner();
    const queue = sender.queue({ failed: record.failed }, 1000);
    queue.push('work', { text: 'x'.repeat(500) });
    await sleep(20);
    expect(record.failures).toHaveLength(1);
    expect(record.failures[0]).toMatchObject({ reason: 'error', channel: 'work' });
    expect((record.failures[0] as { error: Error }).error.name).toBe('MessageTooLarge');
  });

  it('probes a full channel with one message at a time, not with every waiting queue', async () => {
    layer = new InMemoryChannelLayer({ capacity: 1 });
    let sends = 0;
    const send = layer.send.bind(layer);
    layer.send = (channel, message) => {
      sends++;
      return send(channel, message);
    };
    const sender = new FairSender(layer);
    const queues = Array.from({ length: 50 }, () => sender.queue({ failed: () => undefined }, 5000));
    // The second message finds the channel full: from then on the sender knows it is.
    queues[0].push('work', { n: 0 });
    queues[0].push('work', { n: 1 });
    await sleep(10);
    const before = sends;
    for (const queue of queues.slice(1)) queue.push('work', { n: 2 });
    await sleep(300);
    // The channel stayed full for 300 ms: a handful of probes, not 50 sends per retry.
    expect(sends - before).toBeGreaterThan(2);
    expect(sends - before).toBeLessThan(15);
    expect(queues.every((queue) => queue.pending === 1)).toBe(true);
  });

  it('keeps going when the queue chosen to probe a full channel was cleared, or now waits for another channel', async () => {
    let full = true;
    const sent: string[] = [];
    const stub = {
      send: async (channel: string, message: ChannelMessage) => {
        if (full && channel === 'work') throw new ChannelFull(channel);
        sent.push(String(message.id));
      },
    } as unknown as InMemoryChannelLayer;
    layer = new InMemoryChannelLayer();
    const sender = new FairSender(stub);
    const flooder = sender.queue({ failed: () => undefined }, 10_000);
    const bystander = sender.queue({ failed: () => undefined }, 10_000);
    flooder.push('work', { id: 'flood' });
    await sleep(1);
    bystander.push('work', { id: 'b' });
    // The flooder is closed for flooding: its frames go, its disconnect (another channel) follows.
    flooder.clear();
    flooder.push('bye', { id: 'disconnect' });
    full = false;
    await sender.whenIdle(2000);
    expect(sent.sort()).toEqual(['b', 'disconnect']);
    expect(sender.pending).toBe(0);
  });

  it('keeps at most `standing` of its messages unread in a channel, so a newcomer waits behind few', async () => {
    layer = new InMemoryChannelLayer({ capacity: 1000 });
    const sender = new FairSender(layer, 8);
    const flooder = sender.queue({ failed: () => undefined }, 5000);
    for (let n = 0; n < 100; n++) flooder.push('work', { from: 'f', n });
    await sleep(20);
    expect((await layer.channelStatistics('work')).messages_pending).toBe(8);
    const bystander = sender.queue({ failed: () => undefined }, 5000);
    bystander.push('work', { from: 'b', n: 0 });
    // A worker reads the channel: the flooder's rest follows as room frees up, in order.
    const order: string[] = [];
    while (order.length < 101) {
      const [, message] = await layer.receive(['work'], { block: true, timeout: 2 });
      order.push(`${String(message!.from)}${String(message!.n)}`);
    }
    // Behind the flooder's standing 8, and at most its half of the room that freed up (8 / 2).
    expect(order.indexOf('b0')).toBeLessThanOrEqual(12);
    expect(order.filter((m) => m.startsWith('f'))).toEqual(Array.from({ length: 100 }, (_, n) => `f${n}`));
  });

  it('holds nobody back on a layer without statistics', async () => {
    layer = new InMemoryChannelLayer({ capacity: 1000 });
    const bare = {
      send: layer.send.bind(layer),
    } as unknown as InMemoryChannelLayer;
    const sender = new FairSender(bare, 8);
    const queue = sender.queue({ failed: () => undefined }, 5000);
    for (let n = 0; n < 100; n++) queue.push('work', { n });
    await sender.whenIdle(1000);
    expect((await layer.channelStatistics('work')).messages_pending).toBe(100);
  });
  it('withdraws a message that has not reached the layer, telling its sender, and keeps the rest in order', async () => {
    layer = new InMemoryChannelLayer({ capacity: 2 });
    const sender = new FairSender(layer);
    const queue = sender.queue({ failed: () => undefined }, 5000);
    const heard: Array<FairSendFailure | undefined> = [];
    const handles = [0, 1, 2, 3, 4].map((n) =>
      queue.push('work', { from: 'q', n }, 10, (failure) => (heard[n] = failure)),
    );
    await sleep(30);
    // Two are in the (full) channel; n=2 is the parked head, n=3 and n=4 wait behind it.
    expect(queue.withdraw(handles[0])).toBe(false);
    expect(queue.withdraw(handles[2])).toBe(true);
    expect(queue.withdraw(handles[2])).toBe(false);
    expect(queue.withdraw(handles[4])).toBe(true);
    expect(heard[2]).toEqual({ reason: 'dropped', channel: 'work' });
    expect(heard[4]).toEqual({ reason: 'dropped', channel: 'work' });
    expect([queue.pending, queue.pendingBytes, sender.pending]).toEqual([1, 10, 1]);
    const received: string[] = [];
    while (received.length < 3) {
      const [, message] = await layer.receive(['work'], { block: true, timeout: 2 });
      received.push(`${String(message?.from)}${String(message?.n)}`);
    }
    await sender.whenIdle(1000);
    expect(received).toEqual(['q0', 'q1', 'q3']);
    expect((await layer.receive(['work']))[0]).toBeNull();
    expect(heard[3]).toBeUndefined();
  });
  it('sends what piled up in a queue while its last send was out as one sendMany call, in order', async () => {
    layer = new InMemoryChannelLayer({ capacity: 1000 });
    const calls: number[] = [];
    const sendMany = layer.sendMany.bind(layer);
    layer.sendMany = (messages) => {
      calls.push(messages.length);
      return sendMany(messages);
    };
    const sender = new FairSender(layer, 1000);
    const queue = sender.queue({ failed: () => undefined }, 1000);
    for (let n = 0; n < 100; n++) queue.push('work', { from: 'q', n });
    await sender.whenIdle(1000);
    // The first goes alone (nothing else was queued yet); the other 99 in batches of at most 64.
    expect(calls).toEqual([64, 35]);
    expect(await drain(layer, 'work')).toEqual(Array.from({ length: 100 }, (_, n) => `q${n}`));
  });

  it('sends a batch the layer refused whole one message at a time, to fail only from the bad one on', async () => {
    layer = new InMemoryChannelLayer({ maxMessageSize: 100 });
    const sender = new FairSender(layer);
    const record = owner();
    const queue = sender.queue({ failed: record.failed }, 1000);
    const heard: Array<FairSendFailure | undefined> = [];
    const texts = ['ok0', 'ok1', 'x'.repeat(500), 'ok3'];
    texts.forEach((text, n) => queue.push('work', { from: 'q', n, text }, 0, (failure) => (heard[n] = failure)));
    await sleep(20);
    expect(await drain(layer, 'work')).toEqual(['q0', 'q1']);
    expect(heard[0]).toBeUndefined();
    expect(heard[1]).toBeUndefined();
    expect(heard[2]).toMatchObject({ reason: 'error', channel: 'work' });
    expect(heard[3]).toMatchObject({ reason: 'error', channel: 'work' });
    expect(record.failures).toHaveLength(1);
    expect((record.failures[0] as { error: Error }).error.name).toBe('MessageTooLarge');
  });
  it('never sends twice a message a layer accepted after refusing an earlier one of the same call', async () => {
    // As RabbitMQ may when a reader frees room mid-call: [sent, full, sent].
    const sends: string[] = [];
    let refuseOnce = true;
    const stub = {
      send: async (_channel: string, message: ChannelMessage) => void sends.push(String(message.n)),
      sendMany: async (messages: ReadonlyArray<readonly [string, ChannelMessage]>) =>
        messages.map(([, message], i) => {
          if (i === 1 && refuseOnce) {
            refuseOnce = false;
            return false;
          }
          sends.push(String(message.n));
          return true;
        }),
    } as unknown as InMemoryChannelLayer;
    layer = new InMemoryChannelLayer();
    const sender = new FairSender(stub);
    const queue = sender.queue({ failed: () => undefined }, 5000);
    const heard: Array<FairSendFailure | undefined | 'pending'> = ['pending', 'pending', 'pending', 'pending'];
    for (let n = 0; n < 4; n++) queue.push('work', { n }, 0, (failure) => (heard[n] = failure));
    await sender.whenIdle(2000);
    // 0 alone; then [1, 2, 3] → 2 refused, 3 sent; 2 goes again once the channel is probed.
    expect(sends.sort()).toEqual(['0', '1', '2', '3']);
    expect(heard).toEqual([undefined, undefined, undefined, undefined]);
    expect(sender.pending).toBe(0);
  });
});

import { RabbitmqChannelLayer, type ChannelMessage } from '../../../src';
import {
  cleanUpRabbitPrefixes,
  findOrStartRabbitmq,
  uniqueRabbitPrefix,
  type TestRabbitmq,
} from '../../support/rabbitmq-server';
import { startWorkerProcess, type WorkerChild } from '../../support/worker-process';

jest.setTimeout(40_000);

const PEER = 'test/layers/rabbitmq/rabbitmq-peer.ts';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let broker: TestRabbitmq;
const layers: RabbitmqChannelLayer[] = [];
const children: WorkerChild[] = [];

async function makeLayer(prefix: string, capacity = 1000): Promise<RabbitmqChannelLayer> {
  const layer = new RabbitmqChannelLayer({ url: broker.url, prefix, capacity });
  layers.push(layer);
  await layer.waitUntilReady(10_000);
  return layer;
}

async function drain(layer: RabbitmqChannelLayer, channels: string[]): Promise<Array<[string, ChannelMessage]>> {
  const out: Array<[string, ChannelMessage]> = [];
  for (;;) {
    const batch = await layer.receiveMany(channels, { max: 100, block: true, timeout: 0.5 });
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

beforeAll(async () => {
  broker = await findOrStartRabbitmq();
}, 60_000);
afterEach(async () => {
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  }
  await Promise.all(layers.splice(0).map((layer) => layer.close()));
});
afterAll(async () => {
  await cleanUpRabbitPrefixes(broker.url);
  await broker.stop();
});

describe('RabbitmqChannelLayer across processes', () => {
  it('shares groups and normal channels with another process on the same prefix', async () => {
    const prefix = uniqueRabbitPrefix('procs');
    // The same capacity as the peer's: queue arguments are shared by every process of a prefix.
    const layer = await makeLayer(prefix, 100_000);
    children.push(await startWorkerProcess(PEER, { RABBITMQ_URL: broker.url, LAYER_PREFIX: prefix, MODE: 'peer' }));
    // The peer's groupAdd reaches this process through the group stream (within milliseconds).
    for (let i = 0; i < 100 && (await layer.groupChannels('room')).length === 0; i++) await sleep(20);
    expect(await layer.groupChannels('room')).toEqual(['peer!a']);
    await layer.groupAdd('room', 'parent!me');
    await layer.sendGroup('room', { hello: 'room' });
    expect(await layer.receive(['parent!'], { block: true, timeout: 5 })).toEqual(['parent!me', { hello: 'room' }]);
    const [, relayed] = await layer.receive(['parent.inbox'], { block: true, timeout: 5 });
    expect(relayed).toEqual({ from: 'peer', channel: 'peer!a', message: { hello: 'room' } });

    // A normal channel read by both processes: every message reaches exactly one of them.
    const mine: number[] = [];
    let stop = false;
    const reading = (async () => {
      while (!stop) {
        const [, message] = await layer.receive(['work'], { block: true, timeout: 0.2 });
        if (message) mine.push(message.n as number);
      }
    })();
    for (let n = 0; n < 100; n++) await layer.send('work', { n });
    await sleep(1000);
    stop = true;
    await reading;
    const theirs = (await drain(layer, ['parent.inbox'])).map(([, m]) => (m.message as ChannelMessage).n as number);
    expect([...mine, ...theirs].sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    expect(theirs.length).toBeGreaterThan(0);
  });

  it('keeps prefixes apart: channels, groups and flush', async () => {
    const one = await makeLayer(uniqueRabbitPrefix('iso-a'));
    const two = await makeLayer(uniqueRabbitPrefix('iso-b'));
    await one.send('shared.name', { from: 'one' });
    await one.groupAdd('shared.group', 'member');
    await two.groupAdd('shared.group', 'other');
    expect(await two.receive(['shared.name'])).toEqual([null, null]);
    expect(await two.groupChannels('shared.group')).toEqual(['other']);
    await two.send('shared.name', { from: 'two' });
    await one.flush();
    expect(await one.receive(['shared.name'])).toEqual([null, null]);
    expect(await one.groupChannels('shared.group')).toEqual([]);
    expect(await two.receive(['shared.name'])).toEqual(['shared.name', { from: 'two' }]);
    expect(await two.groupChannels('shared.group')).toEqual(['other']);
  });

  it('loses nothing a process killed mid-send had confirmed, and duplicates nothing', async () => {
    const prefix = uniqueRabbitPrefix('killed');
    const layer = await makeLayer(prefix, 100_000);
    const sender = await startWorkerProcess(PEER, { RABBITMQ_URL: broker.url, LAYER_PREFIX: prefix, MODE: 'sender' });
    children.push(sender);
    const confirmed = new Set<number>();
    sender.child.stdout?.on('data', (data: Buffer) => {
      for (const match of data.toString().matchAll(/sent (\d+)/g)) confirmed.add(Number(match[1]));
    });
    while (confirmed.size < 500) await sleep(10);
    sender.child.kill('SIGKILL');
    await sender.exited;
    const received = (await drain(layer, ['killed.mid'])).map(([, m]) => m.n as number);
    expect(new Set(received).size).toBe(received.length);
    for (const n of confirmed) expect(received).toContain(n);
    // Whatever was in flight when it died either arrived or not: nothing beyond what was sent.
    expect(Math.max(...received)).toBeLessThan(Math.max(...confirmed) + 64);
  });
});

import { RabbitmqChannelLayer } from '../../../src';
import {
  cleanUpRabbitPrefixes,
  findOrStartRabbitmq,
  uniqueRabbitPrefix,
  type TestRabbitmq,
} from '../../support/rabbitmq-server';

jest.setTimeout(20_000);

let broker: TestRabbitmq;
const layers: RabbitmqChannelLayer[] = [];

/** Two layer instances on one prefix: two workers of one app. */
async function twoWorkers(options: { capacity?: number } = {}): Promise<[RabbitmqChannelLayer, RabbitmqChannelLayer]> {
  const prefix = uniqueRabbitPrefix('receive');
  const made = [0, 1].map(() => new RabbitmqChannelLayer({ url: broker.url, prefix, ...options }));
  layers.push(...made);
  await Promise.all(made.map((layer) => layer.waitUntilReady(10_000)));
  return [made[0], made[1]];
}

beforeAll(async () => {
  broker = await findOrStartRabbitmq();
}, 60_000);
afterEach(async () => {
  await Promise.all(layers.splice(0).map((layer) => layer.close()));
});
afterAll(async () => {
  await cleanUpRabbitPrefixes(broker.url);
  await broker.stop();
});

describe('RabbitmqChannelLayer receives', () => {
  it('hands a delivery nobody waits for back to the queue, for another reader', async () => {
    const [idle, busy] = await twoWorkers();
    // The idle worker's receive timed out, but its consumer lingers a moment (a receive loop's next call reuses it).
    expect(await idle.receive(['jobs'], { block: true, timeout: 0.2 })).toEqual([null, null]);
    await busy.send('jobs', { n: 1 });
    const started = Date.now();
    expect(await busy.receive(['jobs'], { block: true, timeout: 3 })).toEqual(['jobs', { n: 1 }]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await idle.receive(['jobs'])).toEqual([null, null]);
  });

  it('takes nothing for a receive that was aborted', async () => {
    const [first, second] = await twoWorkers();
    const controller = new AbortController();
    const pending = first.receive(['aborted'], { block: true, timeout: 10, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await pending).toEqual([null, null]);
    await second.send('aborted', { kept: true });
    expect(await second.receive(['aborted'], { block: true, timeout: 3 })).toEqual(['aborted', { kept: true }]);
  });

  it('never takes more than max; the rest stays for the other workers', async () => {
    const [one, two] = await twoWorkers({ capacity: 100 });
    for (let n = 0; n < 10; n++) await one.send('many', { n });
    const taken = await one.receiveMany(['many'], { max: 3, block: true, timeout: 1 });
    expect(taken.map(([, message]) => message.n)).toEqual([0, 1, 2]);
    const rest: number[] = [];
    for (;;) {
      const batch = await two.receiveMany(['many'], { max: 4, block: true, timeout: 0.5 });
      if (batch.length === 0) break;
      expect(batch.length).toBeLessThanOrEqual(4);
      rest.push(...batch.map(([, message]) => message.n as number));
    }
    expect(rest.sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('blocks until a message arrives on a process channel and labels it with its full name', async () => {
    const [layer] = await twoWorkers();
    const pending = layer.receiveMany(['reply!'], { max: 10, block: true, timeout: 5 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await layer.sendMany([
      ['reply!a', { n: 1 }],
      ['reply!b', { n: 2 }],
    ]);
    const first = await pending;
    const rest = await layer.receiveMany(['reply!'], { max: 10, block: true, timeout: 1 });
    expect([...first, ...rest]).toEqual([
      ['reply!a', { n: 1 }],
      ['reply!b', { n: 2 }],
    ]);
  });

  it('uses a queue declared by a process with other capacity options instead of failing', async () => {
    const prefix = uniqueRabbitPrefix('mismatch');
    const small = new RabbitmqChannelLayer({ url: broker.url, prefix, capacity: 2 });
    const large = new RabbitmqChannelLayer({ url: broker.url, prefix, capacity: 50 });
    layers.push(small, large);
    await small.send('shared', { from: 'small' });
    await large.send('shared', { from: 'large' });
    expect(await large.receiveMany(['shared'], { max: 5 })).toEqual([
      ['shared', { from: 'small' }],
      ['shared', { from: 'large' }],
    ]);
  });
});

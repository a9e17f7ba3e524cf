import { LayerUnavailable, RabbitmqChannelLayer } from '../../../src';
import { startRabbitmqServer, uniqueRabbitPrefix, type SpawnedRabbitmq } from '../../support/rabbitmq-server';

jest.setTimeout(60_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// A broker node of this file's own: restarting it never disturbs the machine's shared broker.
let broker: SpawnedRabbitmq;
const layers: RabbitmqChannelLayer[] = [];

beforeAll(async () => {
  broker = await startRabbitmqServer();
}, 60_000);
afterAll(async () => {
  await Promise.all(layers.map((layer) => layer.close()));
  await broker.stop();
});

describe('RabbitmqChannelLayer through a broker restart', () => {
  it('holds sends during the outage, reports the lost state, and works again afterwards', async () => {
    const prefix = uniqueRabbitPrefix('restart');
    const layer = new RabbitmqChannelLayer({ url: broker.url, prefix, expiry: 30, outageBuffer: { maxAge: 30 } });
    // No outage buffer: its sends fail at once while the broker is down.
    const strict = new RabbitmqChannelLayer({ url: broker.url, prefix, expiry: 30, outageBuffer: { maxMessages: 0 } });
    // A small buffer: 30 sends wait through the outage, the rest fail at once.
    const bounded = new RabbitmqChannelLayer({
      url: broker.url,
      prefix,
      expiry: 30,
      outageBuffer: { maxMessages: 30, maxAge: 30 },
    });
    layers.push(layer, strict, bounded);
    await Promise.all([layer, strict, bounded].map((made) => made.waitUntilReady(10_000)));
    const lost: string[] = [];
    layer.onStateLost((reason) => lost.push(reason));
    await layer.send('before', { queued: 'before the restart' });
    const waiting = layer.receive(['during'], { block: true, timeout: 40 });

    await broker.halt();
    await sleep(300);
    const during = layer.send('during', { n: 1 });
    const refused = await strict.send('during', { n: 2 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LayerUnavailable);
    expect((refused as LayerUnavailable).reason).toBe('buffer_full');
    expect((await strict.globalStatistics()).layer_unavailable_count).toBe(1);

    const burst = Array.from({ length: 40 }, (_, n) =>
      bounded.send('burst', { n }).then(
        () => n,
        (error: unknown) => error,
      ),
    );

    await broker.start();
    await during; // held in the outage buffer, published once the broker was back
    expect(await waiting).toEqual(['during', { n: 1 }]);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/restarted/);
    // Every send made during the outage either went out once the broker was back, or failed.
    const outcomes = await Promise.all(burst);
    const sent = outcomes.filter((outcome): outcome is number => typeof outcome === 'number');
    expect(sent).toEqual([...Array(30).keys()]);
    for (const outcome of outcomes.slice(30)) expect((outcome as LayerUnavailable).reason).toBe('buffer_full');
    const arrived = await layer.receiveMany(['burst'], { max: 100, block: true, timeout: 2 });
    expect(arrived.map(([, message]) => message.n)).toEqual(sent);
    // Lost with the broker's state, and reported as such (onStateLost), not silently.
    expect(await layer.receive(['before'])).toEqual([null, null]);

    await layer.groupAdd('after', 'after!x');
    await layer.sendGroup('after', { ok: true });
    expect(await layer.receive(['after!'], { block: true, timeout: 5 })).toEqual(['after!x', { ok: true }]);
    await strict.send('strict.after', { ok: true });
    expect(await layer.receive(['strict.after'], { block: true, timeout: 5 })).toEqual(['strict.after', { ok: true }]);
  });

  it('fails waitUntilReady with LayerUnavailable when no broker answers', async () => {
    const nowhere = new RabbitmqChannelLayer({
      url: 'amqp://guest:guest@127.0.0.1:1',
      prefix: uniqueRabbitPrefix('x'),
      outageBuffer: { maxAge: 0.3 },
    });
    layers.push(nowhere);
    await expect(nowhere.waitUntilReady(300)).rejects.toThrow(LayerUnavailable);
    const error = await nowhere.send('x', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerUnavailable);
    expect((error as LayerUnavailable).reason).toBe('too_old');
  });
});

import Redis from 'ioredis';
import { LayerUnavailable, RedisChannelLayer } from '../../../src';
import { startRedisServer, uniquePrefix, type SpawnedRedis } from '../../support/redis-server';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `attempt` until it succeeds or `ms` pass. */
async function eventually<T>(ms: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

describe('RedisChannelLayer across a Redis restart', () => {
  let server: SpawnedRedis;
  let layer: RedisChannelLayer;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await layer.close();
    await server.stop();
  });

  it('keeps working: receives wait out the outage, sends fail cleanly, then both recover', async () => {
    // Sends wait in the outage buffer for up to maxAge, then fail with LayerUnavailable.
    layer = new RedisChannelLayer({
      hosts: [server.url],
      prefix: uniquePrefix('restart'),
      outageBuffer: { maxAge: 1 },
    });
    await layer.groupAdd('room', 'room.member');
    await layer.send('before', { n: 1 });
    expect(await layer.receive(['before'], { block: true, timeout: 2 })).toEqual(['before', { n: 1 }]);

    // A blocking receive is waiting when Redis dies.
    const waiting = layer.receive(['during'], { block: true, timeout: 3 });
    await sleep(100);
    await server.kill();
    await expect(layer.send('during', { lost: true })).rejects.toThrow(LayerUnavailable);
    expect(await layer.receive(['during'], { block: true, timeout: 0.5 })).toEqual([null, null]);
    expect(await waiting).toEqual([null, null]);

    await server.start();
    await eventually(10_000, () => layer.send('after', { n: 2 }));
    expect(await layer.receive(['after'], { block: true, timeout: 5 })).toEqual(['after', { n: 2 }]);
    // Scripts are loaded again and group operations work on the new (empty) server.
    expect(await layer.groupChannels('room')).toEqual([]);
    await layer.groupAdd('room', 'room.member');
    await layer.sendGroup('room', { n: 3 });
    expect(await layer.receive(['room.member'], { block: true, timeout: 5 })).toEqual(['room.member', { n: 3 }]);
  });

  it('delivers to a blocking receive that started before Redis came back', async () => {
    await server.kill();
    const waiting = layer.receive(['resumed'], { block: true, timeout: 15 });
    await sleep(300);
    await server.start();
    await eventually(10_000, () => layer.send('resumed', { ok: true }));
    expect(await waiting).toEqual(['resumed', { ok: true }]);
  });
});

describe('RedisChannelLayer telling a restart that lost the data from one that kept it', () => {
  let server: SpawnedRedis;
  let layer: RedisChannelLayer;
  let direct: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    direct = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    direct.disconnect();
    await layer.close();
    await server.stop();
  });

  /** Kills Redis and starts it again; it loads whatever was SAVEd last. */
  async function restart(): Promise<void> {
    await server.kill();
    await server.start();
  }

  it('calls onStateLost only when the data did not survive', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix: uniquePrefix('state') });
    const lost: string[] = [];
    layer.onStateLost((reason) => lost.push(reason));
    await layer.groupAdd('room', 'room.member');
    await sleep(200); // the layer has checked the server once (its marker is written)

    await direct.connect();
    await direct.save(); // the data, the marker included, survives the next restart
    direct.disconnect();
    await restart();
    await eventually(5000, async () => expect(await layer.groupChannels('room')).toEqual(['room.member']));
    await sleep(500);
    expect(lost).toEqual([]);

    await direct.connect();
    await direct.flushall();
    await direct.save(); // this time it comes back empty
    direct.disconnect();
    await restart();
    await eventually(5000, async () => expect(lost).toEqual([expect.stringMatching(/restarted without its data/)]));
  });
});

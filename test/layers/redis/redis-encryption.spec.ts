import Redis from 'ioredis';
import { RedisChannelLayer } from '../../../src';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../../support/redis-server';

describe('RedisChannelLayer encryption', () => {
  let redis: TestRedis;
  let direct: Redis;
  let prefix: string;
  const layers: RedisChannelLayer[] = [];
  const make = (keys?: string[]): RedisChannelLayer => {
    const layer = new RedisChannelLayer({ hosts: [redis.url], prefix, symmetricEncryptionKeys: keys });
    layers.push(layer);
    return layer;
  };

  beforeAll(async () => {
    redis = await findOrStartRedis();
    direct = new Redis(redis.url);
  });
  afterAll(async () => {
    await direct.quit();
    await redis.stop();
  });
  beforeEach(() => {
    prefix = uniquePrefix('crypto');
  });
  afterEach(async () => {
    await Promise.all(layers.splice(0).map((layer) => layer.close()));
  });

  it('stores no plaintext and is read by a layer with the key', async () => {
    const sender = make(['first-secret-key-with-enough-entropy']);
    await sender.send('secret', { text: 'attack at dawn', bytes: Buffer.from('raw-bytes') });
    const stored = await direct.lrangeBuffer(`${prefix}secret`, 0, -1);
    expect(stored).toHaveLength(1);
    expect(stored[0].includes('attack at dawn')).toBe(false);
    expect(stored[0].includes('raw-bytes')).toBe(false);
    const reader = make(['first-secret-key-with-enough-entropy']);
    expect(await reader.receive(['secret'])).toEqual([
      'secret',
      { text: 'attack at dawn', bytes: Buffer.from('raw-bytes') },
    ]);
  });

  it('cannot be read without the key or with another key: the message is dropped, not garbled', async () => {
    const sender = make(['key-one']);
    await sender.send('secret', { n: 1 });
    await sender.send('secret', { n: 2 });
    await sender.send('secret!a', { n: 3 });
    expect(await make().receive(['secret'])).toEqual([null, null]);
    expect(await make(['key-two']).receive(['secret'], { block: true, timeout: 0.5 })).toEqual([null, null]);
    expect(await make(['key-two']).receive(['secret!'])).toEqual([null, null]);
  });

  it('rotates keys: the first encrypts, all decrypt', async () => {
    const oldOnly = make(['old-key']);
    const rotated = make(['new-key', 'old-key']);
    const newOnly = make(['new-key']);
    await oldOnly.send('rot', { from: 'old' });
    expect(await rotated.receive(['rot'])).toEqual(['rot', { from: 'old' }]);
    await rotated.send('rot', { from: 'rotated' });
    expect(await newOnly.receive(['rot'])).toEqual(['rot', { from: 'rotated' }]);
    await rotated.send('rot', { from: 'rotated' });
    expect(await oldOnly.receive(['rot'])).toEqual([null, null]);
  });

  it('encrypts group sends too', async () => {
    const layer = make(['group-key']);
    await layer.groupAdd('g', 'g.reply!1');
    await layer.sendGroup('g', { text: 'hello group' });
    const [stored] = await direct.lrangeBuffer(`${prefix}g.reply!`, 0, -1);
    expect(stored.includes('hello group')).toBe(false);
    expect(await layer.receive(['g.reply!'])).toEqual(['g.reply!1', { text: 'hello group' }]);
  });

  it('refuses a bad key list', () => {
    expect(() => make([])).toThrow(TypeError);
    expect(() => make('single-string' as unknown as string[])).toThrow(TypeError);
    expect(() => make([''])).toThrow(TypeError);
  });
});

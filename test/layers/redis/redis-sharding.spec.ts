import Redis from 'ioredis';
import { RedisChannelLayer } from '../../../src';
import { shardFor } from '../../../src/layers/redis/consistent-hash';
import { startRedisServer, uniquePrefix, type SpawnedRedis } from '../../support/redis-server';

describe('RedisChannelLayer over two Redis servers', () => {
  let servers: SpawnedRedis[];
  let direct: Redis[];
  const layers: RedisChannelLayer[] = [];
  let prefix: string;
  const make = (options = {}): RedisChannelLayer => {
    const layer = new RedisChannelLayer({ hosts: servers.map((s) => s.url), prefix, capacity: 1000, ...options });
    layers.push(layer);
    return layer;
  };
  const keysOn = async (index: number): Promise<string[]> => direct[index].keys(`${prefix}*`);

  beforeAll(async () => {
    servers = await Promise.all([startRedisServer(), startRedisServer()]);
    direct = servers.map((server) => new Redis(server.url));
  });
  afterAll(async () => {
    await Promise.all(direct.map((client) => client.quit()));
    await Promise.all(servers.map((server) => server.stop()));
  });
  beforeEach(() => {
    prefix = uniquePrefix('shards');
  });
  afterEach(async () => {
    await Promise.all(layers.splice(0).map((layer) => layer.close()));
  });

  it('pins every process channel of one prefix, and each single-reader channel, to its hashed host', async () => {
    const layer = make();
    const prefixes = ['daphne.response.AAAA!', 'daphne.response.BBBB!', 'daphne.response.CCCC!', 'x.y!'];
    for (const processPrefix of prefixes) {
      for (let i = 0; i < 5; i++) await layer.send(`${processPrefix}conn${i}`, { i });
      const home = shardFor(processPrefix, 2);
      expect(await direct[home].llen(prefix + processPrefix)).toBe(5);
      expect(await direct[1 - home].exists(prefix + processPrefix)).toBe(0);
    }
    const single = await layer.newChannel('http.request.body?');
    await layer.send(single, { chunk: 1 });
    expect(await direct[shardFor(single, 2)].llen(prefix + single)).toBe(1);
  });

  it('spreads normal channels over both hosts and receives them all, blocking or not', async () => {
    const sender = make();
    const receiver = make();
    for (let n = 0; n < 20; n++) await sender.send('http.request', { n });
    expect(await direct[0].llen(`${prefix}http.request`)).toBeGreaterThan(0);
    expect(await direct[1].llen(`${prefix}http.request`)).toBeGreaterThan(0);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [, message] = await receiver.receive(['http.request']);
      seen.push(message?.n as number);
    }
    for (let i = 0; i < 10; i++) {
      const [, message] = await receiver.receive(['http.request'], { block: true, timeout: 2 });
      seen.push(message?.n as number);
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(await receiver.receive(['http.request'])).toEqual([null, null]);
  });

  it('wakes a blocking receive for a message on either host without waiting on the other', async () => {
    const sender = make();
    const receiver = make();
    for (let n = 0; n < 6; n++) {
      const started = Date.now();
      setTimeout(() => void sender.send('work', { n }), 50);
      const [channel, message] = await receiver.receive(['work'], { block: true, timeout: 20 });
      expect([channel, message]).toEqual(['work', { n }]);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('sends to group members on both hosts, and drops expired members on every host', async () => {
    const layer = make({ expiry: 1 });
    const members = ['a.reply!one', 'b.reply!two', 'c.reply!three', 'd.reply!four', 'inbox.1', 'inbox.2'];
    expect(new Set(members.map((m) => shardFor(m.split('!')[0] + '!', 2))).size).toBe(2);
    for (const member of members) await layer.groupAdd('everyone', member);
    for (const member of members) await layer.groupAdd('others', member);
    await layer.sendGroup('everyone', { hi: 1 });
    for (const member of members) {
      const receiveOn = member.includes('!') ? member.split('!')[0] + '!' : member;
      const [channel, message] = await layer.receive([receiveOn], { block: true, timeout: 2 });
      expect([channel, message]).toEqual([member, { hi: 1 }]);
    }
    // A message nobody reads expires: its channel leaves both groups, wherever they live.
    await layer.send('a.reply!one', { unread: true });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await layer.sendGroup('everyone', { hi: 2 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await layer.groupChannels('everyone')).sort()).toEqual(members.filter((m) => m !== 'a.reply!one').sort());
    expect(await layer.groupChannels('others')).not.toContain('a.reply!one');
    expect(await layer.receive(['a.reply!'])).toEqual([null, null]);
  });

  it('flushes every host', async () => {
    const layer = make();
    for (let n = 0; n < 10; n++) await layer.send('spread', { n });
    await layer.groupAdd('g', 'spread');
    await layer.flush();
    expect([...(await keysOn(0)), ...(await keysOn(1))]).toEqual([]);
  });
});

import Redis from 'ioredis';
import { RedisChannelLayer } from '../../../src';
import { findOrStartRedis, startRedisServer, uniquePrefix, type SpawnedRedis } from '../../support/redis-server';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls per command since the last CONFIG RESETSTAT, e.g. { evalsha: 3, blpop: 1 }. */
async function commandCalls(direct: Redis): Promise<Record<string, number>> {
  const info = await direct.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]] = Number(match[2]);
  return calls;
}

describe('RedisChannelLayer keys and round trips', () => {
  let server: SpawnedRedis;
  let direct: Redis;
  let layer: RedisChannelLayer;
  let prefix: string;

  const blockingPops = (calls: Record<string, number>): number => (calls.blpop ?? 0) + (calls.blmpop ?? 0);

  beforeAll(async () => {
    server = await startRedisServer();
    direct = new Redis(server.url);
  });
  afterAll(async () => {
    await direct.quit();
    await server.stop();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('keys');
  });
  afterEach(async () => {
    await layer.close();
  });

  it('costs one command per send and one per blocking receive, and one per group send', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix, capacity: 1000 });
    for (let i = 0; i < 200; i++) await layer.groupAdd('crowd', `crowd.reply!c${i}`);
    // ioredis sends each script in full (EVAL) the first time it uses it on a connection.
    await layer.send('warm', {});
    await layer.receive(['warm'], { block: true, timeout: 1 });
    await layer.sendGroup('crowd', { warm: true });
    await layer.receive(['crowd.reply!'], { block: true, timeout: 1 });
    for (let i = 1; i < 200; i++) await layer.receive(['crowd.reply!']);
    await direct.config('RESETSTAT');
    for (let i = 0; i < 20; i++) await layer.send('task', { i });
    for (let i = 0; i < 20; i++) await layer.receive(['task'], { block: true, timeout: 1 });
    await layer.sendGroup('crowd', { hello: 'everyone' });
    const calls = await commandCalls(direct);
    // 20 sends + 1 group send as scripts; 20 receives as BLPOP; nothing else from the client.
    expect(calls.evalsha).toBe(21);
    expect(calls.eval ?? 0).toBe(0);
    expect(calls.blpop).toBe(20);
    // The group send put one entry for all 200 members of one process prefix.
    expect(await direct.llen(`${prefix}crowd.reply!`)).toBe(1);
    await direct.config('RESETSTAT');
    for (let i = 0; i < 200; i++) await layer.receive(['crowd.reply!'], { block: true, timeout: 1 });
    expect(blockingPops(await commandCalls(direct))).toBe(1);
  });

  it('runs the same Redis commands, inside its script too, for a group send to 10 or 1,000 members', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix, capacity: 1000 });
    const allCommands = (calls: Record<string, number>): number => Object.values(calls).reduce((a, b) => a + b, 0);
    const workOfOneSend = async (group: string, size: number): Promise<Record<string, number>> => {
      for (let i = 0; i < size; i++) await layer.groupAdd(group, `${group}.reply!c${i}`);
      await direct.config('RESETSTAT');
      await layer.sendGroup(group, { hello: size });
      const calls = await commandCalls(direct);
      delete calls.config;
      return calls;
    };
    await workOfOneSend('warm', 1);
    const small = await workOfOneSend('small', 10);
    const large = await workOfOneSend('large', 1000);
    // Commands run inside the script count too: none of them is per member.
    expect(large).toEqual(small);
    expect(allCommands(large)).toBeLessThan(20);
    const received = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const [channel, message] = await layer.receive(['large.reply!'], { block: true, timeout: 1 });
      expect(message).toEqual({ hello: 1000 });
      received.add(channel as string);
    }
    expect(received.size).toBe(1000);
  });

  it('keeps the stored member list in step through adds, discards, re-adds and a lost cache', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix, capacity: 1000 });
    const members = Array.from({ length: 50 }, (_, i) => `step!m${i}`);
    for (const channel of members) await layer.groupAdd('step', channel);
    for (const channel of members.slice(0, 50).filter((_, i) => i % 3 === 0)) await layer.groupDiscard('step', channel);
    await layer.groupAdd('step', 'step!m0');
    await layer.groupAdd('step', 'step!m1');
    await layer.groupDiscard('step', 'step!m49');
    await layer.groupDiscard('step', 'step!never-added');
    const expected = new Set(members.filter((_, i) => i % 3 !== 0 && i !== 49));
    expected.add('step!m0');
    expect(new Set(await layer.groupChannels('step'))).toEqual(expected);
    const receiveAll = async (): Promise<Set<string>> => {
      const got = new Set<string>();
      for (;;) {
        const [channel] = await layer.receive(['step!']);
        if (channel === null) return got;
        got.add(channel);
      }
    };
    await layer.sendGroup('step', { n: 1 });
    expect(await receiveAll()).toEqual(expected);
    // A cache lost (evicted, say) is rebuilt from the sorted set, not appended to as a fragment.
    await direct.del(`${prefix}glocals:step:step!`);
    await layer.groupAdd('step', 'step!late');
    expected.add('step!late');
    await layer.sendGroup('step', { n: 2 });
    expect(await receiveAll()).toEqual(expected);
    expect(await direct.get(`${prefix}glocals:step:step!`)).toBe(
      `,${[...(await direct.zrange(`${prefix}gmembers:step:step!`, 0, -1))].join(',')}`,
    );
    // The last member leaving removes the base and its keys.
    for (const channel of expected) await layer.groupDiscard('step', channel);
    expect(await direct.keys(`${prefix}g*`)).toEqual([]);
    expect(await layer.groupChannels('step')).toEqual([]);
  });

  it('pops a process prefix in batches: one blocking pop for many queued replies, in order', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix, capacity: 1000 });
    await layer.send('warm', {});
    await layer.receive(['warm'], { block: true, timeout: 1 });
    for (let i = 0; i < 50; i++) await layer.send(`proc!c${i % 5}`, { i });
    await direct.config('RESETSTAT');
    const received: number[] = [];
    for (let i = 0; i < 50; i++) {
      const [channel, message] = await layer.receive(['proc!'], { block: true, timeout: 1 });
      expect(channel).toBe(`proc!c${i % 5}`);
      received.push(message?.i as number);
    }
    expect(received).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const calls = await commandCalls(direct);
    // Redis 7 pops up to 64 with one BLMPOP; before it, BLPOP takes one at a time.
    expect(blockingPops(calls)).toBe(calls.blmpop === undefined ? 50 : 1);
  });

  it('gives every key a TTL and leaves no channel or group key once everything expires', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix, expiry: 1, groupExpiry: 2, statistics: false });
    await layer.send('unread', { a: 1 });
    await layer.send('proc!x', { a: 1 });
    await layer.send(await layer.newChannel('body?'), { a: 1 });
    await layer.groupAdd('room', 'proc!x');
    await layer.groupAdd('room', 'member');
    await layer.sendGroup('room', { b: 2 });
    await layer.send('read', {});
    await layer.receive(['read']);
    const keys = await direct.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(await direct.pttl(key)).toBeGreaterThan(0);
    await sleep(3100);
    // Only the layer's liveness marker is left (one per open layer, for telling a Redis restart that
    // lost the data); closing the layer deletes it.
    expect(await direct.keys(`${prefix}*`)).toEqual([expect.stringMatching(new RegExp(`^${prefix}alive:`))]);
    await layer.close();
    expect(await direct.keys(`${prefix}*`)).toEqual([]);
  });

  it('gives statistics keys a TTL too', async () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix });
    await layer.send('counted', {});
    const keys = await direct.keys(`${prefix}stats*`);
    expect(keys).toEqual([`${prefix}stats:counted`]);
    for (const key of keys) expect(await direct.pttl(key)).toBeGreaterThan(0);
  });

  it('refuses bad host lists and URLs', () => {
    layer = new RedisChannelLayer({ hosts: [server.url], prefix });
    expect(() => new RedisChannelLayer({ hosts: 'redis://127.0.0.1' as unknown as string[] })).toThrow(TypeError);
    expect(() => new RedisChannelLayer({ hosts: [] })).toThrow(TypeError);
    expect(() => new RedisChannelLayer({ hosts: ['http://127.0.0.1:6379'] })).toThrow(TypeError);
    expect(() => new RedisChannelLayer({ hosts: [42 as unknown as string] })).toThrow(TypeError);
  });
});

describe('RedisChannelLayer with fractional times', () => {
  it('accepts expiry and group expiry that are not whole milliseconds', async () => {
    const redis = await findOrStartRedis();
    const layer = new RedisChannelLayer({
      hosts: [redis.url],
      prefix: uniquePrefix('frac'),
      expiry: 1.0005,
      groupExpiry: 2.00001,
    });
    try {
      await layer.groupAdd('g', 'frac!a');
      await layer.send('frac!b', { ok: true });
      await layer.sendGroup('g', { ok: 'group' });
      expect((await layer.receive(['frac!'])).at(0)).toBe('frac!b');
      expect((await layer.receive(['frac!'])).at(0)).toBe('frac!a');
    } finally {
      await layer.close();
      await redis.stop();
    }
  });
});

import {
  ChannelFull,
  ChannelLayerClosed,
  MessageTooLarge,
  type ChannelMessage,
  type GroupsChannelLayer,
} from '../../src';
import type { ChannelLayerOptions } from '../../src';

export type LayerFactory = (options?: ChannelLayerOptions) => Promise<GroupsChannelLayer>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Receives until nothing is left (non-blocking), returning [channel, message] pairs. */
async function drain(layer: GroupsChannelLayer, channels: string[]): Promise<Array<[string, ChannelMessage]>> {
  const out: Array<[string, ChannelMessage]> = [];
  for (;;) {
    const [channel, message] = await layer.receive(channels);
    if (channel === null) return out;
    out.push([channel, message]);
  }
}

/**
 * The ASGI 1 layer behaviours (asgiref's conformance suite and more), run against every layer.
 * Layers are made with expiry 1 s, group expiry 2 s and capacity 5 unless a test says otherwise.
 */
export function describeLayerContract(name: string, factory: LayerFactory): void {
  describe(`${name}: ASGI 1 layer contract`, () => {
    let layer: GroupsChannelLayer;
    const extra: GroupsChannelLayer[] = [];
    const make = async (options: ChannelLayerOptions = {}): Promise<GroupsChannelLayer> => {
      const made = await factory({ expiry: 1, groupExpiry: 2, capacity: 5, ...options });
      extra.push(made);
      await made.flush();
      return made;
    };

    beforeEach(async () => {
      layer = await make();
    });
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((made) => made.close()));
    });

    describe('properties', () => {
      it('lists its extensions and exposes its settings and error classes', () => {
        expect([...layer.extensions].sort()).toEqual(['batch', 'flush', 'groups', 'statistics']);
        expect(layer.expiry).toBe(1);
        expect(layer.groupExpiry).toBe(2);
        expect(layer.capacity).toBe(5);
        expect(layer.ChannelFull).toBe(ChannelFull);
        expect(layer.MessageTooLarge).toBe(MessageTooLarge);
      });

      it('defaults to expiry 60, group expiry 86400 and capacity 100', async () => {
        const defaults = await factory();
        extra.push(defaults);
        expect([defaults.expiry, defaults.groupExpiry, defaults.capacity]).toEqual([60, 86400, 100]);
      });

      it('rejects bad options with a TypeError', async () => {
        await expect(factory({ expiry: -1 })).rejects.toThrow(TypeError);
        await expect(factory({ capacity: 0 })).rejects.toThrow(TypeError);
        await expect(factory({ channelCapacity: { 'a.*': 1.5 } })).rejects.toThrow(TypeError);
        await expect(factory({ maxMessageSize: 0 })).rejects.toThrow(TypeError);
      });
    });

    describe('send and receive', () => {
      it('returns every message sent to a channel, each labelled with that channel', async () => {
        for (const value of ['a', 'b', 'c']) await layer.send('sr_test', { value });
        const received = await drain(layer, ['sr_test']);
        expect(received.map(([channel]) => channel)).toEqual(['sr_test', 'sr_test', 'sr_test']);
        expect(received.map(([, message]) => message.value).sort()).toEqual(['a', 'b', 'c']);
      });

      it('returns [null, null] from an empty channel without blocking', async () => {
        expect(await layer.receive(['nothing.here'])).toEqual([null, null]);
      });

      it('labels a message from a multi-channel receive with the channel it came from', async () => {
        await layer.send('multi_two', { key: 'value' });
        expect(await layer.receive(['multi_one', 'multi_two'])).toEqual(['multi_two', { key: 'value' }]);
      });

      it('delivers process-specific messages through the prefix with their full names, in order', async () => {
        await layer.send('proc!a', { n: 1 });
        await layer.send('proc!b', { n: 2 });
        await layer.send('proc!', { n: 3 });
        expect(await layer.receive(['proc!'])).toEqual(['proc!a', { n: 1 }]);
        expect(await layer.receive(['proc!'])).toEqual(['proc!b', { n: 2 }]);
        expect(await layer.receive(['proc!'])).toEqual(['proc!', { n: 3 }]);
        expect(await layer.receive(['proc!'])).toEqual([null, null]);
      });

      it('keeps single-reader channels in order', async () => {
        const channel = await layer.newChannel('ordered?');
        const big = await make({ capacity: 50 });
        for (let n = 0; n < 30; n++) await big.send(channel, { n });
        const received = await drain(big, [channel]);
        expect(received.map(([, message]) => message.n)).toEqual([...Array(30).keys()]);
      });

      it('rejects a receive on a process channel with a local part, or on no channel', async () => {
        await expect(layer.receive(['proc!local'])).rejects.toThrow(TypeError);
        await expect(layer.receive([])).rejects.toThrow(TypeError);
        await expect(layer.receive('proc!' as unknown as string[])).rejects.toThrow(TypeError);
      });

      it('drops messages older than the expiry', async () => {
        await layer.send('expiry_test', { old: true });
        await sleep(1200);
        expect(await layer.receive(['expiry_test'])).toEqual([null, null]);
      });

      it('gives each message to one receiver only, with concurrent blocking receivers', async () => {
        const big = await make({ capacity: 1000 });
        const received: number[] = [];
        let stop = false;
        const readers = Array.from({ length: 4 }, async () => {
          while (!stop) {
            const [channel, message] = await big.receive(['once'], { block: true, timeout: 0.2 });
            if (channel !== null) received.push(message.n as number);
          }
        });
        for (let n = 0; n < 200; n++) await big.send('once', { n });
        for (let i = 0; i < 100 && received.length < 200; i++) await sleep(50);
        stop = true;
        await Promise.all(readers);
        expect(received.sort((a, b) => a - b)).toEqual([...Array(200).keys()]);
      });
    });

    describe('blocking receive', () => {
      it('wakes as soon as a message arrives', async () => {
        const started = Date.now();
        setTimeout(() => void layer.send('wake', { ok: true }), 100);
        const result = await layer.receive(['other', 'wake'], { block: true, timeout: 10 });
        expect(result).toEqual(['wake', { ok: true }]);
        expect(Date.now() - started).toBeLessThan(5000);
      });

      it('gives up after its timeout', async () => {
        const started = Date.now();
        expect(await layer.receive(['quiet'], { block: true, timeout: 0.3 })).toEqual([null, null]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      });

      it('stops waiting when its signal is aborted', async () => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 100);
        const started = Date.now();
        expect(await layer.receive(['quiet'], { block: true, timeout: 10, signal: controller.signal })).toEqual([
          null,
          null,
        ]);
        expect(Date.now() - started).toBeLessThan(5000);
      });

      it('resolves [null, null] for pending receives when the layer closes, then refuses work', async () => {
        const closing = await make();
        const pending = closing.receive(['quiet'], { block: true, timeout: 10 });
        await sleep(50);
        await closing.close();
        expect(await pending).toEqual([null, null]);
        await expect(closing.send('x', {})).rejects.toThrow(ChannelLayerClosed);
      });

      it('rejects a negative timeout', async () => {
        await expect(layer.receive(['x'], { block: true, timeout: -1 })).rejects.toThrow(TypeError);
      });
    });

    describe('newChannel', () => {
      it('makes distinct single-reader names that can be used at once', async () => {
        const first = await layer.newChannel('test.foo?');
        expect(first.split('?')).toHaveLength(2);
        expect(first.startsWith('test.foo?')).toBe(true);
        expect(first.endsWith('?')).toBe(false);
        await layer.send(first, { value: 'blue' });
        const second = await layer.newChannel('test.foo?');
        expect(second).not.toBe(first);
        expect(await layer.receive([first, second])).toEqual([first, { value: 'blue' }]);
      });

      it('refuses patterns that do not end in "?"', async () => {
        await expect(layer.newChannel('test!')).rejects.toThrow(TypeError);
        await expect(layer.newChannel('test.foo')).rejects.toThrow(TypeError);
        await expect(layer.newChannel('a?b?')).rejects.toThrow(TypeError);
        await expect(layer.newChannel(42 as unknown as string)).rejects.toThrow(TypeError);
      });
    });

    describe('values', () => {
      it('keeps bytes as bytes and text as text, nested two dicts deep', async () => {
        const bytes = {
          utf8: Buffer.from([0xc2, 0xa3]),
          control: Buffer.from([0x01, 0x00, 0x03, 0x21]),
          empty: Buffer.alloc(0),
          plain: new Uint8Array([255, 0, 128]),
        };
        const texts = { pound: '£', emoji: '\u{1F612}', nul: 'a\u0000b', utf8Looking: 'Â£' };
        await layer.send('values', { outer: { inner: { ...bytes, ...texts } } });
        const [, message] = await layer.receive(['values']);
        const inner = (message as { outer: { inner: Record<string, unknown> } }).outer.inner;
        for (const [key, value] of Object.entries(bytes)) {
          expect(inner[key]).toBeInstanceOf(Uint8Array);
          expect(Buffer.from(inner[key] as Uint8Array).equals(Buffer.from(value))).toBe(true);
        }
        for (const [key, value] of Object.entries(texts)) expect(inner[key]).toBe(value);
      });

      it('round-trips numbers, booleans, null, arrays and nested objects', async () => {
        const message = {
          int: 42,
          negative: -7,
          float: 3.25,
          big: Number.MAX_SAFE_INTEGER,
          yes: true,
          no: false,
          none: null,
          list: [1, 'two', [3, { four: [Buffer.from('5')] }], []],
          empty: {},
          headers: [
            [Buffer.from('host'), Buffer.from('example.com')],
            [Buffer.from('cookie'), Buffer.from('a=b')],
          ],
        };
        await layer.send('values', message);
        expect(await layer.receive(['values'])).toEqual(['values', message]);
      });

      it('queues a snapshot: changing the message after send changes nothing received', async () => {
        const message = { list: [1, 2, 3], nested: { value: 'before' }, bytes: Buffer.from('abc') };
        await layer.send('snapshot', message);
        message.list.push(4);
        message.nested.value = 'after';
        message.bytes[0] = 0x7a;
        const [, received] = await layer.receive(['snapshot']);
        expect(received).toEqual({ list: [1, 2, 3], nested: { value: 'before' }, bytes: Buffer.from('abc') });
      });

      it('sends one message object to several process channels intact', async () => {
        const message = { shared: 'yes' };
        await layer.send('fan!a', message);
        await layer.send('fan!b', message);
        expect(message).toEqual({ shared: 'yes' });
        expect(await drain(layer, ['fan!'])).toEqual([
          ['fan!a', { shared: 'yes' }],
          ['fan!b', { shared: 'yes' }],
        ]);
      });
    });

    describe('bad input', () => {
      const badChannels: unknown[] = [
        'name£',
        'a'.repeat(100),
        'one?two?three',
        'four!five!six',
        'some+other!thing',
        'ends.with?',
        '',
        'space here',
        42,
        null,
      ];

      it.each(badChannels)('refuses the channel name %p with a TypeError', async (channel) => {
        await expect(layer.send(channel as string, {})).rejects.toThrow(TypeError);
        await expect(layer.groupAdd('group', channel as string)).rejects.toThrow(TypeError);
      });

      it('accepts the longest and most unusual valid names', async () => {
        for (const channel of ['a'.repeat(99), '0.a_b-c?d_e-f.1', 'http.response!ab0def', 'x!']) {
          await layer.send(channel, { ok: 1 });
        }
      });

      it.each(['foo.bar?baz', 'foo.bar!baz', 'a b', 'a'.repeat(100), '', 7])(
        'refuses the group name %p with a TypeError',
        async (group) => {
          await expect(layer.groupAdd(group as string, 'chan')).rejects.toThrow(TypeError);
          await expect(layer.sendGroup(group as string, {})).rejects.toThrow(TypeError);
          await expect(layer.groupChannels(group as string)).rejects.toThrow(TypeError);
        },
      );

      class Point {
        constructor(readonly x = 1) {}
      }
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const badMessages: Array<[string, unknown]> = [
        ['a function', { f: () => 1 }],
        ['a class instance', { p: new Point() }],
        ['a Date', { when: new Date() }],
        ['a Map', { m: new Map() }],
        ['an undefined value', { u: undefined }],
        ['undefined in an array', { list: [1, undefined] }],
        ['a bigint', { n: BigInt(1) }],
        ['a symbol', { s: Symbol('s') }],
        ['a circular object', circular],
        ['an array at the top', [1, 2]],
        ['a string at the top', 'hello'],
        ['null at the top', null],
        ['a class instance at the top', new Point()],
      ];

      it.each(badMessages)('refuses a message with %s with a TypeError, losing nothing queued', async (_what, bad) => {
        await layer.send('keep', { kept: true });
        await expect(layer.send('keep', bad as ChannelMessage)).rejects.toThrow(TypeError);
        await expect(layer.sendGroup('group', bad as ChannelMessage)).rejects.toThrow(TypeError);
        expect(await drain(layer, ['keep'])).toEqual([['keep', { kept: true }]]);
      });

      it('names the offending path in the TypeError', async () => {
        await expect(layer.send('x', { outer: { list: [1, () => 2] } } as unknown as ChannelMessage)).rejects.toThrow(
          /outer\.list\[1\]/,
        );
      });

      it('refuses a message over the size limit with MessageTooLarge, losing nothing queued', async () => {
        const small = await make({ maxMessageSize: 1024 });
        await small.groupAdd('big', 'member');
        await small.send('big', { ok: 'x'.repeat(500) });
        const error = await small.send('big', { text: 'x'.repeat(2000) }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MessageTooLarge);
        expect(error).toBeInstanceOf(small.MessageTooLarge);
        expect((error as MessageTooLarge).limit).toBe(1024);
        await expect(small.sendGroup('big', { bytes: Buffer.alloc(2000) })).rejects.toThrow(MessageTooLarge);
        expect(await drain(small, ['big', 'member'])).toEqual([['big', { ok: 'x'.repeat(500) }]]);
      });

      it('accepts messages up to 1 MiB by default', async () => {
        const roomy = await make({ expiry: 60 });
        await roomy.send('large', { body: Buffer.alloc(1000 * 1000, 7) });
        const [, message] = await roomy.receive(['large']);
        expect((message?.body as Buffer).length).toBe(1000 * 1000);
        await expect(roomy.send('large', { body: Buffer.alloc(1024 * 1024 + 1) })).rejects.toThrow(MessageTooLarge);
      });
    });

    describe('capacity', () => {
      it('raises ChannelFull once a channel holds capacity messages', async () => {
        for (let i = 0; i < 5; i++) await layer.send('cap_test', { i });
        const error = await layer.send('cap_test', { i: 5 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ChannelFull);
        expect(error).toBeInstanceOf(layer.ChannelFull);
        expect((error as ChannelFull).channel).toBe('cap_test');
        expect(await drain(layer, ['cap_test'])).toHaveLength(5);
        await layer.send('cap_test', { i: 6 });
      });

      it('counts process channels on their shared prefix, with 10 × capacity by default', async () => {
        for (let i = 0; i < 50; i++) await layer.send(`c!${i}`, {});
        await expect(layer.send('c!final', {})).rejects.toThrow(ChannelFull);
        await layer.send('d!other', {});
      });

      it('gives process channels processCapacity when set, and channelCapacity wins over it', async () => {
        const custom = await make({ capacity: 3, processCapacity: 2, channelCapacity: [['wide!*', 4]] });
        for (let i = 0; i < 2; i++) await custom.send(`p!${i}`, {});
        await expect(custom.send('p!more', {})).rejects.toThrow(ChannelFull);
        for (let i = 0; i < 4; i++) await custom.send(`wide!${i}`, {});
        await expect(custom.send('wide!more', {})).rejects.toThrow(ChannelFull);
        await expect(make({ processCapacity: 0 })).rejects.toThrow(TypeError);
      });

      it('applies per-channel capacities from globs and RegExps, first match wins', async () => {
        const custom = await make({
          capacity: 3,
          channelCapacity: [
            ['wide.*', 8],
            [/^tiny$/, 1],
            ['wide.narrow', 2],
            ['reply!*', 4],
          ],
        });
        const fill = async (channel: string): Promise<number> => {
          let sent = 0;
          while (sent < 20) {
            try {
              await custom.send(channel, {});
              sent++;
            } catch (error) {
              if (error instanceof ChannelFull) return sent;
              throw error;
            }
          }
          return sent;
        };
        expect(await fill('wide.one')).toBe(8);
        expect(await fill('wide.narrow')).toBe(8);
        expect(await fill('tiny')).toBe(1);
        expect(await fill('other')).toBe(3);
        expect(await fill('reply!abc')).toBe(4);
      });

      it('frees capacity taken by expired messages', async () => {
        for (let i = 0; i < 5; i++) await layer.send('cap_expire', { i });
        await sleep(1200);
        await layer.send('cap_expire', { fresh: true });
        expect(await drain(layer, ['cap_expire'])).toEqual([['cap_expire', { fresh: true }]]);
      });
    });

    describe('batch: sendMany', () => {
      it('sends in order, one result per message', async () => {
        const results = await layer.sendMany!([
          ['batch.a', { n: 1 }],
          ['batch.b', { n: 2 }],
          ['batch.a', { n: 3 }],
          ['batch.r!x', { n: 4 }],
        ]);
        expect(results).toEqual([true, true, true, true]);
        expect(await drain(layer, ['batch.a'])).toEqual([
          ['batch.a', { n: 1 }],
          ['batch.a', { n: 3 }],
        ]);
        expect(await drain(layer, ['batch.b', 'batch.r!'])).toEqual(
          expect.arrayContaining([
            ['batch.b', { n: 2 }],
            ['batch.r!x', { n: 4 }],
          ]),
        );
      });

      it('refuses what does not fit, per message, and the rest of that channel after it', async () => {
        for (let i = 0; i < 4; i++) await layer.send('batch.full', { i });
        const results = await layer.sendMany!([
          ['batch.full', { i: 4 }],
          ['batch.other', { i: 0 }],
          ['batch.full', { i: 5 }],
          ['batch.full', { i: 6 }],
        ]);
        expect(results).toEqual([true, true, false, false]);
        expect((await drain(layer, ['batch.full'])).map(([, m]) => m.i)).toEqual([0, 1, 2, 3, 4]);
        expect(await drain(layer, ['batch.other'])).toEqual([['batch.other', { i: 0 }]]);
      });

      it('sends nothing when one message is bad', async () => {
        await expect(
          layer.sendMany!([
            ['batch.ok', { a: 1 }],
            ['bad name', {}],
          ]),
        ).rejects.toThrow(TypeError);
        const big = await make({ maxMessageSize: 1024 });
        await expect(
          big.sendMany!([
            ['batch.ok', { a: 1 }],
            ['batch.ok', { blob: Buffer.alloc(4096) }],
          ]),
        ).rejects.toThrow(MessageTooLarge);
        expect(await drain(layer, ['batch.ok'])).toEqual([]);
        expect(await drain(big, ['batch.ok'])).toEqual([]);
      });

      it('keeps per-channel order for sends made at once', async () => {
        const many = await make({ capacity: 100 });
        await Promise.all(Array.from({ length: 50 }, (_, i) => many.send('batch.order', { i })));
        expect((await drain(many, ['batch.order'])).map(([, m]) => m.i)).toEqual(
          Array.from({ length: 50 }, (_, i) => i),
        );
      });
    });

    describe('groups', () => {
      it('sends to the members left after a discard', async () => {
        for (const channel of ['tg_1', 'tg_2', 'tg_3']) await layer.groupAdd('tgroup', channel);
        await layer.groupDiscard('tgroup', 'tg_2');
        await layer.sendGroup('tgroup', { value: 'orange' });
        expect(await layer.receive(['tg_1'])).toEqual(['tg_1', { value: 'orange' }]);
        expect(await layer.receive(['tg_2'])).toEqual([null, null]);
        expect(await layer.receive(['tg_3'])).toEqual(['tg_3', { value: 'orange' }]);
      });

      it('sends to process-channel members through their prefix', async () => {
        for (const channel of ['p!a', 'p!b', 'p!c']) await layer.groupAdd('pgroup', channel);
        await layer.groupDiscard('pgroup', 'p!b');
        await layer.sendGroup('pgroup', { value: 'orange' });
        const received = await drain(layer, ['p!']);
        expect(received.map(([channel]) => channel).sort()).toEqual(['p!a', 'p!c']);
        expect(received.every(([, message]) => message.value === 'orange')).toBe(true);
      });

      it('gives each member its own copy', async () => {
        await layer.groupAdd('copies', 'copy!a');
        await layer.groupAdd('copies', 'copy!b');
        await layer.sendGroup('copies', { list: [1] });
        const [, first] = await layer.receive(['copy!']);
        (first?.list as number[]).push(2);
        const [, second] = await layer.receive(['copy!']);
        expect(second).toEqual({ list: [1] });
      });

      it('lists exactly the current members', async () => {
        for (const channel of ['m1', 'm2!x', 'm3?y']) await layer.groupAdd('list', channel);
        await layer.groupAdd('list', 'm1');
        expect((await layer.groupChannels('list')).sort()).toEqual(['m1', 'm2!x', 'm3?y']);
        await layer.groupDiscard('list', 'm2!x');
        await layer.groupDiscard('list', 'not-a-member');
        expect((await layer.groupChannels('list')).sort()).toEqual(['m1', 'm3?y']);
        expect(await layer.groupChannels('unknown')).toEqual([]);
      });

      it('reaches hundreds of members on one process prefix and on separate channels', async () => {
        const big = await make({ capacity: 1000, expiry: 30 });
        for (let i = 0; i < 300; i++) await big.groupAdd('crowd', `crowd.reply!c${i}`);
        for (let i = 0; i < 50; i++) await big.groupAdd('crowd', `crowd.inbox.${i}`);
        await big.sendGroup('crowd', { hello: 'all' });
        const replies = await drain(big, ['crowd.reply!']);
        expect(replies.map(([channel]) => channel).sort()).toEqual(
          Array.from({ length: 300 }, (_, i) => `crowd.reply!c${i}`).sort(),
        );
        for (let i = 0; i < 50; i++) {
          expect(await big.receive([`crowd.inbox.${i}`])).toEqual([`crowd.inbox.${i}`, { hello: 'all' }]);
        }
      });

      it('never raises ChannelFull from a group send; full members miss the message', async () => {
        await layer.groupAdd('gfull', 'gfull_member');
        for (let i = 0; i < 7; i++) await layer.sendGroup('gfull', { i });
        expect(await drain(layer, ['gfull_member'])).toHaveLength(5);
        const stats = await layer.channelStatistics('gfull_member');
        expect(stats.channel_full_count).toBe(2);
      });

      it('expires memberships groupExpiry after the latest add', async () => {
        await layer.groupAdd('gexpiry', 'gexpiry_old');
        await layer.groupAdd('gexpiry', 'gexpiry_fresh');
        await sleep(1200);
        await layer.groupAdd('gexpiry', 'gexpiry_fresh');
        await sleep(1200);
        expect(await layer.groupChannels('gexpiry')).toEqual(['gexpiry_fresh']);
        await layer.sendGroup('gexpiry', { late: true });
        expect(await layer.receive(['gexpiry_old'])).toEqual([null, null]);
        expect(await layer.receive(['gexpiry_fresh'])).toEqual(['gexpiry_fresh', { late: true }]);
      });

      it('drops a channel from all its groups when a message to it expires', async () => {
        for (const group of ['gc_one', 'gc_two']) {
          await layer.groupAdd(group, 'gc!dead');
          await layer.groupAdd(group, 'gc!alive');
        }
        await layer.send('gc!dead', { never: 'read' });
        await sleep(1200);
        await layer.sendGroup('gc_one', { after: 'expiry' });
        expect(await drain(layer, ['gc!'])).toEqual([['gc!alive', { after: 'expiry' }]]);
        expect(await layer.groupChannels('gc_one')).toEqual(['gc!alive']);
        expect(await layer.groupChannels('gc_two')).toEqual(['gc!alive']);
      });
    });

    describe('flush', () => {
      it('empties channels', async () => {
        await layer.send('fl_test', {});
        await layer.flush();
        expect(await layer.receive(['fl_test'])).toEqual([null, null]);
      });

      it('empties groups and what was sent through them', async () => {
        await layer.groupAdd('fl_group', 'fl_test');
        await layer.sendGroup('fl_group', {});
        await layer.flush();
        expect(await layer.receive(['fl_test'])).toEqual([null, null]);
        expect(await layer.groupChannels('fl_group')).toEqual([]);
        await layer.sendGroup('fl_group', {});
        expect(await layer.receive(['fl_test'])).toEqual([null, null]);
      });
    });

    describe('statistics', () => {
      it('counts messages, pending messages, their age and ChannelFull raises', async () => {
        await layer.send('st!a', {});
        await layer.send('st!b', {});
        await sleep(100);
        const channel = await layer.channelStatistics('st!a');
        expect(channel.messages_count).toBe(2);
        expect(channel.messages_pending).toBe(2);
        expect(channel.messages_max_age).toBeGreaterThan(0);
        expect(channel.channel_full_count).toBe(0);
        // A process channel holds processCapacity: 10 × capacity (5) here.
        for (let i = 0; i < 48; i++) await layer.send('st!c', {});
        await expect(layer.send('st!d', {})).rejects.toThrow(ChannelFull);
        const after = await layer.channelStatistics('st!');
        expect(after.channel_full_count).toBe(1);
        const global = await layer.globalStatistics();
        expect(global.messages_count).toBe(50);
        expect(global.channel_full_count).toBe(1);
        await drain(layer, ['st!']);
        expect((await layer.channelStatistics('st!x')).messages_pending).toBe(0);
      });

      it('reports zeros for a channel it has never seen', async () => {
        expect(await layer.channelStatistics('never.seen')).toEqual({
          messages_count: 0,
          channel_full_count: 0,
          messages_pending: 0,
          messages_max_age: 0,
        });
      });
    });
  });
}

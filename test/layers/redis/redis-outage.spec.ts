import { Logger } from '@nestjs/common';
import { LayerUnavailable, RedisChannelLayer, type ChannelMessage, type RedisChannelLayerOptions } from '../../../src';
import { serverPid, startRedisServer, uniquePrefix, type SpawnedRedis } from '../../support/redis-server';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a promise ended, and when (ms after `since`), without an unhandled rejection meanwhile. */
interface Outcome {
  ok: boolean;
  error?: unknown;
  at: number;
}

function outcome(promise: Promise<unknown>, since: number): Promise<Outcome> {
  return promise.then(
    () => ({ ok: true, at: Date.now() - since }),
    (error: unknown) => ({ ok: false, error, at: Date.now() - since }),
  );
}

/** Receives until `count` messages came from `channels` or `ms` passed. */
async function receiveAll(
  layer: RedisChannelLayer,
  channels: string[],
  count: number,
  ms: number,
): Promise<Array<[string, ChannelMessage]>> {
  const got: Array<[string, ChannelMessage]> = [];
  const deadline = Date.now() + ms;
  while (got.length < count && Date.now() < deadline) {
    const [channel, message] = await layer.receive(channels, { block: true, timeout: 1 });
    if (channel) got.push([channel, message]);
  }
  return got;
}

/** The `n` of each message received on `channel`, in the order received. */
function numbersOn(received: Array<[string, ChannelMessage]>, channel: string): number[] {
  return received.filter(([name]) => name === channel).map(([, message]) => message.n as number);
}

describe('RedisChannelLayer through a Redis outage (outage buffer)', () => {
  let server: SpawnedRedis;
  let pid: number;
  let host: string;
  const layers: RedisChannelLayer[] = [];
  /** Log lines of the layers, by level, for this server only. */
  let logged: { warn: string[]; log: string[] };

  const layer = (options: RedisChannelLayerOptions = {}): RedisChannelLayer => {
    const created = new RedisChannelLayer({ hosts: [server.url], prefix: uniquePrefix('outage'), ...options });
    layers.push(created);
    return created;
  };
  const linesAbout = (lines: string[], text: string): string[] =>
    lines.filter((line) => line.includes(host) && line.includes(text));

  beforeAll(async () => {
    server = await startRedisServer();
    pid = await serverPid(server.url);
    host = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    logged = { warn: [], log: [] };
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      logged.warn.push(String(message));
    });
    jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => {
      logged.log.push(String(message));
    });
  });
  afterEach(async () => {
    // Whatever a test did, Redis runs again for the next one.
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // killed: started again below
    }
    if (!(await serverRunning())) {
      await server.start();
      pid = await serverPid(server.url);
    }
    await Promise.all(layers.splice(0).map((created) => created.close()));
    jest.restoreAllMocks();
  });

  async function serverRunning(): Promise<boolean> {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  it('loses nothing sent or received during a 4.5 s stall (SIGSTOP): all of it arrives, in order per channel', async () => {
    // A small maxInFlight so most of the stall's sends wait in the outage buffer, not in ioredis.
    const sender = layer({ capacity: 5000, maxInFlight: 20 });
    const receiver = new RedisChannelLayer({ hosts: [server.url], prefix: sender.prefix, capacity: 5000 });
    layers.push(receiver);
    const channels = ['stall.a', 'stall!b'];
    await sender.send('stall.a', { n: -1 });
    expect(await receiver.receive(['stall.a'], { block: true, timeout: 5 })).toEqual(['stall.a', { n: -1 }]);
    // Idle, ready connections in the receiver's pool: a receive started in the stall is written at once.
    await Promise.all(Array.from({ length: 6 }, () => receiver.receive(['warm'], { block: true, timeout: 0.2 })));

    // Receivers wait all along, with timeouts far shorter than the stall: a pop outlives its
    // timeout (and its grace) in the stall, and must not be given up, or what Redis pops for it
    // when it wakes up would go to a closed connection.
    const received: Array<[string, ChannelMessage]> = [];
    let receiving = true;
    const loops = [['stall.a'], ['stall!']].map(async (names) => {
      while (receiving) {
        const [channel, message] = await receiver.receive(names, { block: true, timeout: 0.1 });
        if (channel) received.push([channel, message]);
      }
    });

    const sends: Array<Promise<void>> = [];
    const sent: Record<string, number[]> = { 'stall.a': [], 'stall!b': [] };
    let n = 0;
    const sendSome = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++, n++) {
        const channel = channels[n % 2];
        sent[channel].push(n);
        sends.push(sender.send(channel, { n }));
        if (i % 5 === 4) await sleep(10);
      }
    };
    await sendSome(50);
    process.kill(pid, 'SIGSTOP');
    const stalledAt = Date.now();
    while (Date.now() - stalledAt < 4500) await sendSome(20);
    const duringStall = n - 50;
    process.kill(pid, 'SIGCONT');
    await sendSome(50);

    const results = await Promise.all(sends.map((send) => outcome(send, stalledAt)));
    expect(results.filter((result) => !result.ok)).toEqual([]);
    const deadline = Date.now() + 10_000;
    while (received.length < n && Date.now() < deadline) await sleep(50);
    receiving = false;
    await Promise.all(loops);

    expect(duringStall).toBeGreaterThan(200);
    for (const channel of channels) expect(numbersOn(received, channel)).toEqual(sent[channel]);
    expect((await sender.globalStatistics()).layer_unavailable_count).toBe(0);
    expect((await receiver.globalStatistics()).messages_dropped_count).toBe(0);
    expect(linesAbout(logged.warn, 'LayerUnavailable')).toEqual([]);
    // The end of the stall is told once, with nothing lost.
    expect(linesAbout(logged.log, 'answers again after')).toEqual([expect.stringMatching(/went out, none lost/)]);
  }, 40_000);

  it('delivers, in order, what was sent while Redis restarted (SIGKILL, then started again)', async () => {
    const sender = layer({ capacity: 1000 });
    await sender.send('restart', { n: -1 });
    expect(await sender.receive(['restart'], { block: true, timeout: 5 })).toEqual(['restart', { n: -1 }]);

    await server.kill();
    await sleep(300); // the layer has seen the connection close
    const sends: Array<Promise<void>> = [];
    for (let n = 0; n < 100; n++) {
      sends.push(sender.send('restart', { n }));
      if (n % 20 === 19) await sleep(50);
    }
    await sleep(500);
    await server.start();
    pid = await serverPid(server.url);
    const results = await Promise.all(sends.map((send) => outcome(send, Date.now())));
    expect(results.filter((result) => !result.ok)).toEqual([]);

    const received = await receiveAll(sender, ['restart'], 100, 10_000);
    expect(numbersOn(received, 'restart')).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(await sender.receive(['restart'])).toEqual([null, null]);
    expect((await sender.globalStatistics()).layer_unavailable_count).toBe(0);
  }, 30_000);

  it('past its limits refuses at once (buffer full) or at maxAge (too old), never sends later, and warns once', async () => {
    const sender = layer({ maxInFlight: 2, outageBuffer: { maxMessages: 5, maxAge: 0.5 } });
    await sender.send('limits', { warm: true });
    expect(await sender.receive(['limits'])).toEqual(['limits', { warm: true }]);

    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    // 2 go to Redis (in flight, stalled), 5 wait in the buffer, 3 are refused at once. Each send
    // in a tick of its own: sends of one tick to one host go out as one call (one batch).
    const results: Array<ReturnType<typeof outcome>> = [];
    for (let n = 0; n < 10; n++) {
      results.push(outcome(sender.send('limits', { n }), stoppedAt));
      await Promise.resolve();
    }
    const refusedAtOnce = await Promise.all(results.slice(7));
    for (const refused of refusedAtOnce) {
      expect(refused.error).toBeInstanceOf(LayerUnavailable);
      expect((refused.error as LayerUnavailable).reason).toBe('buffer_full');
      expect((refused.error as LayerUnavailable).host).toBe(host);
      expect((refused.error as Error).message).toMatch(/outage buffer is full.*the message was not sent/);
      expect(refused.at).toBeLessThan(400);
    }
    const aged = await Promise.all(results.slice(2, 7));
    for (const old of aged) {
      expect(old.error).toBeInstanceOf(LayerUnavailable);
      expect((old.error as LayerUnavailable).reason).toBe('too_old');
      expect(old.at).toBeGreaterThanOrEqual(450);
      expect(old.at).toBeLessThan(5000);
    }
    // Other calls wait in the same buffer, and fail the same way (not counted: no message lost).
    await expect(sender.globalStatistics()).rejects.toThrow(LayerUnavailable);

    process.kill(pid, 'SIGCONT');
    const inFlight = await Promise.all(results.slice(0, 2));
    expect(inFlight.map((result) => result.ok)).toEqual([true, true]);
    // Only the two handed to Redis arrive; the refused ones never do.
    const received = await receiveAll(sender, ['limits'], 3, 2000);
    expect(numbersOn(received, 'limits')).toEqual([0, 1]);
    expect((await sender.globalStatistics()).layer_unavailable_count).toBe(8);
    // One warning at the first loss, one line when Redis answers again, nothing per message.
    expect(linesAbout(logged.warn, 'further losses are only counted')).toHaveLength(1);
    expect(linesAbout(logged.warn, 'answers again after')).toEqual([
      expect.stringMatching(/8 messages failed with LayerUnavailable meanwhile/),
    ]);
    expect(logged.warn.filter((line) => line.includes(host))).toHaveLength(2);
  }, 20_000);

  it('refuses a send whose bytes would overflow maxBytes, while Redis is down', async () => {
    const sender = layer({ outageBuffer: { maxBytes: 1500, maxAge: 5 } });
    await sender.send('bytes', {});
    await sender.receive(['bytes']);
    await server.kill();
    await sleep(300);
    const since = Date.now();
    const first = outcome(sender.send('bytes', { text: 'x'.repeat(1000) }), since);
    await Promise.resolve(); // a tick of its own: not batched with the next send
    const second = await outcome(sender.send('bytes', { text: 'y'.repeat(1000) }), since);
    expect((second.error as LayerUnavailable).reason).toBe('buffer_full');
    expect(second.at).toBeLessThan(400);
    const small = outcome(sender.send('bytes', { text: 'z' }), since);
    await server.start();
    pid = await serverPid(server.url);
    expect((await first).ok).toBe(true);
    expect((await small).ok).toBe(true);
    const received = await receiveAll(sender, ['bytes'], 2, 5000);
    expect(received.map(([, message]) => (message.text as string)[0])).toEqual(['x', 'z']);
    expect((await sender.globalStatistics()).layer_unavailable_count).toBe(1);
  }, 20_000);

  it('fails a send in flight when the connection drops, and never sends it again (at most once)', async () => {
    const sender = layer();
    await sender.send('lost', { warm: true });
    await sender.receive(['lost']);
    process.kill(pid, 'SIGSTOP');
    const since = Date.now();
    // Written to the socket, never read by the stopped server; then the server dies.
    const inFlight = outcome(sender.send('lost', { n: 1 }), since);
    await sleep(200);
    await server.kill();
    const result = await inFlight;
    expect(result.error).toBeInstanceOf(LayerUnavailable);
    expect((result.error as LayerUnavailable).reason).toBe('connection_lost');
    expect((result.error as Error).message).toMatch(/may or may not have been carried out/);

    await server.start();
    pid = await serverPid(server.url);
    await sender.send('lost', { n: 2 }); // waits for the reconnect, then goes out
    expect(await receiveAll(sender, ['lost'], 2, 2000)).toEqual([['lost', { n: 2 }]]);
    expect((await sender.globalStatistics()).layer_unavailable_count).toBe(1);
    expect(linesAbout(logged.warn, 'further losses are only counted')).toHaveLength(1);
  }, 20_000);

  it('refuses what waits at once when the layer closes during an outage', async () => {
    const sender = layer({ outageBuffer: { maxAge: 10 } });
    await sender.send('closing', {});
    await server.kill();
    await sleep(300);
    const since = Date.now();
    const waiting = outcome(sender.send('closing', { n: 1 }), since);
    await sleep(100);
    await sender.close();
    const result = await waiting;
    expect((result.error as LayerUnavailable).reason).toBe('closing');
    expect(result.at).toBeLessThan(2000);
  }, 20_000);

  it('throws a clear TypeError on bad outageBuffer and maxInFlight values', () => {
    const make = (options: RedisChannelLayerOptions): RedisChannelLayer =>
      new RedisChannelLayer({ hosts: [server.url], ...options });
    expect(() => make({ outageBuffer: { maxMessages: -1 } })).toThrow(
      new TypeError('outageBuffer.maxMessages must be an integer >= 0, got -1'),
    );
    expect(() => make({ outageBuffer: { maxMessages: 1.5 } })).toThrow(/outageBuffer.maxMessages/);
    expect(() => make({ outageBuffer: { maxBytes: 0 } })).toThrow(
      new TypeError('outageBuffer.maxBytes must be an integer >= 1, got 0'),
    );
    expect(() => make({ outageBuffer: { maxAge: 0 } })).toThrow(
      new TypeError('outageBuffer.maxAge must be a positive finite number of seconds, got 0'),
    );
    expect(() => make({ outageBuffer: { maxAge: Infinity } })).toThrow(TypeError);
    expect(() => make({ outageBuffer: { maxAge: '10' as never } })).toThrow(TypeError);
    expect(() => make({ outageBuffer: 'big' as never })).toThrow(/outageBuffer must be an object/);
    expect(() => make({ maxInFlight: 0 })).toThrow(new TypeError('maxInFlight must be an integer >= 1, got 0'));
    // Good values construct (and maxMessages 0 turns the buffer off).
    const ok = make({ outageBuffer: { maxMessages: 0, maxBytes: 1, maxAge: 0.1 }, maxInFlight: 1 });
    layers.push(ok);
  });
});

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ReceiveWaiters } from '../../src/layers/memory/receive-waiters';

const elapsedSince = (start: number): number => performance.now() - start;

describe('ReceiveWaiters (blocked receives of the in-memory layer)', () => {
  let waiters: ReceiveWaiters<string>;

  beforeEach(() => {
    waiters = new ReceiveWaiters<string>();
  });
  afterEach(() => waiters.endAll());

  it('hands values to the longest-blocked receive first, on any of its keys', async () => {
    const first = waiters.wait(['a', 'b'], 1000);
    const second = waiters.wait(['a'], 1000);
    expect(waiters.deliver('a', 'one')).toBe(true);
    expect(waiters.deliver('a', 'two')).toBe(true);
    expect(waiters.deliver('a', 'three')).toBe(false);
    expect(waiters.deliver('b', 'four')).toBe(false);
    await expect(first).resolves.toBe('one');
    await expect(second).resolves.toBe('two');
  });

  it('ends each receive at its own deadline, an earlier one included', async () => {
    const start = performance.now();
    const late = waiters.wait(['x'], 400).then((value) => [value, elapsedSince(start)]);
    const early = waiters.wait(['y'], 50).then((value) => [value, elapsedSince(start)]);
    const [earlyValue, earlyAt] = await early;
    expect(earlyValue).toBeNull();
    expect(earlyAt).toBeGreaterThanOrEqual(45);
    expect(earlyAt).toBeLessThan(400);
    const [lateValue, lateAt] = await late;
    expect(lateValue).toBeNull();
    expect(lateAt).toBeGreaterThanOrEqual(395);
  });

  it('serves many blocked receives with the same timeout from one timer', async () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    try {
      const start = performance.now();
      const blocked = Array.from({ length: 50 }, (_, i) => waiters.wait([`k${i}`], 300 + i));
      for (let i = 0; i < 25; i++) expect(waiters.deliver(`k${i}`, `v${i}`)).toBe(true);
      const results = await Promise.all(blocked);
      expect(results.slice(0, 25)).toEqual(Array.from({ length: 25 }, (_, i) => `v${i}`));
      expect(results.slice(25)).toEqual(Array(25).fill(null));
      expect(elapsedSince(start)).toBeGreaterThanOrEqual(295 + 25);
      // One timer for the first deadline, then one per later deadline still pending when it fired.
      expect(setTimeoutSpy.mock.calls.length).toBeLessThanOrEqual(27);
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });

  it('ends every receive given an aborted signal, with one listener for all of them', async () => {
    const controller = new AbortController();
    const addListener = jest.spyOn(controller.signal, 'addEventListener');
    const blocked = Array.from({ length: 20 }, () => waiters.wait(['s'], Infinity, controller.signal));
    expect(waiters.deliver('s', 'served')).toBe(true);
    const other = waiters.wait(['t'], Infinity);
    controller.abort();
    const results = await Promise.all(blocked);
    expect(results[0]).toBe('served');
    expect(results.slice(1)).toEqual(Array(19).fill(null));
    expect(addListener).toHaveBeenCalledTimes(1);
    // A receive without the signal is not ended by it.
    expect(waiters.deliver('t', 'still here')).toBe(true);
    await expect(other).resolves.toBe('still here');
  });

  it('ends every receive with null on endAll', async () => {
    const blocked = [waiters.wait(['e'], Infinity), waiters.wait(['f'], 10_000)];
    waiters.endAll();
    await expect(Promise.all(blocked)).resolves.toEqual([null, null]);
    expect(waiters.deliver('e', 'late')).toBe(false);
  });

  it('does not keep the process alive once the receives holding a long timeout are served', () => {
    const script = `
      const { InMemoryChannelLayer } = require('./src');
      const layer = new InMemoryChannelLayer();
      const start = Date.now();
      layer.receive(['wait'], { block: true, timeout: 60 }).then(([channel]) => console.log(channel));
      void layer.send('wait', { hello: 1 });
      process.on('exit', () => console.log('exit after', Date.now() - start));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    const [channel, exit] = run.stdout.trim().split('\n');
    expect(channel).toBe('wait');
    expect(Number(exit.replace('exit after ', ''))).toBeLessThan(10_000);
  });
});

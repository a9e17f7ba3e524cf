import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcChannelLayer, IpcStoreError, LayerUnavailable, type ChannelMessage } from '../../../src';
import { openDatabase } from '../../../src/layers/ipc/sqlite-driver';
import { IpcChild } from './child-process';

type Received = { result: [string, ChannelMessage] | [null, null]; waitedMs: number };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let folder: string;
let store: string;
const layers: IpcChannelLayer[] = [];
const children: IpcChild[] = [];

function layer(options: Partial<ConstructorParameters<typeof IpcChannelLayer>[0]> = {}): IpcChannelLayer {
  const made = new IpcChannelLayer({ path: store, ...options });
  layers.push(made);
  return made;
}

async function child(options: Record<string, unknown> = {}): Promise<IpcChild> {
  const started = await IpcChild.start();
  children.push(started);
  await started.call('open', { path: store, ...options });
  return started;
}

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), 'ipc-cross-'));
  store = join(folder, 'store.db');
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(layers.splice(0).map((l) => l.close()));
  rmSync(folder, { recursive: true, force: true });
});

describe('IpcChannelLayer across processes', () => {
  it('uses node:sqlite where Node has it, better-sqlite3 otherwise', () => {
    const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:sqlite');
    expect(layer().driver).toBe(builtin ? 'node:sqlite' : 'better-sqlite3');
  });

  it('names the fix when the other driver is asked for and cannot load, and shares the store when it can', async () => {
    const builtin = layer().driver === 'node:sqlite';
    const other = builtin ? 'better-sqlite3' : 'node:sqlite';
    let second: IpcChannelLayer;
    try {
      second = layer({ driver: other });
    } catch (error) {
      expect((error as Error).message).toMatch(
        builtin ? /npm install better-sqlite3@12/ : /node:sqlite is not available/,
      );
      return;
    }
    // Both drivers load here (better-sqlite3 built for this Node): they share one store.
    expect(second.driver).toBe(other);
    await layers[0].send('drivers', { from: 'first' });
    expect(await second.receive(['drivers'])).toEqual(['drivers', { from: 'first' }]);
  });

  it('takes no more than max in a receiveMany of what another process sent with sendMany', async () => {
    const here = layer({ capacity: 100 });
    const other = await child({ capacity: 100 });
    const results = await here.sendMany(Array.from({ length: 25 }, (_, n) => ['many.items', { n }] as const));
    expect(results.every(Boolean)).toBe(true);
    const firstTen = await other.call<Array<[string, ChannelMessage]>>('receiveMany', ['many.items'], { max: 10 });
    expect(firstTen.map(([, message]) => message.n)).toEqual([...Array(10).keys()]);
    const rest = await other.call<Array<[string, ChannelMessage]>>('receiveUntil', ['many.items'], 100, 0.3);
    expect(rest.map(([, message]) => message.n)).toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
  });

  it('delivers a message sent by one process to another, both ways', async () => {
    const here = layer();
    const other = await child();
    await here.send('to.child', { text: 'hello', n: 1 });
    const received = await other.call<Received>('receive', ['to.child'], { block: true, timeout: 5 });
    expect(received.result).toEqual(['to.child', { text: 'hello', n: 1 }]);
    await other.call('send', 'to.parent', { text: 'back' });
    expect(await here.receive(['to.parent'], { block: true, timeout: 5 })).toEqual(['to.parent', { text: 'back' }]);
  });

  it('gives process channels to their owner only, in order, labelled with their full names', async () => {
    const here = layer();
    const [a, b] = await Promise.all([child(), child()]);
    await here.send('a!1', { n: 1 });
    await here.send('b!1', { n: 2 });
    await here.send('a!2', { n: 3 });
    const [fromA, fromB] = await Promise.all([
      a.call<Array<[string, ChannelMessage]>>('receiveUntil', ['a!'], 3, 0.5),
      b.call<Array<[string, ChannelMessage]>>('receiveUntil', ['b!'], 3, 0.5),
    ]);
    expect(fromA).toEqual([
      ['a!1', { n: 1 }],
      ['a!2', { n: 3 }],
    ]);
    expect(fromB).toEqual([['b!1', { n: 2 }]]);
  });

  it('shares groups: members added by one process get what another sends to the group', async () => {
    const here = layer();
    const [a, b] = await Promise.all([child(), child()]);
    await a.call('groupAdd', 'room', 'a!sock');
    await b.call('groupAdd', 'room', 'b!sock');
    expect((await here.groupChannels('room')).sort()).toEqual(['a!sock', 'b!sock']);
    await here.sendGroup('room', { said: 'hi' });
    const [fromA, fromB] = await Promise.all([
      a.call<Received>('receive', ['a!'], { block: true, timeout: 5 }),
      b.call<Received>('receive', ['b!'], { block: true, timeout: 5 }),
    ]);
    expect(fromA.result).toEqual(['a!sock', { said: 'hi' }]);
    expect(fromB.result).toEqual(['b!sock', { said: 'hi' }]);
  });

  it('wakes a blocked receive in another process on a send, without waiting for the safety net', async () => {
    const here = layer();
    // A poll of 60 s: only the file watch can wake it within the test.
    const other = await child({ pollInterval: 60 });
    for (let round = 0; round < 3; round++) {
      const receiving = other.call<Received>('receive', ['wake.up'], { block: true, timeout: 20 });
      await sleep(300);
      const sentAt = Date.now();
      await here.send('wake.up', { round });
      const received = await receiving;
      expect(received.result).toEqual(['wake.up', { round }]);
      expect(Date.now() - sentAt).toBeLessThan(1000);
    }
  });

  it('gives each message to exactly one of several receiving processes', async () => {
    const here = layer({ capacity: 1000 });
    const readers = await Promise.all([child(), child(), child()]);
    const receiving = readers.map((reader) =>
      reader.call<Array<[string, ChannelMessage]>>('receiveUntil', ['shared.work'], 1000, 1),
    );
    await sleep(200);
    for (let n = 0; n < 300; n++) await here.send('shared.work', { n });
    const all = (await Promise.all(receiving)).flat().map(([, message]) => message.n as number);
    expect(all.sort((x, y) => x - y)).toEqual([...Array(300).keys()]);
  });

  it('stays usable when a process is SIGKILLed in the middle of a write transaction', async () => {
    const here = layer();
    const holder = await IpcChild.start();
    children.push(holder);
    expect(await holder.call('holdWriteLock', store)).toBe('held');
    // The send waits for the lock (retrying), and goes through once the holder is gone.
    let done = false;
    const sending = here.send('after.crash', { ok: true }).then(() => (done = true));
    await sleep(300);
    expect(done).toBe(false);
    await holder.kill('SIGKILL');
    await sending;
    expect(await here.receive(['after.crash'])).toEqual(['after.crash', { ok: true }]);
    // The killed transaction's row was rolled back.
    expect(await here.receive(['uncommitted'])).toEqual([null, null]);
    const next = await child();
    await next.call('send', 'after.crash', { from: 'new process' });
    expect(await here.receive(['after.crash'], { block: true, timeout: 5 })).toEqual([
      'after.crash',
      { from: 'new process' },
    ]);
  });

  it('commits writes that waited for the lock in the order they were made', async () => {
    const here = layer();
    const holder = await IpcChild.start();
    children.push(holder);
    await holder.call('holdWriteLock', store);
    const writes = [
      here.send('ordered.after', { n: 1 }),
      here.sendMany([['ordered.after', { n: 2 }]]),
      here.groupAdd('ordered', 'ordered.after').then(() => here.sendGroup('ordered', { n: 4 })),
      here.send('ordered.after', { n: 3 }),
    ];
    await sleep(200);
    await holder.kill('SIGKILL');
    await Promise.all(writes);
    const received = await here.receiveMany(['ordered.after'], { max: 10 });
    expect(received.map(([, message]) => message.n)).toEqual([1, 2, 3, 4]);
  });

  it('fails a call with LayerUnavailable after lockTimeout while another process holds the lock', async () => {
    const here = layer({ lockTimeout: 0.5 });
    const holder = await IpcChild.start();
    children.push(holder);
    await holder.call('holdWriteLock', store);
    const error = await here.send('stuck', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LayerUnavailable);
    await holder.kill();
    await here.send('stuck', { later: true });
    expect(await here.receive(['stuck'])).toEqual(['stuck', { later: true }]);
  });

  it('reuses a store left by a crashed run: its messages and groups are still there', async () => {
    const crashed = await child({ expiry: 60 });
    await crashed.call('groupAdd', 'survivors', 'left.inbox');
    await crashed.call('send', 'left.over', { n: 1 });
    await crashed.call('send', 'left.over', { n: 2 });
    await crashed.kill('SIGKILL');
    const here = layer({ expiry: 60 });
    expect(await here.groupChannels('survivors')).toEqual(['left.inbox']);
    expect(await here.receiveMany(['left.over'], { max: 10 })).toEqual([
      ['left.over', { n: 1 }],
      ['left.over', { n: 2 }],
    ]);
    await here.sendGroup('survivors', { again: true });
    expect(await here.receive(['left.inbox'])).toEqual(['left.inbox', { again: true }]);
  });

  it('refuses a store of another schema version, or a file that is not a store, with a clear error', async () => {
    await layer().close();
    const db = openDatabase(store);
    db.exec("UPDATE meta SET value = '999' WHERE key = 'schema_version'");
    db.close();
    expect(() => layer()).toThrow(IpcStoreError);
    expect(() => layer()).toThrow(/schema version 999/);
    const junk = join(folder, 'junk.db');
    writeFileSync(junk, 'this is not an SQLite database, just text that is long enough '.repeat(40));
    expect(() => layer({ path: junk })).toThrow(/not an IpcChannelLayer store/);
  });

  it('uses almost no CPU while a receive is blocked', async () => {
    const other = await child();
    const receiving = other.call<Received>('receive', ['idle.channel'], { block: true, timeout: null });
    await sleep(300);
    const before = await other.call<NodeJS.CpuUsage>('cpuUsage');
    const started = Date.now();
    await sleep(3000);
    const after = await other.call<NodeJS.CpuUsage>('cpuUsage');
    const cpuMs = (after.user - before.user + after.system - before.system) / 1000;
    const percent = (cpuMs / (Date.now() - started)) * 100;
    expect(percent).toBeLessThan(5);
    await layer().send('idle.channel', { done: true });
    expect((await receiving).result).toEqual(['idle.channel', { done: true }]);
  });
});

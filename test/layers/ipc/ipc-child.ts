// A second process for the IpcChannelLayer tests: runs commands read as JSON lines on stdin
// against its own layer and answers each with one JSON line on stdout. Run with `node --import tsx`.
import { createInterface } from 'node:readline';
import { IpcChannelLayer, type ChannelMessage, type IpcChannelLayerOptions } from '../../../src';
import { openDatabase, type SqliteDatabase } from '../../../src/layers/ipc/sqlite-driver';

interface Command {
  id: number;
  op: string;
  args: unknown[];
}

let layer: IpcChannelLayer | undefined;
let held: SqliteDatabase | undefined;

function open(): IpcChannelLayer {
  if (!layer) throw new Error('no layer: send "open" first');
  return layer;
}

const ops: Record<string, (...args: never[]) => unknown> = {
  open: (options: IpcChannelLayerOptions) => {
    layer = new IpcChannelLayer(options);
    return layer.driver;
  },
  send: (channel: string, message: ChannelMessage) => open().send(channel, message),
  sendGroup: (group: string, message: ChannelMessage) => open().sendGroup(group, message),
  groupAdd: (group: string, channel: string) => open().groupAdd(group, channel),
  groupChannels: (group: string) => open().groupChannels(group),
  receive: async (channels: string[], options: { block?: boolean; timeout?: number | null }) => {
    const started = Date.now();
    const timeout = options.timeout === null ? Infinity : options.timeout;
    const result = await open().receive(channels, { ...options, timeout });
    return { result, waitedMs: Date.now() - started };
  },
  /** Receives until `count` messages came or a blocking receive of `timeout` s comes back empty. */
  receiveUntil: async (channels: string[], count: number, timeout: number) => {
    const out: Array<[string, ChannelMessage]> = [];
    while (out.length < count) {
      const taken = await open().receiveMany(channels, { block: true, timeout, max: 10 });
      if (taken.length === 0) break;
      out.push(...taken);
    }
    return out;
  },
  receiveMany: (channels: string[], options: { max: number }) => open().receiveMany(channels, options),
  cpuUsage: () => process.cpuUsage(),
  /** Begins a write transaction on the store with a raw connection, writes a row, and holds it. */
  holdWriteLock: (path: string) => {
    held = openDatabase(path);
    held.exec('BEGIN IMMEDIATE');
    held
      .prepare('INSERT INTO messages (queue, channel, sent_at, expires_at, payload) VALUES (?, ?, ?, ?, ?)')
      .run('uncommitted', 'uncommitted', Date.now(), Date.now() + 60_000, Buffer.from('m\x80', 'latin1'));
    return 'held';
  },
  close: () => open().close(),
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { id, op, args } = JSON.parse(line) as Command;
  void (async () => {
    try {
      const handler = ops[op];
      if (!handler) throw new Error(`unknown op ${op}`);
      const value = await (handler as (...a: unknown[]) => unknown)(...args);
      process.stdout.write(`${JSON.stringify({ id, ok: true, value: value ?? null })}\n`);
    } catch (error) {
      const { name, message } = error as Error;
      process.stdout.write(`${JSON.stringify({ id, ok: false, error: { name, message } })}\n`);
    }
  })();
});
lines.on('close', () => process.exit(0));
process.stdout.write('child ready\n');

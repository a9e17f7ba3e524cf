// What one idle connection's heap is made of, for the idle-connection scenario's findings:
// starts a server helper, takes a heap snapshot before and after opening N idle sockets, and prints
// per connection (1) the snapshot's growth by kind of object and (2) the bytes that would be freed
// if an object stopped holding a field (see heap-snapshot.ts). Not part of `npm run bench`.
//
//   npx tsx bench/connections/heap-breakdown.ts [kinds] [sockets] [--cut Class.field[,field]]…
//
// kinds: bench/ws-server.ts kinds joined by commas, the first holding the sockets (default
// channels-chat-memory; plain-ws for the reference; `channels-conn-redis-interface,
// channels-chat-redis-worker` for the Redis one, with a throwaway redis-server started here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type SpawnedRedis } from '../../test/support/redis-server';
import { table } from '../format';
import { startServer, stopAllServers } from '../servers';
import { openClient, type ClientSocket } from './client-socket';
import { HeapGraph, type Cut } from './heap-snapshot';
import { describe, sleep, withDeadline } from './waits';

/** Fields the WebSocket interface and the in-memory layer keep per connection (nestjs-channels src/). */
const DEFAULT_CUTS: readonly string[] = [
  'WebsocketConnection.request',
  'WebsocketConnection.head',
  'WebsocketConnection.request,head',
  'WebsocketConnection.connectTimer',
  'InMemoryChannelLayer.groups',
  'InMemoryChannelLayer.channelGroups',
  'ReplyDispatcher.handlers',
];
const BATCH = 50;
const WARMUP_SOCKETS = 200;
const OPEN_TIMEOUT_MS = 20_000;
const TOP_CATEGORIES = 20;

function parseCut(text: string): Cut {
  const dot = text.indexOf('.');
  if (dot <= 0) throw new Error(`--cut takes Class.field[,field], got "${text}"`);
  return { className: text.slice(0, dot), fields: text.slice(dot + 1).split(',') };
}

async function openBatch(count: number, server: Parameters<typeof openClient>[0]): Promise<ClientSocket[]> {
  return Promise.all(Array.from({ length: count }, () => openClient(server, OPEN_TIMEOUT_MS)));
}

async function main(argv: readonly string[]): Promise<void> {
  const cutsAt = argv.indexOf('--cut');
  const positional = cutsAt === -1 ? argv : argv.slice(0, cutsAt);
  const extraCuts = argv.flatMap((arg, i) => (argv[i - 1] === '--cut' ? [arg] : []));
  const kinds = (positional[0] ?? 'channels-chat-memory').split(',');
  const sockets = Number(positional[1] ?? 5000);
  if (!Number.isInteger(sockets) || sockets < BATCH) throw new Error(`sockets must be an integer ≥ ${BATCH}`);
  const cuts = [...DEFAULT_CUTS, ...extraCuts];

  const dir = mkdtempSync(join(tmpdir(), 'heap-breakdown-'));
  let redis: SpawnedRedis | undefined;
  const open: ClientSocket[] = [];
  try {
    redis = kinds.some((kind) => kind.includes('redis')) ? await startRedisServer() : undefined;
    const server = await startServer(kinds.join('+'), kinds, redis?.url ?? '', { exposeGc: true });
    for (let n = 0; n < WARMUP_SOCKETS; n += BATCH) {
      await Promise.all((await openBatch(BATCH, server)).map((socket) => socket.close(5000)));
    }
    await sleep(1000);
    const before = join(dir, 'before.heapsnapshot');
    const after = join(dir, 'after.heapsnapshot');
    await server.heapSnapshot(before);
    process.stderr.write(`opening ${sockets} sockets\n`);
    await withDeadline(
      (async () => {
        for (let n = 0; n < sockets; n += BATCH) open.push(...(await openBatch(Math.min(BATCH, sockets - n), server)));
      })(),
      120_000,
      'opening the sockets',
    );
    await sleep(1000);
    await server.heapSnapshot(after);
    for (const socket of open.splice(0)) socket.terminate();
    await server.stop();

    process.stderr.write('reading the snapshots\n');
    const [first, second] = [HeapGraph.read(before), HeapGraph.read(after)];
    const perConnection = (bytes: number): string => (bytes / sockets).toFixed(0);
    const earlier = first.categories();
    const grown = [...second.categories()].map(([key, { bytes, count }]) => {
      const old = earlier.get(key) ?? { bytes: 0, count: 0 };
      return { key, bytes: bytes - old.bytes, count: count - old.count };
    });
    grown.sort((a, b) => b.bytes - a.bytes);
    const reachable = second.reachableBytes();
    console.log(
      `${kinds.join(' + ')}: ${sockets} idle sockets; heap snapshot growth ${perConnection(reachable - first.reachableBytes())} B per connection (first process)\n`,
    );
    console.log(
      table(
        ['objects (type constructor)', 'B/conn', 'count/conn'],
        grown.slice(0, TOP_CATEGORIES).map((g) => [g.key, perConnection(g.bytes), (g.count / sockets).toFixed(2)]),
        1,
      ),
    );
    console.log('');
    console.log(
      table(
        ['if this were not held', 'B/conn freed'],
        cuts.map((text) => [text, perConnection(reachable - second.reachableBytes([parseCut(text)]))]),
        1,
      ),
    );
  } finally {
    for (const socket of open) socket.terminate();
    await stopAllServers();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`heap-breakdown: ${describe(error)}`);
    process.exit(1);
  },
);

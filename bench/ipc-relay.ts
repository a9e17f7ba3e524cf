// The second process of the IPC bench (bench/layer-ipc.ts): a relay that receives on `bench.in`
// and sends each message on to `bench.out`, through an IpcChannelLayer or a RedisChannelLayer, as
// a worker would. Asked {type: 'cpu'}, it answers with its CPU time so far (the idle measurement).
// Args: `ipc <store path>` or `redis <url>`.
import { IpcChannelLayer, RedisChannelLayer, type ChannelLayer } from '../src';
import { serveParent } from './child-process';

const [kind, where] = process.argv.slice(2);
const CAPACITY = 100_000;

const layer: ChannelLayer =
  kind === 'ipc'
    ? new IpcChannelLayer({ path: where, capacity: CAPACITY })
    : new RedisChannelLayer({ hosts: [where], prefix: 'bench:', capacity: CAPACITY });

let running = true;
const relaying = (async () => {
  while (running) {
    const taken = await layer.receiveMany!(['bench.in'], { block: true, timeout: 1, max: 64 });
    for (const [, message] of taken) void layer.send('bench.out', message).catch(() => undefined);
  }
})();

process.on('message', (request: { type: string }) => {
  if (request.type === 'cpu') process.send!({ type: 'cpu', usage: process.cpuUsage() });
});

serveParent(async () => {
  running = false;
  await relaying.catch(() => undefined);
  await layer.close();
});

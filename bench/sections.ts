// The later sections of `npm run bench`, each in files of its own: run in this order after the layer
// and dispatch scenarios, or alone with `npm run bench -- --only <name>[,<name>…]`.
import type { BenchSection } from './bench-section';
import { runInterfaceBenchmarks } from './interfaces';

export const SECTIONS: readonly BenchSection[] = [
  {
    name: 'interfaces',
    describe: 'WebSocket echo and HTTP through the interface servers, beside their references',
    run: async (redisUrl) => {
      const { text, sections, failed } = await runInterfaceBenchmarks(redisUrl);
      return { text, json: { ...sections }, failed };
    },
  },
  {
    name: 'idle',
    describe: 'memory per idle WebSocket at 10,000 sockets, beside plain ws and Socket.IO (bench/connections/idle.ts)',
    // Loaded on use, so the other sections never load the connection scenarios' clients.
    run: async (redisUrl) => (await import('./connections/idle')).runIdleSection(redisUrl),
  },
  {
    name: 'broadcast',
    describe: 'group broadcast to 1k and 10k sockets over Redis, beside Socket.IO and its Redis adapter',
    // Loaded on use, like the idle section: its helpers and clients load only when it runs.
    run: async (redisUrl) => (await import('./broadcast/section')).broadcastSection.run(redisUrl),
  },
  {
    name: 'churn',
    describe: 'sustained WebSocket connects/s and handshake p50/p99, beside plain ws (bench/connections/churn.ts)',
    run: async (redisUrl) => (await import('./connections/churn')).runChurnSection(redisUrl),
  },
  {
    name: 'ipc',
    describe:
      'IpcChannelLayer send → receive at 1/16/256 in flight, in one process and through a relay process, beside the in-memory and Redis layers; idle CPU of a blocked receive (bench/layer-ipc.ts)',
    // Loaded on use, like the idle section.
    run: async (redisUrl) => (await import('./layer-ipc')).runIpcBench(redisUrl),
  },
  {
    name: 'faults',
    describe:
      'one flooding socket beside 50 bystanders, 50 unread 10 MiB bodies, a 50-user chat through a Redis stall and restart (bench/faults/)',
    // Loaded on use, like the idle section.
    run: async (redisUrl) => (await import('./faults/section')).faultsSection.run(redisUrl),
  },
];

/** The name of the layer and dispatch scenarios, which run first. */
export const LAYERS_SECTION = 'layers';

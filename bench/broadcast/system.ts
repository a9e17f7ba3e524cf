// One system under test at one size: its server processes, two client processes holding N/2
// sockets each (one per server), and the way it sends a broadcast.
import { freePort } from '../../test/support/redis-server';
import { startAll, startClient, startServer, stopHelpers, type Helper } from './processes';
import { drive, type Sender } from './drive';
import { WS_PATH, type ClientKind, type MembersReply, type OpenedReply, type ResultsReply } from './protocol';
import { channelsSender, socketIoSender, type ChannelsSender } from './senders';
import type { BroadcastSettings } from './settings';

/**
 * Socket.IO runs twice, the same servers with two clients: socket.io-client (the issue's) and its
 * protocol by hand over `ws` (engine.io packets, `42[…]` events), whose cost per frame is about
 * half socket.io-client's: on a shared machine the client's CPU is taken from the servers.
 */
export type SystemName = 'nestjs-channels' | 'Socket.IO' | 'Socket.IO, engine.io client';

/** The client each Socket.IO system's sockets use. */
export function socketIoClientOf(name: SystemName): ClientKind {
  return name === 'Socket.IO, engine.io client' ? 'engine.io' : 'socket.io';
}

const OPEN_TIMEOUT_MS = 180_000;
const MEMBERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const RESULTS_TIMEOUT_MS = 30_000;

export class SystemUnderTest {
  /** The number the next send carries (runs never reuse one, so late frames are never miscounted). */
  nextN = 0;

  private constructor(
    readonly name: SystemName,
    readonly sockets: number,
    /** The two servers (nestjs-channels: interface processes; Socket.IO: server 1 emits). */
    readonly servers: Helper[],
    readonly worker: Helper | undefined,
    readonly clients: Helper[],
    readonly sender: Sender,
    private readonly urls: string[],
    private readonly channels: ChannelsSender | undefined,
    private readonly all: Helper[],
  ) {}

  /** Starts every process of `name` (all or none). */
  static async start(name: SystemName, sockets: number, redisUrl: string): Promise<SystemUnderTest> {
    const ports = [await freePort(), await freePort()];
    const isChannels = name === 'nestjs-channels';
    const label = isChannels ? 'channels' : 'socket.io';
    const all = await startAll([
      ...ports.map(
        (port, i) => () =>
          startServer(`${label} server ${i + 1}`, isChannels ? 'channels-interface' : 'socket.io', port, redisUrl),
      ),
      ...(isChannels ? [() => startServer('channels worker', 'channels-worker', 0, redisUrl)] : []),
      () => startClient(`${label} client 1`),
      () => startClient(`${label} client 2`),
    ]);
    const servers = all.slice(0, 2);
    const clients = all.slice(-2);
    if (isChannels) {
      const channels = channelsSender(redisUrl);
      const urls = ports.map((port) => `ws://127.0.0.1:${port}${WS_PATH}`);
      return new SystemUnderTest(name, sockets, servers, all[2], clients, channels, urls, channels, all);
    }
    const urls = ports.map((port) =>
      socketIoClientOf(name) === 'engine.io'
        ? `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`
        : `http://127.0.0.1:${port}`,
    );
    return new SystemUnderTest(
      name,
      sockets,
      servers,
      undefined,
      clients,
      socketIoSender(servers[0]),
      urls,
      undefined,
      all,
    );
  }

  /** Opens N/2 sockets from each client process to its server, and waits until all are members. */
  async open(batch: number): Promise<number> {
    await this.channels?.clear();
    const shares = [Math.ceil(this.sockets / 2), Math.floor(this.sockets / 2)];
    const kind: ClientKind = this.channels ? 'ws' : socketIoClientOf(this.name);
    const opened = await Promise.all(
      this.clients.map((client, i) =>
        client.request<OpenedReply>(
          { type: 'open', kind, url: this.urls[i], count: shares[i], batch },
          'opened',
          OPEN_TIMEOUT_MS,
        ),
      ),
    );
    for (const [i, o] of opened.entries()) {
      if (o.opened !== shares[i]) {
        throw new Error(
          `client ${i + 1} opened ${o.opened} of ${shares[i]} sockets (${o.failed} failed: ${o.firstError})`,
        );
      }
    }
    await this.waitForMembers();
    return Math.max(...opened.map((o) => o.ms));
  }

  /** Maximum-rate sends whose frames are ignored afterwards (JIT, buffers, connection pools). */
  async warmUp(settings: BroadcastSettings): Promise<void> {
    await this.record(this.nextN);
    const warm = await drive(this.sender, this.clients, this.nextN, {
      mode: 'max',
      sends: 0,
      intervalMs: settings.intervalMs,
      durationMs: settings.warmupMs,
      window: settings.window,
      stallMs: settings.stallMs,
      drainMs: settings.drainMs,
    });
    await this.results();
    this.nextN += warm.sends;
  }

  async record(firstN: number): Promise<void> {
    await Promise.all(this.clients.map((c) => c.request({ type: 'record', firstN }, 'recording', REQUEST_TIMEOUT_MS)));
  }

  results(): Promise<ResultsReply[]> {
    return Promise.all(
      this.clients.map((c) => c.request<ResultsReply>({ type: 'results' }, 'results', RESULTS_TIMEOUT_MS)),
    );
  }

  /** Closes the sockets, forgets what is left of the group, stops every process. */
  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.request({ type: 'close' }, 'closed', REQUEST_TIMEOUT_MS)));
    await this.channels?.clear().catch(() => undefined);
    await this.channels?.close().catch(() => undefined);
    await stopHelpers(this.all);
  }

  /** Members as each system knows them: the group in Redis and the interfaces' open sockets must agree. */
  private async members(): Promise<string | undefined> {
    const counts = await Promise.all(
      this.servers.map((s) => s.request<MembersReply>({ type: 'members' }, 'members', REQUEST_TIMEOUT_MS)),
    );
    const open = counts.reduce((sum, { count }) => sum + count, 0);
    if (open !== this.sockets) return `${open} sockets open on the servers`;
    const inGroup = this.channels ? await this.channels.members() : open;
    if (inGroup !== this.sockets) return `${inGroup} members in the group`;
    return undefined;
  }

  private async waitForMembers(): Promise<void> {
    const deadline = Date.now() + MEMBERS_TIMEOUT_MS;
    let wrong = await this.members();
    while (wrong) {
      if (Date.now() > deadline) throw new Error(`${wrong}, expected ${this.sockets}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      wrong = await this.members();
    }
  }
}

import { Logger } from '@nestjs/common';
import type { RedisOptions } from 'ioredis';
import type {
  GroupsChannelLayer,
  LayerExtension,
  LayerStatistics,
  ReceiveManyOptions,
  ReceiveOptions,
  ReceiveResult,
} from '../channel-layer';
import { ChannelFull, ChannelLayerClosed, LayerUnavailable, MessageTooLarge } from '../errors';
import { FifoQueue } from '../fifo-queue';
import { assertMax, receiveWaitMs, resolveLayerOptions, type ResolvedLayerOptions } from '../layer-options';
import type { ChannelMessage } from '../channel-message';
import { shuffled } from '../shuffled';
import {
  assertChannelName,
  assertGroupName,
  assertNewChannelPattern,
  assertReceiveChannels,
  isSingleReader,
  nonLocalName,
  randomLetters,
} from '../names';
import { shardFor } from './consistent-hash';
import { DecryptionFailed } from './fernet';
import { PayloadCodec } from './payload-codec';
import { parseEntry } from './redis-entry';
import {
  DEFAULT_PREFIX,
  DEFAULT_REDIS_OPTIONS,
  resolveGateLimits,
  type RedisChannelLayerOptions,
} from './redis-options';
import { RedisShard, type PoppedEntry } from './redis-shard';

/** A message popped in a bundle (or in a race between hosts) and kept for this process's next receive. */
/** A send waiting, with the others of this tick for the same host, for one SEND_MANY call. */
interface PendingSend {
  base: string;
  local: string;
  payload: Buffer;
  capacity: number;
  settle: (sent: boolean) => void;
  fail: (error: unknown) => void;
}

interface StashedMessage {
  channel: string;
  plain: Buffer;
  /** Local clock. */
  expiresAt: number;
}

/** One base of a group as GROUP_MEMBERS returns it: `locals` is its members' local parts, comma-separated. */
interface GroupBase {
  base: string;
  capacity: number;
  locals: string;
  count: number;
}

interface ShardPlan {
  shard: RedisShard;
  bases: string[];
}

/** Most entries one blocking pop takes from a list only this process reads. */
const SINGLE_READER_BATCH = 64;
/** Longest single BLPOP; longer waits loop, so a dead connection is noticed. */
const MAX_BLOCK_MS = 30_000;
const OUTAGE_BACKOFF_MS = 200;
/** Unreadable messages are logged at most once per this many ms (with how many since); all are counted. */
const DROP_LOG_INTERVAL_MS = 60_000;

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The production layer: channels and groups in one or more Redis servers, through ioredis. One
 * Lua script per send, one blocking pop per receive, one script per host for a group send.
 */
export class RedisChannelLayer implements GroupsChannelLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush', 'statistics', 'batch'];
  readonly expiry: number;
  readonly groupExpiry: number;
  readonly capacity: number;
  readonly maxMessageSize: number;
  readonly ChannelFull = ChannelFull;
  readonly MessageTooLarge = MessageTooLarge;
  /** Raised when a Redis outage or stall outlasts the outage buffer (see `outageBuffer`). */
  readonly LayerUnavailable = LayerUnavailable;
  readonly prefix: string;

  private readonly options: ResolvedLayerOptions;
  /** Whole milliseconds, as Redis's PEXPIRE needs. */
  private readonly expiryMs: number;
  private readonly groupExpiryMs: number;
  private readonly shards: RedisShard[];
  private readonly codec: PayloadCodec;
  private readonly statistics: '1' | '0';
  private readonly logger = new Logger(RedisChannelLayer.name);
  private readonly stash = new Map<string, FifoQueue<StashedMessage>>();
  /** Sends of the current tick, per host, flushed together at its end (one script call per host). */
  private readonly outgoing = new Map<RedisShard, PendingSend[]>();
  private readonly stateListeners = new Set<(reason: string) => void>();
  private readonly blockingReceives = new Set<Promise<unknown>>();
  /** Messages popped and dropped unread (undecryptable), and the log throttle of those drops. */
  private droppedMessages = 0;
  private droppedUnlogged = 0;
  private dropLoggedAt = -Infinity;
  private sendCursor = 0;
  private closed = false;

  constructor(options: RedisChannelLayerOptions = {}) {
    this.options = resolveLayerOptions(options);
    this.expiry = this.options.expiry;
    this.groupExpiry = this.options.groupExpiry;
    this.capacity = this.options.capacity;
    this.maxMessageSize = this.options.maxMessageSize;
    this.expiryMs = Math.ceil(this.expiry * 1000);
    this.groupExpiryMs = Math.ceil(this.groupExpiry * 1000);
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof this.prefix !== 'string') throw new TypeError('prefix must be a string');
    const hosts = options.hosts ?? [{}];
    if (!Array.isArray(hosts) || hosts.length === 0) {
      throw new TypeError('hosts must be a non-empty array of Redis URLs or ioredis options');
    }
    this.statistics = options.statistics === false ? '0' : '1';
    this.codec = new PayloadCodec(this.options.maxMessageSize, this.expiry + 10, options.symmetricEncryptionKeys);
    const limits = resolveGateLimits(options);
    // Resolve every host before connecting to any, so a bad entry leaks no connection.
    const resolvedHosts = hosts.map((host: string | RedisOptions, index) => {
      const base: RedisOptions = { ...DEFAULT_REDIS_OPTIONS, ...options.redisOptions };
      let resolved: RedisOptions;
      if (typeof host === 'string') {
        let url: URL;
        try {
          url = new URL(host);
        } catch {
          throw new TypeError(`hosts[${index}] must be a Redis URL (redis://host:6379), got ${JSON.stringify(host)}`);
        }
        if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
          throw new TypeError(`hosts[${index}] must be a redis:// or rediss:// URL, got ${host}`);
        }
        resolved = {
          ...base,
          host: url.hostname || '127.0.0.1',
          port: url.port ? Number(url.port) : 6379,
          ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
          ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
          ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
          ...(url.protocol === 'rediss:' ? { tls: base.tls ?? {} } : {}),
        };
      } else if (typeof host === 'object' && host !== null) {
        resolved = { ...base, ...host };
      } else {
        throw new TypeError(
          `hosts[${index}] must be a Redis URL (redis://host:6379) or ioredis options, got ${
            typeof host === 'string' ? JSON.stringify(host) : String(host)
          }` + (host === undefined ? ' (is the environment variable you read it from, e.g. REDIS_URL, set?)' : ''),
        );
      }
      return resolved;
    });
    this.shards = resolvedHosts.map(
      (resolved) =>
        new RedisShard(`${resolved.host}:${resolved.port}`, resolved, this.prefix, this.logger, limits, (host) =>
          this.stateLost(host),
        ),
    );
  }

  /**
   * Sends of the same tick to the same Redis host go out together, in order, in one script call
   * (SEND_MANY), each with its own capacity check and its own result.
   */
  async send(channel: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertChannelName(channel);
    const sent = await this.enqueueSend(channel, this.codec.encode(message));
    if (!sent) throw new ChannelFull(channel);
  }

  async sendMany(messages: ReadonlyArray<readonly [string, ChannelMessage]>): Promise<boolean[]> {
    this.assertOpen();
    // Every message is checked and encoded before any is queued: a bad one sends nothing.
    const encoded = messages.map(([channel, message]) => {
      assertChannelName(channel);
      return [channel, this.codec.encode(message)] as const;
    });
    return Promise.all(encoded.map(([channel, payload]) => this.enqueueSend(channel, payload)));
  }

  private enqueueSend(channel: string, payload: Buffer): Promise<boolean> {
    const base = nonLocalName(channel);
    const shard = this.shardOfChannel(channel);
    return new Promise<boolean>((settle, fail) => {
      let batch = this.outgoing.get(shard);
      if (!batch) {
        this.outgoing.set(shard, (batch = []));
        queueMicrotask(() => this.flushSends(shard));
      }
      batch.push({
        base,
        local: channel.slice(base.length),
        payload,
        capacity: this.options.capacities.capacityOf(base),
        settle,
        fail,
      });
    });
  }

  /** One call for the host's sends of this tick: SEND for one, SEND_MANY for several. */
  private flushSends(shard: RedisShard): void {
    const batch = this.outgoing.get(shard);
    this.outgoing.delete(shard);
    if (!batch) return;
    let call: Promise<boolean[]>;
    if (batch.length === 1) {
      const [one] = batch;
      call = shard
        .runWithMessage(
          'SEND',
          [one.base, one.local, one.payload, this.expiryMs, one.capacity, this.statistics],
          one.payload.length,
        )
        .then((result) => {
          const [ok, dead] = result as [number, string[]];
          this.forgetElsewhere(dead, shard);
          return [ok === 1];
        });
    } else {
      const args: Array<string | number | Buffer> = [this.expiryMs, this.statistics];
      let bytes = 0;
      for (const item of batch) {
        args.push(item.base, item.local, item.payload, item.capacity);
        bytes += item.payload.length;
      }
      call = shard.runWithMessage('SEND_MANY', args, bytes).then((result) => {
        const [oks, dead] = result as [number[], string[]];
        this.forgetElsewhere(dead, shard);
        return oks.map((ok) => ok === 1);
      });
    }
    call.then(
      (results) => batch.forEach((item, i) => item.settle(results[i])),
      (error: unknown) => {
        // The gate counted the call as one lost message; it carried the whole batch.
        if (error instanceof LayerUnavailable && batch.length > 1) shard.countMoreLosses(batch.length - 1);
        batch.forEach((item) => item.fail(error));
      },
    );
  }

  async receive(channels: readonly string[], options: ReceiveOptions = {}): Promise<ReceiveResult> {
    this.assertOpen();
    assertReceiveChannels(channels);
    const waitMs = receiveWaitMs(options.block, options.timeout);
    const stashed = this.takeStashed(channels);
    if (stashed) return stashed;
    const plan = this.receivePlan(channels);
    if (waitMs <= 0) return this.receiveNow(plan);
    // Blocking receives are awaited by close(), which interrupts them first.
    const receiving = this.receiveBlocking(plan, waitMs, options.signal);
    this.blockingReceives.add(receiving);
    try {
      return await receiving;
    } finally {
      this.blockingReceives.delete(receiving);
    }
  }

  /**
   * Up to `max` messages: what this process already holds, else one blocking pop that takes up to
   * `max` entries of the first list with any (BLMPOP COUNT, Redis 7), never more.
   */
  async receiveMany(
    channels: readonly string[],
    options: ReceiveManyOptions,
  ): Promise<Array<[string, ChannelMessage]>> {
    this.assertOpen();
    assertReceiveChannels(channels);
    const max = assertMax(options.max);
    const waitMs = receiveWaitMs(options.block, options.timeout);
    const taken = this.takeStashedUpTo(channels, max);
    if (taken.length > 0) return taken;
    const plan = this.receivePlan(channels);
    if (waitMs <= 0) {
      const [channel, message] = await this.receiveNow(plan);
      return channel === null ? [] : [[channel, message]];
    }
    const receiving = this.receiveManyBlocking(plan, channels, max, waitMs, options.signal);
    this.blockingReceives.add(receiving);
    try {
      return await receiving;
    } finally {
      this.blockingReceives.delete(receiving);
    }
  }

  async newChannel(pattern: string): Promise<string> {
    this.assertOpen();
    assertNewChannelPattern(pattern);
    // 52^12 names: a collision is far less likely than a lost message, so no EXISTS round trip.
    return pattern + randomLetters(12);
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    await this.shardOfGroup(group).run('GROUP_ADD', [
      group,
      channel,
      this.options.capacities.capacityOf(nonLocalName(channel)),
      this.groupExpiryMs,
    ]);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    await this.shardOfGroup(group).run('GROUP_DISCARD', [group, channel]);
  }

  async groupChannels(group: string): Promise<string[]> {
    this.assertOpen();
    assertGroupName(group);
    const members: string[] = [];
    for (const { base, locals } of await this.groupBases(group)) {
      for (const local of locals.split(',')) members.push(base + local);
    }
    return members;
  }

  async sendGroup(group: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    const payload = this.codec.encode(message);
    const home = this.shardOfGroup(group);
    if (this.shards.length === 1) {
      const [, dead] = (await home.runWithMessage(
        'GROUP_SEND',
        [group, payload, this.expiryMs, this.groupExpiryMs, this.statistics],
        payload.length,
      )) as [number, string[]];
      this.forgetElsewhere(dead, home);
      return;
    }
    // Several hosts: the group's bases from its host, then one push script per host, in parallel.
    const byShard = new Map<RedisShard, Array<string | number>>();
    for (const { base, capacity, locals, count } of await this.groupBases(group, payload.length)) {
      const shard = this.shardOfChannel(base);
      let args = byShard.get(shard);
      if (!args) byShard.set(shard, (args = []));
      args.push(base, capacity, locals, count);
    }
    await Promise.all(
      [...byShard].map(async ([shard, bases]) => {
        const [, dead] = (await shard.runWithMessage(
          'GROUP_PUSH',
          [payload, this.expiryMs, this.statistics, ...bases],
          payload.length,
        )) as [number, string[]];
        this.forgetElsewhere(dead, shard);
      }),
    );
  }

  /** Resolves once every Redis host answers; `LayerUnavailable` naming the first that did not, after `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.waitUntilReady(timeoutMs)));
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.stash.clear();
    await Promise.all(this.shards.map((shard) => shard.deleteMatching(`${escapeGlob(this.prefix)}*`)));
  }

  /**
   * Sums the per-channel counters (SCAN over `stats:*`): meant for dashboards, not hot paths. Adds
   * this instance's own loss counters: `layer_unavailable_count` (sends refused with
   * `LayerUnavailable`) and `messages_dropped_count` (messages popped and dropped unreadable).
   */
  async globalStatistics(): Promise<LayerStatistics> {
    this.assertOpen();
    const totals = {
      messages_count: 0,
      channel_full_count: 0,
      layer_unavailable_count: this.shards.reduce((sum, shard) => sum + shard.rejectedMessages, 0),
      messages_dropped_count: this.droppedMessages,
    };
    for (const shard of this.shards) {
      const keys = await shard.scanKeys(`${escapeGlob(this.prefix)}stats:*`);
      for (const [count, full] of await shard.hmgetMany(keys, ['messages_count', 'channel_full_count'])) {
        totals.messages_count += Number(count ?? 0);
        totals.channel_full_count += Number(full ?? 0);
      }
    }
    return totals;
  }

  async channelStatistics(channel: string): Promise<LayerStatistics> {
    this.assertOpen();
    assertChannelName(channel);
    const base = nonLocalName(channel);
    const shards = isSingleReader(channel) ? [this.shardOfChannel(channel)] : this.shards;
    const stats = { messages_count: 0, channel_full_count: 0, messages_pending: 0, messages_max_age: 0 };
    for (const shard of shards) {
      const [pending, headExpiry, count, full, now] = (await shard.run('CHANNEL_STATS', [base])) as number[];
      stats.messages_pending += pending;
      stats.messages_count += count;
      stats.channel_full_count += full;
      if (headExpiry >= 0) {
        const age = Math.max(0, (now - (headExpiry - this.expiryMs)) / 1000);
        stats.messages_max_age = Math.max(stats.messages_max_age, age);
      }
    }
    return stats;
  }

  onStateLost(listener: (reason: string) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private stateLost(host: string): void {
    for (const listener of [...this.stateListeners]) {
      try {
        listener(`Redis ${host} restarted without its data`);
      } catch (error) {
        this.logger.error(`A state-lost listener failed: ${(error as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const shard of this.shards) shard.interruptBlocking();
    await Promise.allSettled([...this.blockingReceives]);
    this.dropStashAtClose();
    // QUIT is answered after every pending command, so sends in progress still complete.
    await Promise.all(this.shards.map((shard) => shard.close()));
  }

  private assertOpen(): void {
    if (this.closed) throw new ChannelLayerClosed();
  }

  private shardOfChannel(channel: string): RedisShard {
    if (this.shards.length === 1) return this.shards[0];
    if (isSingleReader(channel)) return this.shards[shardFor(nonLocalName(channel), this.shards.length)];
    this.sendCursor = (this.sendCursor + 1) % this.shards.length;
    return this.shards[this.sendCursor];
  }

  private shardOfGroup(group: string): RedisShard {
    return this.shards[shardFor(group, this.shards.length)];
  }

  /**
   * The group's live members, one row per base (process prefix or whole channel name). With
   * `messageBytes`, they are asked for a group send: a refusal then loses that message (counted).
   */
  private async groupBases(group: string, messageBytes = 0): Promise<GroupBase[]> {
    const home = this.shardOfGroup(group);
    const args = [group, this.groupExpiryMs];
    const flat = (await (messageBytes > 0
      ? home.runWithMessage('GROUP_MEMBERS', args, messageBytes)
      : home.run('GROUP_MEMBERS', args))) as Array<string | number>;
    const bases: GroupBase[] = [];
    for (let i = 0; i < flat.length; i += 4) {
      bases.push({
        base: String(flat[i]),
        capacity: Number(flat[i + 1]),
        locals: String(flat[i + 2]),
        count: Number(flat[i + 3]),
      });
    }
    return bases;
  }

  /** Normal channels may sit on any host; `!` and `?` channels on their hashed host only. */
  private receivePlan(channels: readonly string[]): ShardPlan[] {
    if (this.shards.length === 1) return [{ shard: this.shards[0], bases: channels as string[] }];
    const plans = new Map<RedisShard, Set<string>>();
    for (const channel of channels) {
      const targets = isSingleReader(channel) ? [this.shardOfChannel(channel)] : this.shards;
      for (const shard of targets) {
        let bases = plans.get(shard);
        if (!bases) plans.set(shard, (bases = new Set()));
        bases.add(channel);
      }
    }
    return [...plans].map(([shard, bases]) => ({ shard, bases: [...bases] }));
  }

  private async receiveNow(plan: readonly ShardPlan[]): Promise<ReceiveResult> {
    for (const { shard, bases } of shuffled(plan)) {
      const order = shuffled(bases);
      const [index, entry, dead] = (await shard.run('RECEIVE', order, true)) as [number, Buffer, Buffer[]];
      this.forgetElsewhere(
        dead.map((name) => name.toString('utf8')),
        shard,
      );
      if (index > 0) {
        const result = this.open(shard, { base: order[index - 1], entry }, false);
        if (result) return result;
      }
    }
    return [null, null];
  }

  private async receiveBlocking(
    plan: readonly ShardPlan[],
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ReceiveResult> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal?.aborted || this.closed) return [null, null];
      const started = Date.now();
      const popped = await this.blockingPop(plan, Math.min(remaining, MAX_BLOCK_MS), signal);
      let result: ReceiveResult | null = null;
      for (const { shard, entry } of popped) {
        // The first good entry is the answer; the rest of a batch, and entries won in a race on
        // other hosts, are kept for the next receives.
        const opened = this.open(shard, entry, true, result !== null);
        if (opened && !result) result = opened;
      }
      if (result) return result;
      const stashed = this.takeStashed(plan.flatMap((p) => p.bases));
      if (stashed) return stashed;
      // A pop that returned at once with nothing means Redis is unreachable: do not spin.
      if (popped.length === 0 && !this.closed && Date.now() - started < Math.min(remaining, MAX_BLOCK_MS) / 2) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(OUTAGE_BACKOFF_MS, remaining)));
      }
    }
  }

  private async receiveManyBlocking(
    plan: readonly ShardPlan[],
    channels: readonly string[],
    max: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<Array<[string, ChannelMessage]>> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal?.aborted || this.closed) return [];
      const started = Date.now();
      const popped = await this.blockingPop(plan, Math.min(remaining, MAX_BLOCK_MS), signal, max);
      const taken: Array<[string, ChannelMessage]> = [];
      for (const { shard, entry } of popped) {
        // Past `max` (entries won in a race on other hosts), kept for the next receives.
        const opened = this.open(shard, entry, true, taken.length >= max);
        if (opened && opened[0] !== null) taken.push(opened);
      }
      taken.push(...this.takeStashedUpTo(channels, max - taken.length));
      if (taken.length > 0) return taken;
      if (popped.length === 0 && !this.closed && Date.now() - started < Math.min(remaining, MAX_BLOCK_MS) / 2) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(OUTAGE_BACKOFF_MS, remaining)));
      }
    }
  }

  /** Up to `max` messages this process already holds for `channels`. */
  private takeStashedUpTo(channels: readonly string[], max: number): Array<[string, ChannelMessage]> {
    const taken: Array<[string, ChannelMessage]> = [];
    while (taken.length < max) {
      const [channel, message] = this.takeStashed(channels) ?? [null, null];
      if (channel === null) break;
      taken.push([channel, message]);
    }
    return taken;
  }

  /**
   * Blocks on every host of the plan at once; the first answer cancels the others. Lists only
   * this process reads (`!` and `?` channels) are popped in batches, the rest kept for the next
   * receives: a busy reply loop then costs one Redis call per batch, not per message.
   */
  private async blockingPop(
    plan: readonly ShardPlan[],
    ms: number,
    signal?: AbortSignal,
    /** Entries to pop from normal channels at most (a worker's free slots); single-reader lists take a batch. */
    most = 1,
  ): Promise<Array<{ shard: RedisShard; entry: PoppedEntry }>> {
    const count = plan.every(({ bases }) => bases.every(isSingleReader)) ? Math.max(SINGLE_READER_BATCH, most) : most;
    if (plan.length === 1) {
      // The common case (one host): no race to arrange.
      const { shard, bases } = plan[0];
      const pop = shard.blockingPop(bases.length > 1 ? shuffled(bases) : bases, ms, count);
      const cancel = (): void => pop.cancel();
      signal?.addEventListener('abort', cancel);
      const entries = await pop.done;
      signal?.removeEventListener('abort', cancel);
      return entries.map((entry) => ({ shard, entry }));
    }
    const pops = plan.map(({ shard, bases }) => ({ shard, pop: shard.blockingPop(shuffled(bases), ms, count) }));
    const cancelAll = (): void => pops.forEach(({ pop }) => pop.cancel());
    signal?.addEventListener('abort', cancelAll);
    try {
      const results = await Promise.all(
        pops.map(async ({ shard, pop }) => {
          const entries = await pop.done;
          if (entries.length > 0) cancelAll();
          return entries.map((entry) => ({ shard, entry }));
        }),
      );
      return results.flat();
    } finally {
      signal?.removeEventListener('abort', cancelAll);
    }
  }

  /**
   * Turns a popped entry into the message to return; the rest of a bundle is stashed for the
   * next receive. With `stashAll`, everything is stashed. Expired or unreadable entries give null.
   */
  private open(shard: RedisShard, popped: PoppedEntry, checkExpiry: boolean, stashAll = false): ReceiveResult | null {
    const { expiresAt, channels, payload } = parseEntry(popped.base, popped.entry);
    if (checkExpiry && expiresAt <= shard.redisNow()) {
      this.forgetEverywhere(channels);
      return null;
    }
    let plain: Buffer;
    try {
      plain = this.codec.open(payload);
    } catch (error) {
      if (!(error instanceof DecryptionFailed)) throw error;
      this.dropped(channels, error.message);
      return null;
    }
    const localExpiry = expiresAt - (shard.redisNow() - Date.now());
    const first = stashAll ? 0 : 1;
    if (channels.length > first) {
      let queue = this.stash.get(popped.base);
      if (!queue) this.stash.set(popped.base, (queue = new FifoQueue()));
      for (let i = first; i < channels.length; i++) queue.push({ channel: channels[i], plain, expiresAt: localExpiry });
    }
    return stashAll ? null : [channels[0], this.codec.unpack(plain)];
  }

  private takeStashed(channels: readonly string[]): ReceiveResult | null {
    if (this.stash.size === 0) return null;
    const now = Date.now();
    for (const channel of channels) {
      const queue = this.stash.get(channel);
      if (!queue) continue;
      let item = queue.shift();
      while (item && item.expiresAt <= now) {
        this.forgetEverywhere([item.channel]);
        item = queue.shift();
      }
      if (queue.length === 0) this.stash.delete(channel);
      if (item) return [item.channel, this.codec.unpack(item.plain)];
    }
    return null;
  }

  /** Counts an unreadable message; logs at most once a minute, with how many came since. */
  private dropped(channels: readonly string[], reason: string): void {
    this.droppedMessages++;
    const now = Date.now();
    if (now - this.dropLoggedAt < DROP_LOG_INTERVAL_MS) {
      this.droppedUnlogged++;
      return;
    }
    const since = this.droppedUnlogged > 0 ? ` (and ${this.droppedUnlogged} more since the last warning)` : '';
    this.logger.warn(
      `Dropped a message for ${channels.join(', ')}: ${reason}${since}. Further ones this minute are only ` +
        'counted (layer statistic messages_dropped_count)',
    );
    this.dropLoggedAt = now;
    this.droppedUnlogged = 0;
  }

  /**
   * At close, stashed messages of single-reader channels belong to this process, which is going;
   * those of normal channels (won in a race between hosts) could have gone to another reader: logged.
   */
  private dropStashAtClose(): void {
    let lost = 0;
    for (const [base, queue] of this.stash) if (!isSingleReader(base)) lost += queue.length;
    this.stash.clear();
    if (lost > 0) this.logger.warn(`Closed with ${lost} received message(s) of normal channels not yet taken: dropped`);
  }

  /** Channels whose messages expired leave their groups on every host. */
  private forgetEverywhere(channels: readonly string[]): void {
    this.forgetElsewhere(channels, undefined);
  }

  /** Groups on `except` were already cleaned by the script that found the expired messages. */
  private forgetElsewhere(channels: readonly string[], except: RedisShard | undefined): void {
    if (channels.length === 0 || this.closed) return;
    for (const shard of this.shards) {
      if (shard === except) continue;
      shard
        .run('FORGET_CHANNELS', channels)
        .catch((error: Error) => this.logger.warn(`Could not drop expired channels from groups: ${error.message}`));
    }
  }
}

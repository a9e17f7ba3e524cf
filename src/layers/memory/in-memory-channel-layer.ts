import type {
  GroupsChannelLayer,
  LayerExtension,
  LayerStatistics,
  ReceiveManyOptions,
  ReceiveOptions,
  ReceiveResult,
} from '../channel-layer';
import { ChannelFull, ChannelLayerClosed, MessageTooLarge } from '../errors';
import { FifoQueue } from '../fifo-queue';
import {
  assertMax,
  resolveLayerOptions,
  receiveWaitMs,
  type ChannelLayerOptions,
  type ResolvedLayerOptions,
} from '../layer-options';
import { copyMessage, type ChannelMessage } from '../channel-message';
import {
  assertChannelName,
  assertGroupName,
  assertNewChannelPattern,
  assertReceiveChannels,
  nonLocalName,
  randomLetters,
} from '../names';
import { ReceiveWaiters } from './receive-waiters';

export type InMemoryChannelLayerOptions = ChannelLayerOptions;

interface Entry {
  /** Full channel name (with the local part of a `!` channel). */
  channel: string;
  message: ChannelMessage;
  sentAt: number;
  expiresAt: number;
}

interface Counters {
  messages_count: number;
  channel_full_count: number;
}

const MAX_TRACKED_CHANNEL_STATS = 10_000;

/**
 * The embedded default layer: every queue and group lives in this process. Fast and
 * dependency-free, for development, tests and single-process apps.
 */
export class InMemoryChannelLayer implements GroupsChannelLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush', 'statistics', 'batch'];
  readonly expiry: number;
  readonly groupExpiry: number;
  readonly capacity: number;
  readonly maxMessageSize: number;
  readonly ChannelFull = ChannelFull;
  readonly MessageTooLarge = MessageTooLarge;

  private readonly options: ResolvedLayerOptions;
  /** Queues keyed by non-local name, so all `foo!*` channels share `foo!`. */
  private queues = new Map<string, FifoQueue<Entry>>();
  private readonly waiters = new ReceiveWaiters<Entry>();
  /** group → member channel → time of its latest add (ms). */
  private groups = new Map<string, Map<string, number>>();
  /** channel → groups it belongs to, so an expired channel can leave all of them. */
  /** The groups of each channel: a plain name for the usual one group, a Set beyond (memory per socket). */
  private channelGroups = new Map<string, string | Set<string>>();
  private readonly totals: Counters = { messages_count: 0, channel_full_count: 0 };
  private channelCounters = new Map<string, Counters>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(options: InMemoryChannelLayerOptions = {}) {
    this.options = resolveLayerOptions(options);
    this.expiry = this.options.expiry;
    this.groupExpiry = this.options.groupExpiry;
    this.capacity = this.options.capacity;
    this.maxMessageSize = this.options.maxMessageSize;
    // Expired messages of channels nobody reads would otherwise stay in memory forever.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, (this.expiry * 1000) / 2));
    this.sweeper.unref();
  }

  async send(channel: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertChannelName(channel);
    const entry = this.makeEntry(channel, message);
    if (!this.enqueue(entry)) throw new ChannelFull(channel);
  }

  async sendMany(messages: ReadonlyArray<readonly [string, ChannelMessage]>): Promise<boolean[]> {
    this.assertOpen();
    // Every message is checked (and copied) before any is queued: a bad one sends nothing.
    const entries = messages.map(([channel, message]) => {
      assertChannelName(channel);
      return this.makeEntry(channel, message);
    });
    const full = new Set<string>();
    return entries.map((entry) => {
      if (full.has(entry.channel)) return false;
      if (this.enqueue(entry)) return true;
      full.add(entry.channel);
      return false;
    });
  }

  async receive(channels: readonly string[], options: ReceiveOptions = {}): Promise<ReceiveResult> {
    this.assertOpen();
    assertReceiveChannels(channels);
    const waitMs = receiveWaitMs(options.block, options.timeout);
    const now = Date.now();
    // Start at a random channel so a busy channel cannot starve the others.
    const start = channels.length > 1 ? Math.floor(Math.random() * channels.length) : 0;
    for (let i = 0; i < channels.length; i++) {
      const entry = this.takeFrom(channels[(start + i) % channels.length], now);
      if (entry) return [entry.channel, entry.message];
    }
    if (waitMs <= 0 || options.signal?.aborted) return [null, null];
    const entry = await this.waiters.wait(channels, waitMs, options.signal);
    return entry ? [entry.channel, entry.message] : [null, null];
  }

  async receiveMany(
    channels: readonly string[],
    options: ReceiveManyOptions,
  ): Promise<Array<[string, ChannelMessage]>> {
    const max = assertMax(options.max);
    const first = await this.receive(channels, options);
    if (first[0] === null) return [];
    const taken: Array<[string, ChannelMessage]> = [first];
    const now = Date.now();
    for (let i = 0; taken.length < max && i < channels.length;) {
      const entry = this.takeFrom(channels[i], now);
      if (entry) taken.push([entry.channel, entry.message]);
      else i++;
    }
    return taken;
  }

  async newChannel(pattern: string): Promise<string> {
    this.assertOpen();
    assertNewChannelPattern(pattern);
    for (;;) {
      const name = pattern + randomLetters(12);
      if (!this.queues.has(name)) return name;
    }
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    let members = this.groups.get(group);
    if (!members) this.groups.set(group, (members = new Map()));
    members.delete(channel); // re-insert so members stay ordered by their latest add
    members.set(channel, Date.now());
    const memberOf = this.channelGroups.get(channel);
    if (memberOf === undefined || memberOf === group) this.channelGroups.set(channel, group);
    else if (typeof memberOf === 'string') this.channelGroups.set(channel, new Set([memberOf, group]));
    else memberOf.add(group);
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    this.removeMember(group, channel);
  }

  async groupChannels(group: string): Promise<string[]> {
    this.assertOpen();
    assertGroupName(group);
    return [...this.liveMembers(group, Date.now())];
  }

  async sendGroup(group: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    const { copy, size } = copyMessage(message);
    this.assertSize(size);
    const now = Date.now();
    let first = true;
    for (const member of this.liveMembers(group, now)) {
      // A member whose queued message expired has just left all its groups: it misses this one.
      this.trimExpired(nonLocalName(member), now);
      if (!this.groups.get(group)?.has(member)) continue;
      // Each member needs its own copy so one receiver's changes cannot reach another's.
      const content = first ? copy : copyMessage(copy).copy;
      first = false;
      this.enqueue({ channel: member, message: content, sentAt: now, expiresAt: now + this.expiry * 1000 });
    }
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.queues = new Map();
    this.groups = new Map();
    this.channelGroups = new Map();
    this.channelCounters = new Map();
  }

  async globalStatistics(): Promise<LayerStatistics> {
    this.assertOpen();
    const now = Date.now();
    let pending = 0;
    let oldest = now;
    for (const [key, queue] of this.queues) {
      this.trimExpired(key, now);
      pending += queue.length;
      const head = queue.peek();
      if (head && head.sentAt < oldest) oldest = head.sentAt;
    }
    return { ...this.totals, messages_pending: pending, messages_max_age: (now - oldest) / 1000 };
  }

  async channelStatistics(channel: string): Promise<LayerStatistics> {
    this.assertOpen();
    assertChannelName(channel);
    const key = nonLocalName(channel);
    const now = Date.now();
    this.trimExpired(key, now);
    const queue = this.queues.get(key);
    const head = queue?.peek();
    return {
      messages_count: this.channelCounters.get(key)?.messages_count ?? 0,
      channel_full_count: this.channelCounters.get(key)?.channel_full_count ?? 0,
      messages_pending: queue?.length ?? 0,
      messages_max_age: head ? (now - head.sentAt) / 1000 : 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.waiters.endAll();
    this.queues = new Map();
    this.groups = new Map();
    this.channelGroups = new Map();
  }

  private assertOpen(): void {
    if (this.closed) throw new ChannelLayerClosed();
  }

  private assertSize(size: number): void {
    if (size > this.options.maxMessageSize) throw new MessageTooLarge(size, this.options.maxMessageSize);
  }

  private makeEntry(channel: string, message: ChannelMessage): Entry {
    const { copy, size } = copyMessage(message);
    this.assertSize(size);
    const now = Date.now();
    return { channel, message: copy, sentAt: now, expiresAt: now + this.expiry * 1000 };
  }

  /** Hands the entry to a waiting receiver or queues it; false when the channel is full. */
  private enqueue(entry: Entry): boolean {
    const key = nonLocalName(entry.channel);
    const counters = this.countersOf(key);
    if (this.waiters.deliver(key, entry)) {
      counters.messages_count++;
      this.totals.messages_count++;
      return true;
    }
    let queue = this.queues.get(key);
    if (queue && queue.length >= this.options.capacities.capacityOf(key)) {
      this.trimExpired(key, entry.sentAt);
      // Trimming drops a queue it empties: look it up again rather than push onto a detached one.
      queue = this.queues.get(key);
      if (queue && queue.length >= this.options.capacities.capacityOf(key)) {
        counters.channel_full_count++;
        this.totals.channel_full_count++;
        return false;
      }
    }
    if (!queue) this.queues.set(key, (queue = new FifoQueue()));
    queue.push(entry);
    counters.messages_count++;
    this.totals.messages_count++;
    return true;
  }

  private takeFrom(key: string, now: number): Entry | undefined {
    const queue = this.queues.get(key);
    if (!queue) return undefined;
    this.trimExpired(key, now);
    const entry = queue.shift();
    if (queue.length === 0) this.queues.delete(key);
    return entry;
  }

  /** Drops expired messages from the head of a queue; their channels leave all their groups. */
  private trimExpired(key: string, now: number): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    let head = queue.peek();
    while (head && head.expiresAt <= now) {
      queue.shift();
      this.leaveAllGroups(head.channel);
      head = queue.peek();
    }
    if (queue.length === 0) this.queues.delete(key);
  }

  /** Members whose latest add is younger than `groupExpiry`; prunes the rest. */
  private liveMembers(group: string, now: number): string[] {
    const members = this.groups.get(group);
    if (!members) return [];
    const cutoff = now - this.groupExpiry * 1000;
    const live: string[] = [];
    for (const [channel, addedAt] of members) {
      if (addedAt <= cutoff) this.removeMember(group, channel);
      else live.push(channel);
    }
    return live;
  }

  private removeMember(group: string, channel: string): void {
    const members = this.groups.get(group);
    if (members?.delete(channel) && members.size === 0) this.groups.delete(group);
    const memberOf = this.channelGroups.get(channel);
    if (memberOf === group) this.channelGroups.delete(channel);
    else if (typeof memberOf === 'object' && memberOf.delete(group) && memberOf.size === 0) {
      this.channelGroups.delete(channel);
    }
  }

  private leaveAllGroups(channel: string): void {
    const memberOf = this.channelGroups.get(channel);
    if (memberOf === undefined) return;
    for (const group of typeof memberOf === 'string' ? [memberOf] : [...memberOf]) this.removeMember(group, channel);
  }

  private countersOf(key: string): Counters {
    let counters = this.channelCounters.get(key);
    if (!counters) {
      if (this.channelCounters.size >= MAX_TRACKED_CHANNEL_STATS) this.channelCounters.clear();
      this.channelCounters.set(key, (counters = { messages_count: 0, channel_full_count: 0 }));
    }
    return counters;
  }

  private sweep(): void {
    const now = Date.now();
    for (const key of [...this.queues.keys()]) this.trimExpired(key, now);
    for (const group of [...this.groups.keys()]) this.liveMembers(group, now);
  }
}

import { Logger } from '@nestjs/common';
import type { Channel, ConsumeMessage, GetMessage } from 'amqplib';
import type {
  GroupsChannelLayer,
  LayerExtension,
  LayerStatistics,
  ReceiveManyOptions,
  ReceiveOptions,
  ReceiveResult,
} from '../channel-layer';
import { ChannelFull, ChannelLayerClosed, LayerUnavailable, MessageTooLarge } from '../errors';
import { assertMax, receiveWaitMs, resolveLayerOptions, type ResolvedLayerOptions } from '../layer-options';
import type { ChannelMessage } from '../channel-message';
import { MessagePackCodec } from '../message-pack';
import { shuffled } from '../shuffled';
import {
  assertChannelName,
  assertGroupName,
  assertNewChannelPattern,
  assertReceiveChannels,
  nonLocalName,
  randomLetters,
} from '../names';
import { AmqpLink, assertAmqplibInstalled, type LinkChannels } from './amqp-link';
import type { PublishOutcome } from './confirm-publisher';
import { GroupLog } from './group-log';
import { OutageBuffer } from './outage-buffer';
import {
  describeUrl,
  resolveRabbitmqOptions,
  type RabbitmqChannelLayerOptions,
  type ResolvedRabbitmqOptions,
} from './rabbitmq-options';
import { ReceiveConsumers } from './receive-consumers';
import { Topology } from './topology';

interface Counters {
  messages_count: number;
  channel_full_count: number;
}

const MAX_TRACKED_CHANNEL_STATS = 10_000;
/** A refused publish to a vanished queue is declared again and retried this many times. */
const NOROUTE_RETRIES = 2;

/**
 * A channel layer on RabbitMQ (AMQP 0-9-1, amqplib): one classic queue per channel (per process
 * prefix for `!` channels), capacity and expiry enforced by the broker, blocking receives by
 * `basic.consume`, group memberships in a per-prefix stream every process reads (see `GroupLog`).
 */
export class RabbitmqChannelLayer implements GroupsChannelLayer {
  readonly extensions: readonly LayerExtension[] = ['groups', 'flush', 'statistics', 'batch'];
  readonly expiry: number;
  readonly groupExpiry: number;
  readonly capacity: number;
  readonly maxMessageSize: number;
  readonly ChannelFull = ChannelFull;
  readonly MessageTooLarge = MessageTooLarge;
  /** Raised when a broker outage outlasts the outage buffer (see `outageBuffer`). */
  readonly LayerUnavailable = LayerUnavailable;
  readonly prefix: string;

  private readonly options: ResolvedLayerOptions;
  private readonly rabbit: ResolvedRabbitmqOptions;
  private readonly host: string;
  private readonly expiryMs: number;
  private readonly topology: Topology;
  private readonly codec: MessagePackCodec;
  private readonly buffer: OutageBuffer;
  private readonly groups: GroupLog;
  private readonly consumers: ReceiveConsumers;
  private readonly link: AmqpLink;
  private readonly logger = new Logger(RabbitmqChannelLayer.name);
  /** Queues declared on the current connection (by base name); the promise is shared so sends keep their order. */
  private declared = new Map<string, Promise<string>>();
  private readonly declaredDone = new Set<string>();
  private readonly totals: Counters = { messages_count: 0, channel_full_count: 0 };
  private readonly channelCounters = new Map<string, Counters>();
  private readonly stateListeners = new Set<(reason: string) => void>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private droppedMessages = 0;
  private readyResolve!: () => void;
  private readonly ready: Promise<void>;
  private closed = false;

  constructor(options: RabbitmqChannelLayerOptions = {}) {
    this.options = resolveLayerOptions(options);
    this.rabbit = resolveRabbitmqOptions(options);
    assertAmqplibInstalled();
    this.expiry = this.options.expiry;
    this.groupExpiry = this.options.groupExpiry;
    this.capacity = this.options.capacity;
    this.maxMessageSize = this.options.maxMessageSize;
    this.prefix = this.rabbit.prefix;
    this.host = describeUrl(this.rabbit.url);
    this.expiryMs = Math.ceil(this.expiry * 1000);
    this.topology = new Topology(this.prefix, this.expiryMs, this.groupExpiry);
    this.codec = new MessagePackCodec(this.maxMessageSize);
    this.buffer = new OutageBuffer(this.host, this.rabbit.limits);
    this.groups = new GroupLog(Math.ceil(this.groupExpiry * 1000), (body) => this.appendGroupEvent(body));
    this.consumers = new ReceiveConsumers((base) => this.declare(base));
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
    this.link = new AmqpLink(
      this.rabbit.url,
      this.topology,
      randomLetters(12),
      {
        up: (channels, stateLost) => this.linkUp(channels, stateLost),
        down: () => this.linkDown(),
        open: () => {
          this.buffer.open();
          this.readyResolve();
        },
      },
      this.logger,
    );
    this.link.start();
  }

  async send(channel: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertChannelName(channel);
    if (!(await this.deliver(channel, this.codec.encode(message)))) throw new ChannelFull(channel);
  }

  /**
   * Publishes every message at once on the confirm channel (one write burst, confirms awaited
   * together). A channel's messages are published in call order; one refused as full is followed
   * by refusals of the later ones (the queue stays full within one burst unless a reader takes
   * some meanwhile, in which case those later ones are queued and reported sent).
   */
  async sendMany(messages: ReadonlyArray<readonly [string, ChannelMessage]>): Promise<boolean[]> {
    this.assertOpen();
    const encoded = messages.map(([channel, message]) => {
      assertChannelName(channel);
      return [channel, this.codec.encode(message)] as const;
    });
    return Promise.all(encoded.map(([channel, body]) => this.deliver(channel, body)));
  }

  async receive(channels: readonly string[], options: ReceiveOptions = {}): Promise<ReceiveResult> {
    const [first] = await this.take(channels, 1, options);
    return first ?? [null, null];
  }

  /** Up to `max` messages: a consumer with prefetch `max` is pushed at most that many, never more. */
  async receiveMany(
    channels: readonly string[],
    options: ReceiveManyOptions,
  ): Promise<Array<[string, ChannelMessage]>> {
    return this.take(channels, assertMax(options.max), options);
  }

  async newChannel(pattern: string): Promise<string> {
    this.assertOpen();
    assertNewChannelPattern(pattern);
    // 52^12 names: no round trip to check for a collision.
    return pattern + randomLetters(12);
  }

  async groupAdd(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    await this.ready;
    await this.groups.record({ t: 'add', g: group, c: channel, at: Date.now() });
  }

  async groupDiscard(group: string, channel: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    assertChannelName(channel);
    await this.ready;
    await this.groups.record({ t: 'discard', g: group, c: channel });
  }

  async groupChannels(group: string): Promise<string[]> {
    this.assertOpen();
    assertGroupName(group);
    await this.untilUp(0);
    return this.groups.members(group);
  }

  /** One publish per live member, all pipelined; a full member misses the message (counted). */
  async sendGroup(group: string, message: ChannelMessage): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    const body = this.codec.encode(message);
    await this.untilUp(body.length);
    await Promise.all(this.groups.members(group).map((member) => this.deliver(member, body)));
  }

  /** Empties this prefix: a `flush` event clears every process's groups, then the known queues are purged. */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.ready;
    const bases = new Set([...this.declared.keys(), ...this.groups.allMembers().map(nonLocalName)]);
    await this.groups.record({ t: 'flush' });
    this.consumers.discardHeld();
    for (const base of bases) {
      const queue = await this.declare(base);
      await this.onAdmin((admin) => admin.purgeQueue(queue));
    }
  }

  /** Resolves once the broker answered and the group stream was read up to now; `LayerUnavailable` after `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LayerUnavailable(
              this.host,
              'unreachable',
              `RabbitMQ ${this.host} did not answer within ${timeoutMs} ms (${this.link.describe()})`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * This instance's counters (`messages_count`, `channel_full_count`, losses), as the broker keeps
   * no such totals per queue over AMQP.
   */
  async globalStatistics(): Promise<LayerStatistics> {
    this.assertOpen();
    return {
      ...this.totals,
      layer_unavailable_count: this.buffer.rejected,
      messages_dropped_count: this.droppedMessages,
    };
  }

  /**
   * Pending count from the broker (queue.declare-ok); the age of the oldest message by peeking
   * at it (`basic.get`, then a requeue to its place); counters of this instance.
   */
  async channelStatistics(channel: string): Promise<LayerStatistics> {
    this.assertOpen();
    assertChannelName(channel);
    const base = nonLocalName(channel);
    const counters = this.channelCounters.get(base);
    const stats = {
      messages_count: counters?.messages_count ?? 0,
      channel_full_count: counters?.channel_full_count ?? 0,
      messages_pending: 0,
      messages_max_age: 0,
    };
    await this.ready;
    const queue = await this.declare(base);
    await this.onAdmin(async (admin) => {
      stats.messages_pending = (await admin.checkQueue(queue)).messageCount;
      if (stats.messages_pending > 0) {
        const head = await admin.get(queue, { noAck: false });
        if (head) {
          stats.messages_max_age = Math.max(0, (Date.now() - Number(head.properties.timestamp)) / 1000);
          admin.nack(head, false, true);
        }
      }
    });
    return stats;
  }

  onStateLost(listener: (reason: string) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Pending receives end with `[null, null]`; sends in flight get their confirms before the connection closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.consumers.endAll();
    this.buffer.refuseAll('closing', this.link.describe());
    await Promise.allSettled([...this.inFlight]);
    this.groups.abandon();
    await this.link.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new ChannelLayerClosed();
  }

  private async linkUp(channels: LinkChannels, stateLost: boolean): Promise<void> {
    this.declared = new Map();
    this.declaredDone.clear();
    await channels.log.prefetch(2000);
    await channels.log.consume(this.topology.expiredQueue, (message) => this.onExpired(message), { noAck: true });
    await this.groups.attach(channels.log, this.topology.groupStream);
    this.consumers.attach(channels.receive);
    if (stateLost) this.stateLost();
  }

  private linkDown(): void {
    this.consumers.detach();
    this.groups.abandon();
  }

  private stateLost(): void {
    const reason = `RabbitMQ ${this.host} restarted without this layer's queues`;
    this.logger.warn(`${reason}: queued messages are gone`);
    for (const listener of [...this.stateListeners]) {
      try {
        listener(reason);
      } catch (error) {
        this.logger.error(`A state-lost listener failed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Declares a channel queue once per connection (asgi_rabbitmq declared it on every send). Sends
   * to a queue not yet declared all wait on the same declare, so they still go out in call order.
   */
  private declare(base: string): Promise<string> {
    let declaring = this.declared.get(base);
    if (!declaring) {
      const queue = this.topology.queueOf(base);
      declaring = this.declareNow(queue, this.options.capacities.capacityOf(base)).then(() => {
        this.declaredDone.add(base);
        return queue;
      });
      const mine = declaring;
      this.declared.set(base, mine);
      mine.catch(() => {
        if (this.declared.get(base) === mine) this.declared.delete(base);
      });
    }
    return declaring;
  }

  private async declareNow(queue: string, capacity: number): Promise<void> {
    const admin = await this.link.adminChannel();
    try {
      await admin.assertQueue(queue, this.topology.channelQueue(capacity));
    } catch (error) {
      this.link.resetAdmin();
      // 406: declared by another process with other arguments (capacity/expiry differ): use it as it is.
      if ((error as { code?: number }).code !== 406) throw error;
      this.logger.warn(
        `Queue ${queue} exists with other arguments (another process with other capacity/expiry options?): ` +
          'using it as it is',
      );
      await (await this.link.adminChannel()).checkQueue(queue);
    }
  }

  /**
   * Waits (in the outage buffer) while the broker is unreachable: after a reconnect the membership
   * table is rebuilt from the stream, and is whole only once the connection is open again.
   */
  private async untilUp(bytes: number): Promise<void> {
    if (this.link.state !== 'up') await this.buffer.wait(bytes, this.link.describe());
  }

  /** Runs `operation` on the admin channel; a channel error there makes the next call open a new one. */
  private async onAdmin<T>(operation: (admin: Channel) => Promise<T>): Promise<T> {
    const admin = await this.link.adminChannel();
    try {
      return await operation(admin);
    } catch (error) {
      this.link.resetAdmin();
      throw error;
    }
  }

  /** Publishes one message to the queue of `channel`; false when the queue is full. */
  private async deliver(channel: string, body: Buffer): Promise<boolean> {
    const base = nonLocalName(channel);
    for (let attempt = 0; ; attempt++) {
      if (this.link.state !== 'up') await this.buffer.wait(body.length, this.link.describe());
      if (this.closed && !this.link.current) throw this.buffer.lost('the layer closed');
      const queue = this.declaredDone.has(base) ? this.topology.queueOf(base) : await this.declare(base);
      const current = this.link.current;
      let outcome: PublishOutcome = 'lost';
      if (current) {
        const publishing = current.publisher.publish(queue, channel, body, Date.now());
        this.inFlight.add(publishing);
        outcome = await publishing;
        this.inFlight.delete(publishing);
      }
      switch (outcome) {
        case 'ok':
          this.count(base, 'messages_count');
          return true;
        case 'full':
          this.count(base, 'channel_full_count');
          return false;
        case 'noroute':
          // The queue vanished (unused past x-expires, or lost with the broker): declare it again.
          this.declaredDone.delete(base);
          this.declared.delete(base);
          if (attempt < NOROUTE_RETRIES) continue;
          throw this.buffer.lost(`queue ${queue} kept disappearing`);
        default:
          throw this.buffer.lost(this.link.describe());
      }
    }
  }

  /** Group events go straight to the stream while a connection is being set up (the `hello` of `attach`). */
  private async appendGroupEvent(body: Buffer): Promise<boolean> {
    if (!this.link.current) await this.buffer.wait(body.length, this.link.describe());
    const current = this.link.current;
    if (!current) throw this.buffer.lost(this.link.describe());
    const outcome = await current.publisher.publish(this.topology.groupStream, 'group', body, Date.now());
    if (outcome === 'lost') throw this.buffer.lost(this.link.describe());
    return outcome === 'ok';
  }

  private async take(
    channels: readonly string[],
    max: number,
    options: ReceiveOptions,
  ): Promise<Array<[string, ChannelMessage]>> {
    this.assertOpen();
    assertReceiveChannels(channels);
    const waitMs = receiveWaitMs(options.block, options.timeout);
    let taken: Array<ConsumeMessage | GetMessage> = this.consumers.takeHeld(channels, max);
    if (taken.length === 0 && (waitMs <= 0 || !this.consumers.isConsuming(channels))) {
      taken = await this.getNow(channels, max);
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      const opened = this.open(taken);
      const remaining = deadline - Date.now();
      if (opened.length > 0 || remaining <= 0 || this.closed || options.signal?.aborted) return opened;
      // Nothing yet (or only expired deliveries): wait for the time left.
      taken = await this.consumers.wait(channels, max, remaining, options.signal);
      if (taken.length === 0) return [];
    }
  }

  /** `basic.get` (auto-ack) on each queue in random order until `max` messages: a non-blocking receive. */
  private async getNow(channels: readonly string[], max: number): Promise<GetMessage[]> {
    if (this.link.state !== 'up') return [];
    const taken: GetMessage[] = [];
    try {
      for (const base of shuffled(channels)) {
        const queue = await this.declare(base);
        const admin: Channel = await this.link.adminChannel();
        while (taken.length < max) {
          const message = await admin.get(queue, { noAck: true });
          if (!message) break;
          taken.push(message);
        }
        if (taken.length >= max) break;
      }
    } catch (error) {
      this.link.resetAdmin();
      if (this.link.state === 'up') this.logger.warn(`A receive failed: ${(error as Error).message}`);
    }
    return taken;
  }

  /**
   * Decodes deliveries. The broker expires what waits in a queue, not what a consumer holds
   * unacknowledged: a held delivery past its expiry (by the sender's clock) is dropped here, and
   * its channel leaves its groups as the broker's expiry would have made it.
   */
  private open(messages: ReadonlyArray<ConsumeMessage | GetMessage>): Array<[string, ChannelMessage]> {
    const now = Date.now();
    const out: Array<[string, ChannelMessage]> = [];
    for (const message of messages) {
      const channel = String(message.properties.type);
      const held = 'consumerTag' in message.fields;
      if (held && Number(message.properties.timestamp) + this.expiryMs <= now) {
        this.forget(channel);
        continue;
      }
      try {
        out.push([channel, this.codec.decode(message.content)]);
      } catch {
        this.droppedMessages++;
      }
    }
    return out;
  }

  /** A message dead-lettered by the broker: an expired one takes its channel out of every group. */
  private onExpired(message: ConsumeMessage | null): void {
    if (!message) return;
    const deaths = message.properties.headers?.['x-death'] as Array<{ reason?: string }> | undefined;
    if (deaths?.[0]?.reason === 'expired') this.forget(String(message.properties.type));
  }

  private forget(channel: string): void {
    if (this.closed || !this.groups.has(channel)) return;
    this.groups
      .record({ t: 'forget', c: channel })
      .catch((error: Error) =>
        this.logger.warn(`Could not drop expired channel ${channel} from its groups: ${error.message}`),
      );
  }

  private count(base: string, key: keyof Counters): void {
    this.totals[key]++;
    let counters = this.channelCounters.get(base);
    if (!counters) {
      if (this.channelCounters.size >= MAX_TRACKED_CHANNEL_STATS) this.channelCounters.clear();
      this.channelCounters.set(base, (counters = { messages_count: 0, channel_full_count: 0 }));
    }
    counters[key]++;
  }
}

import type { Channel, ConsumeMessage } from 'amqplib';
import { randomLetters } from '../names';

/** One membership change, as written to the stream. `at` is the writer's clock (ms). */
export type GroupEvent =
  | { t: 'add'; g: string; c: string; at: number }
  | { t: 'discard'; g: string; c: string }
  /** A message to `c` expired: the channel is gone, so it leaves every group. */
  | { t: 'forget'; c: string }
  | { t: 'flush' }
  /** Written by a starting instance: seeing it back means the replay has caught up. */
  | { t: 'hello' };

type Stamped = GroupEvent & { id: string };

/**
 * Group memberships, shared by every process of a prefix through one RabbitMQ stream
 * (`<prefix>.groups`): each `groupAdd`/`groupDiscard`/expiry is an event appended to it, and each
 * layer instance reads the stream from its first retained event and keeps reading, so every
 * process folds the same events in the same order into the same membership table.
 *
 * Why a stream and not an exchange per group (asgi_rabbitmq): bindings cannot carry a `!`
 * member's local part (one queue per process receives for all its sockets, so the member must be
 * labelled per message), cannot expire `groupExpiry` after the latest add, and cannot be listed
 * over AMQP; a binding per member also raced with the group send. A stream is ordered,
 * replicated with the broker, replayable by a process that starts later, and trimmed by the
 * broker (`x-max-age` = groupExpiry), so nothing accumulates for ever.
 *
 * A writer waits until its own event comes back through the stream, so after `groupAdd`
 * resolves this process sees the member (read-your-writes); other processes see it once their
 * reader passes that event (typically within a millisecond or two).
 */
export class GroupLog {
  /** group → member channel → time of its latest add (ms). */
  private groups = new Map<string, Map<string, number>>();
  private channelGroups = new Map<string, Set<string>>();
  private readonly awaiting = new Map<string, () => void>();

  constructor(
    private readonly groupExpiryMs: number,
    private readonly append: (body: Buffer) => Promise<boolean>,
  ) {}

  /**
   * Reads the stream from its start on `channel` (a fresh connection: the table is rebuilt, as the
   * stream may have been lost with the broker), then appends a `hello` and waits to see it.
   */
  async attach(channel: Channel, stream: string): Promise<void> {
    this.groups = new Map();
    this.channelGroups = new Map();
    // A stream consumer needs acks and a prefetch (it is the credit the broker sends by).
    await channel.prefetch(2000);
    await channel.consume(stream, (message) => this.onEvent(channel, message), {
      noAck: false,
      arguments: { 'x-stream-offset': 'first' },
    });
    await this.record({ t: 'hello' });
  }

  /** Appends `event` and resolves once this instance has applied it. */
  async record(event: GroupEvent): Promise<void> {
    const id = randomLetters(16);
    const seen = new Promise<void>((resolve) => this.awaiting.set(id, resolve));
    let appended: boolean;
    try {
      appended = await this.append(Buffer.from(JSON.stringify({ ...event, id } satisfies Stamped)));
    } catch (error) {
      this.awaiting.delete(id);
      throw error;
    }
    if (!appended) {
      this.awaiting.delete(id);
      throw new Error('the group stream did not take the event');
    }
    await seen;
  }

  /** Members whose latest add is younger than `groupExpiry`, oldest add first. */
  members(group: string, now = Date.now()): string[] {
    const members = this.groups.get(group);
    if (!members) return [];
    const cutoff = now - this.groupExpiryMs;
    const live: string[] = [];
    for (const [channel, addedAt] of members) {
      if (addedAt <= cutoff) this.remove(group, channel);
      else live.push(channel);
    }
    return live;
  }

  /** True when `channel` is in some group. */
  has(channel: string): boolean {
    return this.channelGroups.has(channel);
  }

  /** Every channel in any group (flush purges their queues too). */
  allMembers(): string[] {
    return [...this.channelGroups.keys()];
  }

  /** Ends the waits of a connection that dropped (their events may or may not be in the stream). */
  abandon(): void {
    for (const resolve of this.awaiting.values()) resolve();
    this.awaiting.clear();
  }

  private onEvent(channel: Channel, message: ConsumeMessage | null): void {
    if (!message) return; // cancelled (stream deleted): the link reconnects and reattaches
    try {
      channel.ack(message);
    } catch {
      // the channel closed meanwhile: the event is still applied, a new reader starts over anyway
    }
    let event: Stamped;
    try {
      event = JSON.parse(message.content.toString('utf8')) as Stamped;
    } catch {
      return;
    }
    this.apply(event);
    const resolve = this.awaiting.get(event.id);
    if (resolve) {
      this.awaiting.delete(event.id);
      resolve();
    }
  }

  private apply(event: Stamped): void {
    switch (event.t) {
      case 'add': {
        let members = this.groups.get(event.g);
        if (!members) this.groups.set(event.g, (members = new Map()));
        members.delete(event.c); // re-insert: members stay ordered by their latest add
        members.set(event.c, event.at);
        let memberOf = this.channelGroups.get(event.c);
        if (!memberOf) this.channelGroups.set(event.c, (memberOf = new Set()));
        memberOf.add(event.g);
        break;
      }
      case 'discard':
        this.remove(event.g, event.c);
        break;
      case 'forget':
        for (const group of [...(this.channelGroups.get(event.c) ?? [])]) this.remove(group, event.c);
        break;
      case 'flush':
        this.groups = new Map();
        this.channelGroups = new Map();
        break;
      default:
        break;
    }
  }

  private remove(group: string, channel: string): void {
    const members = this.groups.get(group);
    if (members?.delete(channel) && members.size === 0) this.groups.delete(group);
    const memberOf = this.channelGroups.get(channel);
    if (memberOf?.delete(group) && memberOf.size === 0) this.channelGroups.delete(channel);
  }
}

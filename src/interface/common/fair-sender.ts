import type { ChannelLayer } from '../../layers/channel-layer';
import type { ChannelMessage } from '../../layers/channel-message';
import { ChannelFull } from '../../layers/errors';
import { ChannelOccupancy } from './channel-occupancy';

/**
 * Why a message was not sent: its channel stayed full too long, the layer refused it, or its queue
 * was cleared by its owner.
 */
export type FairSendFailure =
  | { reason: 'full'; channel: string }
  | { reason: 'error'; channel: string; error: Error }
  | { reason: 'dropped'; channel: string };

/** Why a queue gave up on its next message (and dropped the rest). */
export type FairGiveUp = Exclude<FairSendFailure, { reason: 'dropped' }>;

/** What a queue's owner (a WebSocket connection, an HTTP client) hears from it. */
export interface FairQueueOwner {
  /** A message left for the layer; the queue is now `queue.pending` long. */
  sent?(queue: FairQueue): void;
  /** The queue gave up (and dropped what it still held): the owner must stop sending. */
  failed(queue: FairQueue, failure: FairGiveUp): void;
}

interface Item {
  channel: string;
  content: ChannelMessage;
  bytes: number;
  /** Told once: sent (no argument), or why not. */
  settled: ((failure?: FairSendFailure) => void) | undefined;
}

/** A message in a FairQueue, as its sender holds it: something to `withdraw`. */
export interface QueuedMessage {
  readonly channel: string;
}

/** First and longest wait before a full channel is tried again. */
const FIRST_RETRY_MS = 2;
const LAST_RETRY_MS = 100;
/** Messages of this process that may sit unread in one channel: enough to keep the workers busy. */
export const DEFAULT_STANDING_MESSAGES = 32;

/**
 * One sender's messages (a WebSocket connection's frames, an HTTP client's requests), sent in order,
 * one at a time, when its turn comes. A full channel does not fail them: they wait in the queue.
 */
export class FairQueue {
  private readonly items: Item[] = [];
  private head = 0;
  private waitingSince: number | undefined;
  /** Bytes of the messages still queued (as the owner counted them). */
  pendingBytes = 0;
  /** A send of this queue is with the layer now. */
  busy = false;
  /** The full channel this queue waits for, if any. */
  parkedOn: string | undefined;

  constructor(
    private readonly sender: FairSender,
    readonly owner: FairQueueOwner,
    /** How long the next message may wait for room in a full channel before the queue gives up. */
    readonly maxWaitMs: number,
  ) {}

  /** Messages not yet handed to the layer (the one in flight included). */
  get pending(): number {
    return this.items.length - this.head;
  }

  /**
   * Queues a message for `channel`; `bytes` is what it counts for against the owner's limits, and
   * `settled` (if given) hears once whether it was sent.
   */
  push(
    channel: string,
    content: ChannelMessage,
    bytes = 0,
    settled?: (failure?: FairSendFailure) => void,
  ): QueuedMessage {
    const item: Item = { channel, content, bytes, settled };
    this.items.push(item);
    this.pendingBytes += bytes;
    this.sender.queued(1);
    this.sender.wake(this);
    return item;
  }

  /**
   * Takes back a message that has not reached the layer (its sender left: an HTTP client gone
   * before its request's turn came); its `settled` hears it was dropped. False when it is with the
   * layer already, or was sent or dropped before.
   */
  withdraw(message: QueuedMessage): boolean {
    const at = this.items.indexOf(message as Item, this.head);
    const wasHead = at === this.head;
    if (at < 0 || (wasHead && this.busy)) return false;
    const [item] = this.items.splice(at, 1);
    this.pendingBytes -= item.bytes;
    this.sender.queued(-1);
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    if (wasHead) {
      this.waitingSince = undefined;
      // Its next message (if any) is not the one that was waiting: it takes its turn afresh.
      this.sender.requeue(this);
    }
    item.settled?.({ reason: 'dropped', channel: item.channel });
    return true;
  }

  /**
   * Drops every queued message (not the one already with the layer), telling each why (`failure`,
   * or that it was dropped); returns how many.
   */
  clear(failure?: FairSendFailure): number {
    const keep = this.busy ? this.items[this.head] : undefined;
    const dropped = this.items.slice(this.head + (keep ? 1 : 0));
    this.items.length = 0;
    this.head = 0;
    if (keep) this.items.push(keep);
    this.pendingBytes = keep?.bytes ?? 0;
    this.sender.queued(-dropped.length);
    // Its next message (if any) is not the one that was waiting: it takes its turn afresh.
    if (dropped.length > 0) this.sender.requeue(this);
    for (const item of dropped) item.settled?.(failure ?? { reason: 'dropped', channel: item.channel });
    return dropped.length;
  }

  /** @internal */
  peek(): Item | undefined {
    return this.items[this.head];
  }

  /** @internal The head message left for the layer (`failure`: it did not get there). */
  shift(failure?: FairSendFailure): void {
    const item = this.items[this.head];
    item.settled?.(failure);
    this.items[this.head++] = undefined as unknown as Item;
    this.pendingBytes -= item.bytes;
    this.waitingSince = undefined;
    this.sender.queued(-1);
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  /** @internal Since when the head message has been waiting for room in a full channel. */
  blockedFor(now: number): number {
    this.waitingSince ??= now;
    return now - this.waitingSince;
  }
}

/**
 * Hands the messages of many senders to one layer fairly. Each sender has its own queue, sent in
 * order, one message in flight at a time; senders take turns (round robin), so one that floods only
 * ever holds its own turn. A `ChannelFull` fails nobody: the queues for that channel wait, and one
 * timer for all full channels lets one of them probe the channel again after a short, growing wait
 * (no polling per message or per sender); when the probe gets through, the others follow. Only a
 * sender whose next message has waited longer than its queue's `maxWaitMs` gives up. Besides
 * full channels, a ChannelOccupancy keeps the process's unread messages in each channel at most
 * `standing`, so the line in the channel stays short and a newcomer is served soon.
 */
export class FairSender {
  /** Queues with something to send, nothing in flight and a channel with room (as far as we know), in turn order. */
  private readonly ready = new Set<FairQueue>();
  /** Queues whose next message is for a full channel, per channel, in the order they came. */
  private readonly waiting = new Map<string, Set<FairQueue>>();
  /** Full channels: when to probe each again (Infinity: a probe is out), and the wait after that. */
  private readonly blocked = new Map<string, { retryAt: number; delay: number }>();
  private retryTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private stopped = false;
  /** Messages in every queue, and who waits for them all to be sent. */
  private total = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly occupancy: ChannelOccupancy;

  constructor(
    private readonly layer: ChannelLayer,
    /** How many of this process's messages may sit unread in one channel (see ChannelOccupancy). */
    standing = DEFAULT_STANDING_MESSAGES,
  ) {
    this.occupancy = new ChannelOccupancy(layer, standing, {
      room: (channel) => {
        if (this.blocked.has(channel)) return;
        this.unblock(channel);
        this.pump();
      },
      stillFull: (channel) => this.giveUpOnStale(channel),
    });
  }

  /** Messages waiting in every queue (those with the layer included). */
  get pending(): number {
    return this.total;
  }

  /** Resolves once every queued message has been sent or dropped, or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.total === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** @internal */
  queued(change: number): void {
    this.total += change;
    if (this.total === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** A hint that messages were probably read (a reply came back): held channels are looked at now. */
  nudge(): void {
    this.occupancy.nudge();
  }

  queue(owner: FairQueueOwner, maxWaitMs: number): FairQueue {
    return new FairQueue(this, owner, maxWaitMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ready.clear();
    this.waiting.clear();
  }

  /** @internal A queue got a message. */
  wake(queue: FairQueue): void {
    if (queue.busy || queue.parkedOn !== undefined || this.stopped) return;
    this.ready.add(queue);
    this.pump();
  }

  /** @internal A queue's messages changed under it (cleared): back into the turns, or out of them. */
  requeue(queue: FairQueue): void {
    this.forget(queue);
    this.wake(queue);
  }

  /** Takes a queue out of the turns (it gave up). */
  private forget(queue: FairQueue): void {
    this.ready.delete(queue);
    if (queue.parkedOn !== undefined) this.waiting.get(queue.parkedOn)?.delete(queue);
    queue.parkedOn = undefined;
  }

  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      for (const queue of this.ready) {
        this.ready.delete(queue);
        const item = queue.peek();
        if (!item || queue.busy) continue;
        if (this.blocked.has(item.channel)) this.park(queue, item.channel);
        else if (this.occupancy.full(item.channel)) {
          this.park(queue, item.channel);
          this.occupancy.watch(item.channel);
        } else this.send(queue, item);
      }
    } finally {
      this.pumping = false;
    }
  }

  private park(queue: FairQueue, channel: string): void {
    queue.parkedOn = channel;
    let queues = this.waiting.get(channel);
    if (!queues) this.waiting.set(channel, (queues = new Set()));
    queues.add(queue);
  }

  private send(queue: FairQueue, item: Item): void {
    queue.busy = true;
    this.occupancy.started(item.channel);
    this.layer.send(item.channel, item.content).then(
      () => {
        queue.busy = false;
        this.occupancy.landed(item.channel);
        if (this.blocked.delete(item.channel)) this.unblock(item.channel);
        queue.shift();
        queue.owner.sent?.(queue);
        // To the back of the line: the others take their turns before this queue's next message.
        if (queue.pending > 0 && !queue.busy) this.ready.add(queue);
        this.pump();
      },
      (error: Error) => {
        queue.busy = false;
        this.occupancy.failed(item.channel);
        const full = error instanceof ChannelFull;
        // A probe that failed in any way leaves the channel blocked, to be probed again later.
        if (full || this.blocked.get(item.channel)?.retryAt === Infinity) this.channelFull(item.channel);
        if (!full) return this.giveUp(queue, { reason: 'error', channel: item.channel, error });
        if (queue.blockedFor(Date.now()) > queue.maxWaitMs)
          return this.giveUp(queue, { reason: 'full', channel: item.channel });
        this.park(queue, item.channel);
      },
    );
  }

  /** The channel has room again: everybody waiting for it takes their turn. */
  private unblock(channel: string): void {
    const queues = this.waiting.get(channel);
    if (!queues) return;
    this.waiting.delete(channel);
    for (const queue of queues) {
      queue.parkedOn = undefined;
      this.ready.add(queue);
    }
  }

  /** Queues waiting for `channel` longer than their maxWait give up; whether any still waits. */
  private giveUpOnStale(channel: string): boolean {
    const now = Date.now();
    for (const queue of this.waiting.get(channel) ?? []) {
      if (queue.peek()?.channel === channel && queue.blockedFor(now) > queue.maxWaitMs) {
        this.giveUp(queue, { reason: 'full', channel });
      }
    }
    return (this.waiting.get(channel)?.size ?? 0) > 0;
  }

  private giveUp(queue: FairQueue, failure: FairGiveUp): void {
    this.forget(queue);
    queue.clear(failure);
    queue.owner.failed(queue, failure);
  }

  /** Waits a little longer each time the channel is still full, up to LAST_RETRY_MS. */
  private channelFull(channel: string): void {
    const previous = this.blocked.get(channel);
    const now = Date.now();
    if (previous && previous.retryAt !== Infinity && previous.retryAt > now) return;
    const delay = previous ? Math.min(previous.delay * 2, LAST_RETRY_MS) : FIRST_RETRY_MS;
    this.blocked.set(channel, { retryAt: now + delay, delay });
    this.scheduleRetry();
  }

  /** One timer for every full channel, set for the earliest that is due. */
  private scheduleRetry(): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const { retryAt } of this.blocked.values()) next = Math.min(next, retryAt);
    if (next === Infinity) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.probeDue(), Math.max(0, next - Date.now()));
    this.retryTimer.unref();
  }

  /**
   * Each due channel: queues that waited too long give up, the first of the others whose next
   * message is for that channel probes it; one whose next message is now for another channel takes
   * its turn there. A channel nobody waits for any more is forgotten.
   */
  private probeDue(): void {
    this.retryTimer = undefined;
    const now = Date.now();
    for (const [channel, state] of this.blocked) {
      if (state.retryAt > now) continue;
      let probe: FairQueue | undefined;
      let item: Item | undefined;
      for (const queue of this.waiting.get(channel) ?? []) {
        const next = queue.peek();
        if (next?.channel !== channel) {
          this.forget(queue);
          if (next) this.ready.add(queue);
        } else if (queue.blockedFor(now) > queue.maxWaitMs) this.giveUp(queue, { reason: 'full', channel });
        else if (!probe) {
          probe = queue;
          item = next;
        }
      }
      if (!probe || !item) {
        this.blocked.delete(channel);
        this.unblock(channel);
        continue;
      }
      state.retryAt = Infinity;
      this.forget(probe);
      this.send(probe, item);
    }
    this.pump();
    this.scheduleRetry();
  }
}

import type { ChannelLayer } from '../../layers/channel-layer';
import type { ChannelMessage } from '../../layers/channel-message';
import { ChannelFull, MessageTooLarge } from '../../layers/errors';
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
/** The most messages of one queue in one `sendMany` call. */
const MAX_BATCH = 64;

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
  /** How many of this queue's messages (from the head on) are with the layer now: one send at a time. */
  inFlight = 0;
  /**
   * The most messages its next send may take: 1 to find which of a batch refused whole was bad, or
   * its share of the room when it comes out of a wait with others; undefined, no cap of its own.
   */
  nextCap: number | undefined;
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
    if (at < 0 || at < this.head + this.inFlight) return false;
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

  /** @internal A message past the head that reached the layer out of turn (see FairSender.sent). */
  removeSent(item: Item): void {
    const at = this.items.indexOf(item, this.head);
    if (at < 0) return;
    this.items.splice(at, 1);
    this.pendingBytes -= item.bytes;
    this.sender.queued(-1);
    item.settled?.();
  }

  /**
   * Drops every queued message (not those already with the layer), telling each why (`failure`,
   * or that it was dropped); returns how many.
   */
  clear(failure?: FairSendFailure): number {
    const keep = this.items.slice(this.head, this.head + this.inFlight);
    const dropped = this.items.slice(this.head + this.inFlight);
    this.items.length = 0;
    this.head = 0;
    this.items.push(...keep);
    this.pendingBytes = keep.reduce((sum, item) => sum + item.bytes, 0);
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

  /**
   * @internal The next messages to send: from the head, at most `max`, all for the head's channel
   * (a batch goes to one channel, so a refusal as full holds the rest of it in order).
   */
  takeRun(max: number): Item[] {
    const first = this.items[this.head];
    const run = [first];
    const end = Math.min(this.items.length, this.head + max);
    for (let at = this.head + 1; at < end && this.items[at].channel === first.channel; at++) run.push(this.items[at]);
    return run;
  }

  /** @internal The head message left the queue (`failure`: it did not reach the layer). */
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
    if (queue.inFlight > 0 || queue.parkedOn !== undefined || this.stopped) return;
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
        if (!item || queue.inFlight > 0) continue;
        if (this.blocked.has(item.channel)) this.park(queue, item.channel);
        else if (this.occupancy.full(item.channel)) {
          this.park(queue, item.channel);
          this.occupancy.watch(item.channel);
        } else this.send(queue, this.batchSize(queue, item.channel));
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

  /**
   * How many of the queue's next messages go in one send: what piled up while its last send was
   * out (a socket's frames of one tick), within the channel's standing room, so a batch never
   * pushes a newcomer further back than one message at a time would.
   */
  private batchSize(queue: FairQueue, channel: string): number {
    if (!this.layer.sendMany) return 1;
    return Math.max(1, Math.min(MAX_BATCH, queue.nextCap ?? MAX_BATCH, this.occupancy.room(channel)));
  }

  /** Sends the queue's next `max` messages for one channel: one `sendMany` call, or `send` for one. */
  private send(queue: FairQueue, max: number): void {
    const run = queue.takeRun(max);
    const channel = run[0].channel;
    queue.inFlight = run.length;
    queue.nextCap = undefined;
    for (let i = 0; i < run.length; i++) this.occupancy.started(channel);
    const sent: Promise<boolean[] | undefined> =
      run.length === 1
        ? this.layer.send(channel, run[0].content).then(() => undefined)
        : this.layer.sendMany!(run.map((item) => [item.channel, item.content] as const));
    sent.then(
      (results) => this.sent(queue, run, results),
      (error: Error) => this.notSent(queue, channel, run.length, error),
    );
  }

  /**
   * `results`: `sendMany`'s, one per message (none for one `send`). A contract layer refuses from
   * the first full message on; a layer whose server frees room mid-call (RabbitMQ, a reader taking
   * some) may accept a later one after a refusal: that one was sent, so it leaves the queue as sent
   * (never sent twice), and only the refused ones wait.
   */
  private sent(queue: FairQueue, run: readonly Item[], results: boolean[] | undefined): void {
    const channel = run[0].channel;
    queue.inFlight = 0;
    let accepted = 0;
    while (accepted < run.length && (results === undefined || results[accepted])) accepted++;
    for (let i = 0; i < run.length; i++) {
      if (results === undefined || results[i]) this.occupancy.landed(channel);
      else this.occupancy.failed(channel);
    }
    if (accepted > 0 && this.blocked.delete(channel)) this.unblock(channel);
    for (let i = 0; i < accepted; i++) {
      queue.shift();
      queue.owner.sent?.(queue);
    }
    if (accepted === run.length) {
      // To the back of the line: the others take their turns before this queue's next message.
      if (queue.pending > 0) this.ready.add(queue);
      return this.pump();
    }
    for (let i = accepted + 1; i < run.length; i++) if (results?.[i]) queue.removeSent(run[i]);
    this.refusedAsFull(queue, channel);
  }

  private notSent(queue: FairQueue, channel: string, count: number, error: Error): void {
    queue.inFlight = 0;
    for (let i = 0; i < count; i++) this.occupancy.failed(channel);
    if (error instanceof ChannelFull) return this.refusedAsFull(queue, channel);
    // A probe that failed in any way leaves the channel blocked, to be probed again later.
    if (this.blocked.get(channel)?.retryAt === Infinity) this.channelFull(channel);
    if (count > 1 && (error instanceof TypeError || error instanceof MessageTooLarge)) {
      // A batch refused whole, nothing sent: its messages go again one by one, to find the bad one.
      queue.nextCap = 1;
      this.ready.add(queue);
      return this.pump();
    }
    this.giveUp(queue, { reason: 'error', channel, error });
  }

  /** The queue's next message found its channel full: it waits (or gives up after its maxWait). */
  private refusedAsFull(queue: FairQueue, channel: string): void {
    this.channelFull(channel);
    if (queue.blockedFor(Date.now()) > queue.maxWaitMs) return this.giveUp(queue, { reason: 'full', channel });
    this.park(queue, channel);
    this.pump();
  }

  /** The channel has room again: everybody waiting for it takes their turn. */
  private unblock(channel: string): void {
    const queues = this.waiting.get(channel);
    if (!queues) return;
    this.waiting.delete(channel);
    // They share the room that freed up: a flooder that waited first cannot take all of it.
    const share = Math.max(1, Math.floor(this.occupancy.room(channel) / queues.size));
    for (const queue of queues) {
      queue.parkedOn = undefined;
      queue.nextCap = share;
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
      for (const queue of this.waiting.get(channel) ?? []) {
        const next = queue.peek();
        if (next?.channel !== channel) {
          this.forget(queue);
          if (next) this.ready.add(queue);
        } else if (queue.blockedFor(now) > queue.maxWaitMs) this.giveUp(queue, { reason: 'full', channel });
        else probe ??= queue;
      }
      if (!probe) {
        this.blocked.delete(channel);
        this.unblock(channel);
        continue;
      }
      state.retryAt = Infinity;
      this.forget(probe);
      this.send(probe, 1);
    }
    this.pump();
    this.scheduleRetry();
  }
}

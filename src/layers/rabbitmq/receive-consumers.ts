import type { Channel, ConsumeMessage } from 'amqplib';
import { FifoQueue } from '../fifo-queue';
import { isSingleReader } from '../names';

/** A blocked receive: wants up to `max` deliveries. */
interface Waiter {
  max: number;
  resolve: (taken: ConsumeMessage[]) => void;
  cleanup: () => void;
}

/**
 * A delivery nobody asked for is handed back to the broker (nack + requeue, to its old place)
 * after this long, and the consumers stop: a worker's next receive usually comes well within it,
 * while an idle worker never sits on a message another could take.
 */
const HOLD_MS = 50;
/** Consumers with no receive waiting stop after this long (a receive loop restarts them for free until then). */
const IDLE_MS = 1000;
/**
 * Prefetch of consumers on `!` and `?` channels only: no other process reads those queues, so
 * holding a batch starves nobody, and a busy reply loop then waits for no ack round trip per
 * message (the Redis layer pops such lists in batches for the same reason).
 */
const SINGLE_READER_PREFETCH = 64;

/** The consumers of one set of queues, shared by the receives of this instance on exactly that set. */
class ConsumerSet {
  readonly waiters: Waiter[] = [];
  readonly held = new FifoQueue<ConsumeMessage>();
  channel: Channel | undefined;
  tags: string[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /**
   * Counts subscriptions: a consume answered, or a delivery made, for an earlier one (the set
   * stopped and started again on the same AMQP channel meanwhile) is cancelled or handed back.
   */
  private generation = 0;

  constructor(
    readonly key: string,
    /** Channel names as received on (queue base names). */
    readonly bases: readonly string[],
    readonly prefetch: number,
    /** Every queue is read by this process only: what it holds may wait for the next receive. */
    readonly singleReader: boolean,
    private readonly owner: ReceiveConsumers,
  ) {}

  /**
   * `basic.consume` on every queue with a per-consumer prefetch of what the receive asked for: the
   * broker pushes at most that many unacknowledged messages, no `basic.get` polling.
   */
  async subscribe(channel: Channel): Promise<void> {
    if (this.channel) return;
    this.channel = channel;
    const generation = ++this.generation;
    const current = (): boolean => this.generation === generation;
    let queues: string[];
    try {
      // Consuming a queue that does not exist would close the channel (404): declare first.
      queues = await Promise.all(this.bases.map((base) => this.owner.prepare(base)));
    } catch {
      if (current()) this.owner.consumeFailed(this);
      return;
    }
    if (!current()) return;
    // Sent back to back (amqplib keeps a channel's calls in order): the prefetch applies to these consumers.
    void channel.prefetch(this.prefetch, false).catch(() => undefined);
    for (const queue of queues) {
      channel
        .consume(queue, (message) => this.onDelivery(channel, generation, message), { noAck: false })
        .then(
          ({ consumerTag }) => {
            if (current()) this.tags.push(consumerTag);
            else void channel.cancel(consumerTag).catch(() => undefined);
          },
          () => {
            if (current()) this.owner.consumeFailed(this);
          },
        );
    }
  }

  /** Stops the consumers and hands back what is held. */
  unsubscribe(): void {
    const channel = this.channel;
    this.channel = undefined;
    this.generation++;
    clearTimeout(this.holdTimer);
    clearTimeout(this.idleTimer);
    this.holdTimer = this.idleTimer = undefined;
    if (channel) {
      for (const tag of this.tags) void channel.cancel(tag).catch(() => undefined);
      for (let message = this.held.shift(); message; message = this.held.shift()) requeue(channel, message);
    } else {
      while (this.held.shift());
    }
    this.tags = [];
  }

  /** The connection dropped: the broker requeues what was unacknowledged by itself. */
  detach(): void {
    this.channel = undefined;
    this.generation++;
    this.generation++;
    this.tags = [];
    while (this.held.shift());
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  get consuming(): boolean {
    return this.channel !== undefined;
  }

  /** Takes (acknowledges) up to `max` held deliveries. */
  takeHeld(max: number): ConsumeMessage[] {
    const taken: ConsumeMessage[] = [];
    while (taken.length < max && this.held.length > 0) {
      const message = this.held.shift()!;
      if (this.ack(message)) taken.push(message);
    }
    return taken;
  }

  addWaiter(waiter: Waiter): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.waiters.push(waiter);
  }

  removeWaiter(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index !== -1) this.waiters.splice(index, 1);
    if (this.waiters.length === 0 && !this.idleTimer) {
      this.idleTimer = setTimeout(() => this.owner.idle(this), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private onDelivery(channel: Channel, generation: number, message: ConsumeMessage | null): void {
    const current = this.generation === generation;
    if (!message) {
      // The broker cancelled the consumer (the queue was deleted): start over on the next receive.
      if (current) this.owner.consumeFailed(this);
      return;
    }
    if (!current) {
      requeue(channel, message);
      return;
    }
    const waiter = this.waiters.shift();
    if (!waiter) {
      this.held.push(message);
      if (this.singleReader) return;
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        // Nobody asked in time: hand everything back rather than keep it from other readers.
        if (this.held.length > 0 && this.waiters.length === 0) this.owner.idle(this);
      }, HOLD_MS);
      return;
    }
    waiter.cleanup();
    const taken = this.takeHeld(waiter.max - 1);
    if (this.ack(message)) taken.push(message);
    waiter.resolve(taken);
    if (this.waiters.length === 0) this.removeWaiter(waiter);
  }

  private ack(message: ConsumeMessage): boolean {
    try {
      this.channel?.ack(message);
      return this.channel !== undefined;
    } catch {
      return false;
    }
  }
}

function requeue(channel: Channel, message: ConsumeMessage): void {
  try {
    channel.nack(message, false, true);
  } catch {
    // channel closed: the broker requeues it anyway
  }
}

/**
 * The blocking receives of one layer instance, on one AMQP channel. Receives on the same set of
 * queues share consumers (the four concurrent readers of a worker are one consumer set), and a
 * message is acknowledged only when it is handed to a receive, so it is delivered at most once
 * and never lost to a reader that stopped waiting.
 */
export class ReceiveConsumers {
  private readonly sets = new Map<string, ConsumerSet>();
  private channel: Channel | undefined;

  /** `prepare(base)` declares the queue of a channel and gives its name. */
  constructor(readonly prepare: (base: string) => Promise<string>) {}

  /** A new connection: sets with receives waiting consume again. */
  attach(channel: Channel): void {
    this.channel = channel;
    for (const set of this.sets.values()) if (set.waiters.length > 0) void set.subscribe(channel);
  }

  detach(): void {
    this.channel = undefined;
    for (const set of this.sets.values()) set.detach();
  }

  /** Up to `max` deliveries already held for exactly these channels, acknowledged. */
  takeHeld(bases: readonly string[], max: number): ConsumeMessage[] {
    return this.sets.get(keyOf(bases))?.takeHeld(max) ?? [];
  }

  /** True while consumers run for exactly these channels (a blocking receive then need not `basic.get` first). */
  isConsuming(bases: readonly string[]): boolean {
    return this.sets.get(keyOf(bases))?.consuming ?? false;
  }

  /** Flush: what consumers hold is taken (acknowledged) and dropped, as a purge cannot reach it. */
  discardHeld(): void {
    for (const set of this.sets.values()) set.takeHeld(Infinity);
  }

  /** Waits up to `waitMs` for deliveries on `queues` (resolves `[]` on timeout, abort or close). */
  wait(bases: readonly string[], max: number, waitMs: number, signal?: AbortSignal): Promise<ConsumeMessage[]> {
    const key = keyOf(bases);
    let set = this.sets.get(key);
    if (!set) {
      const singleReader = bases.every(isSingleReader);
      const prefetch = singleReader ? Math.max(SINGLE_READER_PREFETCH, max) : max;
      this.sets.set(key, (set = new ConsumerSet(key, [...new Set(bases)], prefetch, singleReader, this)));
    }
    const held = set.takeHeld(max);
    if (held.length > 0 || waitMs <= 0 || signal?.aborted) return Promise.resolve(held);
    const owner = set;
    return new Promise<ConsumeMessage[]>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => end();
      const waiter: Waiter = {
        max,
        resolve,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const end = (): void => {
        waiter.cleanup();
        owner.removeWaiter(waiter);
        resolve([]);
      };
      if (Number.isFinite(waitMs)) timer = setTimeout(end, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      owner.addWaiter(waiter);
      if (this.channel) void owner.subscribe(this.channel);
    });
  }

  /** Ends every waiting receive with `[]` and stops every consumer (the layer is closing). */
  endAll(): void {
    for (const set of this.sets.values()) {
      for (const waiter of set.waiters.splice(0)) {
        waiter.cleanup();
        waiter.resolve([]);
      }
      set.unsubscribe();
    }
    this.sets.clear();
  }

  /** Called by a set that has had no receive waiting for a while, or held a delivery nobody took. */
  idle(set: ConsumerSet): void {
    set.unsubscribe();
    if (set.waiters.length === 0) this.sets.delete(set.key);
    else if (this.channel) void set.subscribe(this.channel);
  }

  /** A consume failed or was cancelled by the broker: drop the consumers; the next receive starts them again. */
  consumeFailed(set: ConsumerSet): void {
    set.unsubscribe();
    setTimeout(() => {
      if (this.sets.get(set.key) === set && set.waiters.length > 0 && this.channel) void set.subscribe(this.channel);
    }, 100).unref();
  }
}

function keyOf(bases: readonly string[]): string {
  return bases.length === 1 ? bases[0] : [...bases].sort().join('\n');
}

import type { Logger } from '@nestjs/common';
import { LayerUnavailable, type LayerUnavailableReason } from '../errors';
import { FifoQueue } from '../fifo-queue';

/** The gate's limits (see `OutageBufferOptions` and `maxInFlight` of the Redis layer's options). */
export interface GateLimits {
  /** Most calls waiting in the buffer. */
  maxMessages: number;
  /** Most encoded payload bytes waiting in the buffer. */
  maxBytes: number;
  /** Longest wait in the buffer, in milliseconds. */
  maxAgeMs: number;
  /** Most calls handed to Redis and not answered yet before new ones wait in the buffer. */
  maxInFlight: number;
}

/** A call waiting in the outage buffer. */
interface Held {
  start: () => Promise<unknown>;
  /** Encoded payload bytes; 0 for a call that carries no message. */
  bytes: number;
  message: boolean;
  /** Local clock (ms): past it, the call is refused, never started. */
  deadline: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** One outage (or stall) of the host, for the one warning at its first loss and the one line at its end. */
interface Outage {
  since: number;
  held: number;
  rejected: number;
}

/** An outage shorter than this that lost nothing ends without a log line (a burst the host absorbed). */
const QUIET_OUTAGE_MS = 1000;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * The gate of one Redis host's command connection: every call of the layer on that connection
 * (sends and group sends first of all) passes it, in call order.
 *
 * While the connection is ready and fewer than `maxInFlight` calls are unanswered, a call goes
 * straight to ioredis (the fast path: a check and a counter). Otherwise (disconnected,
 * reconnecting, or stalled: Redis stopped answering and the unanswered calls reached the bound)
 * calls wait here, in a FIFO bounded by count, payload bytes and age, and start in order as soon
 * as the connection is ready again or answers resume. A call that would overflow the buffer fails
 * at once, one that waited longer than the age limit fails then; both with `LayerUnavailable`,
 * never started, so never delivered later. Every message refused is counted (`rejected`) and an
 * outage logs once at its first loss and once at its end, not per message.
 */
export class CommandGate {
  /** Messages refused with `LayerUnavailable` since the layer started: a statistic. */
  rejected = 0;
  private ready = false;
  /** What the host is doing while not ready, for the error messages. */
  private downState = 'not connected yet';
  private inFlight = 0;
  private readonly held = new FifoQueue<Held>();
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private outage: Outage | undefined;
  private closing = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly host: string,
    private readonly limits: GateLimits,
    private readonly logger: Logger,
  ) {}

  /** True when a call may go straight to Redis: the fast path of `track`. */
  passes(): boolean {
    return this.ready && this.inFlight < this.limits.maxInFlight && this.held.length === 0;
  }

  /** Counts a call just handed to Redis (after `passes()` said so) until it is answered. */
  track<T>(promise: Promise<T>, message: boolean): Promise<T> {
    this.inFlight++;
    promise.then(this.answered, message ? this.messageFailed : this.answered);
    return promise;
  }

  /** Runs `start` now, or once Redis answers again; `messageBytes` > 0 marks a call that carries a message. */
  submit<T>(start: () => Promise<T>, messageBytes = 0): Promise<T> {
    if (this.passes()) return this.track(start(), messageBytes > 0);
    return this.hold(start, messageBytes);
  }

  /** The connection is ready (and the layer's scripts are loaded): waiting calls start, in order. */
  connected(): void {
    this.ready = true;
    this.release();
  }

  /** The connection is down; `state` says how, for the error messages (e.g. `connection lost, reconnecting`). */
  disconnected(state: string): void {
    this.ready = false;
    this.downState = state;
    this.beginOutage();
    if (this.closing) this.refuseAll('closing');
  }

  /**
   * Before the connection closes: waits for the buffer to empty if Redis is answering (each call
   * still fails at its age limit), else refuses what waits at once.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.ready) this.refuseAll('closing');
    if (this.held.length === 0) return;
    await new Promise<void>((resolve) => (this.drained = resolve));
  }

  private hold<T>(start: () => Promise<T>, messageBytes: number): Promise<T> {
    this.beginOutage();
    const message = messageBytes > 0;
    if (
      this.closing ||
      this.held.length >= this.limits.maxMessages ||
      this.heldBytes + messageBytes > this.limits.maxBytes
    ) {
      return Promise.reject(this.refusal(this.closing ? 'closing' : 'buffer_full', message));
    }
    return new Promise<T>((resolve, reject) => {
      this.held.push({
        start,
        bytes: messageBytes,
        message,
        deadline: Date.now() + this.limits.maxAgeMs,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.heldBytes += messageBytes;
      this.outage!.held++;
      if (this.ready && this.inFlight < this.limits.maxInFlight) this.release();
      else this.armTimer();
    });
  }

  private readonly answered = (): void => {
    this.inFlight--;
    if (this.held.length > 0) this.release();
    else if (this.outage) this.endOutageIfClear();
  };

  /** A message handed to Redis and lost with its connection (`connection_lost`, from the shard) is a loss too. */
  private readonly messageFailed = (error: unknown): void => {
    this.answered();
    if (error instanceof LayerUnavailable) this.countLoss(error);
  };

  /** Starts waiting calls, oldest first, while the connection is ready and under `maxInFlight`. */
  private release(): void {
    const now = Date.now();
    while (this.ready && this.inFlight < this.limits.maxInFlight) {
      const item = this.held.shift();
      if (!item) break;
      this.heldBytes -= item.bytes;
      if (item.deadline <= now) {
        item.reject(this.refusal('too_old', item.message));
        continue;
      }
      let promise: Promise<unknown>;
      try {
        promise = item.start();
      } catch (error) {
        promise = Promise.reject(error as Error);
      }
      this.track(promise, item.message).then(item.resolve, item.reject);
    }
    this.afterChange();
  }

  private armTimer(): void {
    const head = this.held.peek();
    if (this.timer || !head) return;
    this.timer = setTimeout(this.expire, Math.max(1, head.deadline - Date.now()));
  }

  /** Refuses the calls that have waited past the age limit (the oldest are at the head). */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (let head = this.held.peek(); head && head.deadline <= now; head = this.held.peek()) {
      this.held.shift();
      this.heldBytes -= head.bytes;
      head.reject(this.refusal('too_old', head.message));
    }
    this.afterChange();
  };

  private refuseAll(reason: LayerUnavailableReason): void {
    for (let item = this.held.shift(); item; item = this.held.shift()) {
      this.heldBytes -= item.bytes;
      item.reject(this.refusal(reason, item.message));
    }
    this.afterChange();
  }

  /** After calls left the buffer: re-arms the age timer, or ends the outage when all is clear. */
  private afterChange(): void {
    if (this.held.length > 0) {
      this.armTimer();
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.drained) {
      this.drained();
      this.drained = undefined;
    }
    this.endOutageIfClear();
  }

  /** The error for a call refused here; a message refused is counted (and logged once per outage). */
  private refusal(reason: LayerUnavailableReason, message: boolean): LayerUnavailable {
    const what = message ? 'the message' : 'the call';
    const state = this.ready ? `${plural(this.inFlight, 'call')} unanswered` : this.downState;
    let text: string;
    switch (reason) {
      case 'buffer_full':
        text =
          `Redis ${this.host} is not answering (${state}) and the outage buffer is full ` +
          `(${plural(this.held.length, 'call')}, ${this.heldBytes} bytes; limits outageBuffer.maxMessages ` +
          `${this.limits.maxMessages}, maxBytes ${this.limits.maxBytes}): ${what} was not sent. Retry later, ` +
          `or raise the limits`;
        break;
      case 'too_old':
        text =
          `Redis ${this.host} did not take ${what} within outageBuffer.maxAge (${this.limits.maxAgeMs / 1000} s; ` +
          `${state}): it was not sent. Retry later, or raise maxAge`;
        break;
      default:
        text = `The layer closed while Redis ${this.host} was not answering (${state}): ${what} was not sent`;
    }
    const error = new LayerUnavailable(this.host, reason, text);
    if (message) this.countLoss(error);
    return error;
  }

  /** A refused call carried `n` more messages than the one counted (a batch of sends). */
  countMoreLosses(n: number): void {
    this.rejected += n;
    if (this.outage) this.outage.rejected += n;
  }

  private countLoss(error: LayerUnavailable): void {
    this.rejected++;
    this.beginOutage();
    const outage = this.outage!;
    if (outage.rejected++ === 0) {
      this.logger.warn(
        `${error.message}. Until Redis ${this.host} answers again, further losses are only counted ` +
          `(layer statistic layer_unavailable_count)`,
      );
    }
  }

  private beginOutage(): void {
    this.outage ??= { since: Date.now(), held: 0, rejected: 0 };
  }

  /** The outage ends when calls pass again: connected, nothing waiting, and answers coming back. */
  private endOutageIfClear(): void {
    const outage = this.outage;
    if (!outage || !this.ready || this.held.length > 0 || this.inFlight >= this.limits.maxInFlight) return;
    this.outage = undefined;
    const ms = Date.now() - outage.since;
    const seconds = (ms / 1000).toFixed(1);
    if (outage.rejected > 0) {
      this.logger.warn(
        `Redis ${this.host} answers again after ${seconds} s: ${plural(outage.rejected, 'message')} ` +
          `failed with LayerUnavailable meanwhile; ${plural(outage.held, 'call')} waited in the outage buffer`,
      );
    } else if (outage.held > 0 && ms >= QUIET_OUTAGE_MS) {
      this.logger.log(
        `Redis ${this.host} answers again after ${seconds} s: the ${plural(outage.held, 'call')} ` +
          `that waited meanwhile went out, none lost`,
      );
    }
  }
}

import { LayerUnavailable, type LayerUnavailableReason } from '../errors';
import { FifoQueue } from '../fifo-queue';
import type { OutageLimits } from './rabbitmq-options';

interface Held {
  bytes: number;
  deadline: number;
  resolve: () => void;
  reject: (error: LayerUnavailable) => void;
}

/**
 * Sends made while the broker is unreachable wait here, in order, bounded by count, bytes and
 * age; `open()` lets them all go (in FIFO order) when the connection is back. A send refused here
 * was never published, so it can never arrive later: the caller gets `LayerUnavailable` and knows.
 */
export class OutageBuffer {
  /** Messages refused with `LayerUnavailable` since the layer started: a statistic. */
  rejected = 0;
  private readonly held = new FifoQueue<Held>();
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: string,
    private readonly limits: OutageLimits,
  ) {}

  /** Resolves when the connection is back; rejects when the buffer is full or the wait is too long. */
  wait(bytes: number, state: string): Promise<void> {
    if (this.held.length >= this.limits.maxMessages || this.bytes + bytes > this.limits.maxBytes) {
      return Promise.reject(this.refusal('buffer_full', state));
    }
    return new Promise<void>((resolve, reject) => {
      this.held.push({ bytes, deadline: Date.now() + this.limits.maxAgeMs, resolve, reject });
      this.bytes += bytes;
      this.arm(state);
    });
  }

  /** The connection is up: everything waiting goes, oldest first (too-old ones fail). */
  open(): void {
    const now = Date.now();
    for (let item = this.held.shift(); item; item = this.held.shift()) {
      this.bytes -= item.bytes;
      if (item.deadline <= now) item.reject(this.refusal('too_old', 'reconnected too late'));
      else item.resolve();
    }
    this.disarm();
  }

  /** Fails everything waiting (the layer is closing). */
  refuseAll(reason: LayerUnavailableReason, state: string): void {
    for (let item = this.held.shift(); item; item = this.held.shift()) item.reject(this.refusal(reason, state));
    this.bytes = 0;
    this.disarm();
  }

  /** A message handed to the broker whose confirm never came (the connection dropped): a loss too. */
  lost(state: string): LayerUnavailable {
    return this.refusal('connection_lost', state);
  }

  private arm(state: string): void {
    const head = this.held.peek();
    if (this.timer || !head) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = Date.now();
        for (let first = this.held.peek(); first && first.deadline <= now; first = this.held.peek()) {
          this.held.shift();
          this.bytes -= first.bytes;
          first.reject(this.refusal('too_old', state));
        }
        this.arm(state);
      },
      Math.max(1, head.deadline - Date.now()),
    );
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refusal(reason: LayerUnavailableReason, state: string): LayerUnavailable {
    this.rejected++;
    const texts: Record<LayerUnavailableReason, string> = {
      buffer_full:
        `RabbitMQ ${this.host} is unreachable (${state}) and the outage buffer is full (limits ` +
        `outageBuffer.maxMessages ${this.limits.maxMessages}, maxBytes ${this.limits.maxBytes}): the message was not sent`,
      too_old:
        `RabbitMQ ${this.host} did not take the message within outageBuffer.maxAge ` +
        `(${this.limits.maxAgeMs / 1000} s; ${state}): it was not sent`,
      connection_lost: `The connection to RabbitMQ ${this.host} dropped before the broker confirmed the message: it may not have been delivered`,
      closing: `The layer closed while RabbitMQ ${this.host} was unreachable (${state}): the message was not sent`,
      unreachable: `RabbitMQ ${this.host} did not answer (${state})`,
    };
    return new LayerUnavailable(this.host, reason, texts[reason]);
  }
}

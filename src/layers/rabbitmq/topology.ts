import type { Options } from 'amqplib';

/**
 * Names and arguments of everything this layer declares on the broker, all under `prefix`:
 *
 * - `<prefix>.q.<base>`: one classic queue per channel (for `name!local`, per process prefix
 *   `name!`). Non-durable: channel messages are short-lived, and a broker restart is a state loss
 *   the interface handles (sockets closed with 1012) rather than hidden.
 * - `<prefix>.dlx` → `<prefix>.expired`: where the broker dead-letters expired messages, so their
 *   channels leave every group (the ASGI rule asgi_rabbitmq could only approximate).
 * - `<prefix>.groups`: the group-membership stream (see `GroupLog`).
 * - `<prefix>.anchor.<id>`: one empty queue per layer instance, to tell a reconnect to the same
 *   broker state from one to a restarted broker (see `AmqpLink`).
 */
export class Topology {
  readonly deadLetterExchange: string;
  readonly expiredQueue: string;
  readonly groupStream: string;
  /** An unused queue is deleted by the broker this long after its last use (asgi_rabbitmq never deleted any). */
  readonly queueExpiresMs: number;

  constructor(
    readonly prefix: string,
    private readonly expiryMs: number,
    private readonly groupExpiry: number,
  ) {
    this.deadLetterExchange = `${prefix}.dlx`;
    this.expiredQueue = `${prefix}.expired`;
    this.groupStream = `${prefix}.groups`;
    this.queueExpiresMs = expiryMs + 60_000;
  }

  queueOf(base: string): string {
    return `${this.prefix}.q.${base}`;
  }

  anchorOf(instance: string): string {
    return `${this.prefix}.anchor.${instance}`;
  }

  /**
   * A channel queue: the broker enforces the capacity (`x-max-length` + `reject-publish` nacks the
   * publish, so `ChannelFull` never drops an accepted message) and the expiry (a queue-wide TTL
   * removes expired messages from the head as they expire, so they stop counting against the
   * capacity at once; a per-message `expiration` would keep them counted until they reach the head).
   */
  channelQueue(capacity: number): Options.AssertQueue {
    return {
      durable: false,
      arguments: {
        'x-max-length': capacity,
        'x-overflow': 'reject-publish',
        'x-message-ttl': this.expiryMs,
        'x-dead-letter-exchange': this.deadLetterExchange,
        'x-expires': this.queueExpiresMs,
      },
    };
  }

  expiredQueueOptions(): Options.AssertQueue {
    return { durable: false, arguments: { 'x-expires': this.queueExpiresMs, 'x-message-ttl': 60_000 } };
  }

  /**
   * The membership stream keeps events for `groupExpiry` (whole segments are trimmed, so a reader
   * also ignores older adds itself); small segments let the trimming follow closely.
   */
  groupStreamOptions(): Options.AssertQueue {
    return {
      durable: true,
      arguments: {
        'x-queue-type': 'stream',
        'x-max-age': `${Math.max(1, Math.ceil(this.groupExpiry))}s`,
        'x-stream-max-segment-size-bytes': 4_000_000,
      },
    };
  }

  anchorOptions(): Options.AssertQueue {
    return { durable: false, arguments: { 'x-expires': Math.max(60_000, this.expiryMs) } };
  }
}

import type { ConfirmChannel, Message } from 'amqplib';

/** What the broker said about one publish. */
export type PublishOutcome =
  /** Queued. */
  | 'ok'
  /** Nacked: the queue is at `x-max-length` (`reject-publish`), so the message was refused whole. */
  | 'full'
  /** Returned unroutable (`mandatory`): the queue is gone (expired unused, or the broker lost it). */
  | 'noroute'
  /** The channel closed before the confirm: the message may or may not have been queued. */
  | 'lost';

/**
 * Publishes on one confirm channel, pipelined: every publish goes out at once and each settles
 * on its own ack/nack, so a burst costs one socket write per tick and no round trip per message
 * (asgi_rabbitmq declared the queue and waited for each send). `mandatory` makes a publish to a
 * vanished queue come back (`basic.return`, sent before its ack) instead of vanishing silently.
 */
export class ConfirmPublisher {
  private seq = 0;
  private readonly returned = new Set<string>();
  private closed = false;

  constructor(private readonly channel: ConfirmChannel) {
    channel.on('return', (message: Message) => {
      const id = message.properties.messageId as string | undefined;
      if (id !== undefined) this.returned.add(id);
    });
    channel.on('close', () => (this.closed = true));
    // A channel error also closes it; the connection's handler reports the outage.
    channel.on('error', () => (this.closed = true));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  publish(queue: string, channel: string, body: Buffer, timestamp: number): Promise<PublishOutcome> {
    if (this.closed) return Promise.resolve('lost');
    const id = (++this.seq).toString(36);
    return new Promise<PublishOutcome>((resolve) => {
      try {
        // `type` carries the full channel name (with a `!` channel's local part); `timestamp` is in
        // milliseconds, for messages_max_age and the expiry check of held deliveries.
        this.channel.publish('', queue, body, { mandatory: true, messageId: id, type: channel, timestamp }, (error) => {
          if (!error) resolve(this.returned.delete(id) ? 'noroute' : 'ok');
          else {
            this.returned.delete(id);
            resolve(this.closed || error.message !== 'message nacked' ? 'lost' : 'full');
          }
        });
      } catch {
        this.closed = true;
        resolve('lost');
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.channel.close().catch(() => undefined);
  }
}

import type { INestApplicationContext } from '@nestjs/common';
import type { ChannelLayer } from '../layers/channel-layer';
import type { ChannelMessage } from '../layers/channel-message';
import { randomLetters } from '../layers/names';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { Worker } from '../worker/worker';
import { getNextMessage, type GetNextMessageOptions } from './get-next-message';

export interface ConsumeOptions {
  /** Throw when the channel is empty. Default true. */
  failOnNone?: boolean;
}

/**
 * Plays a client of the app in tests: sends messages with its own reply channel, runs the matching
 * consumer right here (errors propagate, sends are flushed as in a worker), and reads replies.
 */
export class Client {
  /** The process channel replies come back on, e.g. `test.reply!AbCdEfGh`. */
  readonly replyChannel: string;
  private readonly layer: ChannelLayer;
  private readonly worker: Worker;

  constructor(
    app: INestApplicationContext,
    readonly alias = 'default',
  ) {
    const entry = app.get(ChannelLayerRegistry, { strict: false }).get(alias);
    this.layer = entry.layer;
    this.worker = new Worker(entry.layer, entry.router, {}, alias);
    this.replyChannel = `test.reply!${randomLetters(8)}`;
  }

  /** Sends `content` to `channel`, with this client's `reply_channel` unless the content has one. */
  async send(channel: string, content: ChannelMessage = {}): Promise<void> {
    await this.layer.send(channel, { reply_channel: this.replyChannel, ...content });
  }

  /** Takes the next message on `channel` and runs its consumer. Resolves false when there was none. */
  async consume(channel: string, options: ConsumeOptions = {}): Promise<boolean> {
    const [name, content] = await this.layer.receive([channel]);
    if (name === null) {
      if (options.failOnNone === false) return false;
      throw new Error(`Expected a message on channel "${channel}" to consume, but there was none`);
    }
    await this.worker.handle(name, content, { rethrow: true });
    return true;
  }

  async sendAndConsume(channel: string, content: ChannelMessage = {}, options?: ConsumeOptions): Promise<boolean> {
    await this.send(channel, content);
    return this.consume(channel, options);
  }

  /** The next message on this client's reply channel (its content), or null. */
  async receive(options: GetNextMessageOptions = {}): Promise<ChannelMessage | null> {
    const next = await getNextMessage(
      this.layer,
      this.replyChannel.slice(0, this.replyChannel.indexOf('!') + 1),
      options,
    );
    return next?.content ?? null;
  }

  /** The next message on any channel of this client's layer. */
  getNextMessage(channel: string, options?: GetNextMessageOptions) {
    return getNextMessage(this.layer, channel, options);
  }
}

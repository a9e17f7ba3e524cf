import { Logger } from '@nestjs/common';
import type { Message } from '../channels/message';
import { BurstLogger } from '../logging/burst-logger';
import { printable } from '../logging/printable';
import type { RouteKwargs } from '../routing/filters';
import type { WebsocketMultiplexer } from './websocket-multiplexer';
import { WebsocketConsumer } from './websocket-consumer';

/** Clients control how many bad frames they send: one warning per burst. */
const invalidFrames = new BurstLogger(new Logger('JsonWebsocketConsumer'), 'invalid frames answered with an error');

/**
 * A WebSocket consumer that speaks JSON (Channels' `JsonWebsocketConsumer`): `receive(content)`
 * gets each text frame decoded, `send(content)` and `groupSend(group, content)` encode. Override
 * the static `encodeJson`/`decodeJson` for other codecs. A frame that is not JSON text goes to
 * `invalidFrame` (a warning and an `{"error"}` frame by default), never crashing the worker.
 *
 * Behind a `WebsocketDemultiplexer`, `send` and `groupSend` go through `multiplexer`, so the
 * consumer never needs to know its stream's name.
 */
export class JsonWebsocketConsumer<In = unknown, Out = unknown> extends WebsocketConsumer<In, Out> {
  /** Set when this consumer serves one stream of a demultiplexed connection. */
  multiplexer: WebsocketMultiplexer | undefined;

  static encodeJson(content: unknown): string {
    return JSON.stringify(content);
  }

  static decodeJson(text: string): unknown {
    return JSON.parse(text);
  }

  override async rawReceive(message: Message, kwargs: RouteKwargs): Promise<void> {
    const text = message.content.text;
    if (typeof text !== 'string') return this.invalidFrame('a JSON consumer takes text frames only');
    let content: unknown;
    try {
      content = this.codec().decodeJson(text);
    } catch (error) {
      return this.invalidFrame(`malformed JSON: ${(error as Error).message}`);
    }
    await this.receive(content as In, kwargs);
  }

  /** Sends `content` as a JSON text frame (to its stream, when demultiplexed); `close` closes after it. */
  override async send(content: Out, close: boolean | number = false): Promise<void> {
    if (this.multiplexer) {
      await this.multiplexer.send(content);
      if (close !== false) await this.close(close);
      return;
    }
    await super.send({ text: this.codec().encodeJson(content), close } as Out);
  }

  override async groupSend(group: string, content: Out, close: boolean | number = false): Promise<void> {
    if (this.multiplexer) return this.multiplexer.groupSend(group, content, close);
    await super.groupSend(group, { text: this.codec().encodeJson(content), close } as Out);
  }

  /** Demultiplexed: the demultiplexer has accepted the connection already. */
  override async accept(): Promise<void> {
    if (!this.multiplexer) await super.accept();
  }

  /** A frame that is not JSON text: logs it and answers `{"error": reason}`. Override to close instead, say. */
  protected async invalidFrame(reason: string): Promise<void> {
    invalidFrames.event(`Invalid frame on ${printable(this.path || 'a WebSocket')}: ${printable(reason)}`);
    await this.replyChannelOf(this.message).send({ text: this.codec().encodeJson({ error: reason }) });
  }

  private codec(): typeof JsonWebsocketConsumer {
    return this.constructor as typeof JsonWebsocketConsumer;
  }
}

import type { Type } from '@nestjs/common';
import type { Message } from '../channels/message';
import type { RouteKwargs } from '../routing/filters';
import { JsonWebsocketConsumer } from './json-websocket-consumer';
import { WebsocketMultiplexer } from './websocket-multiplexer';

/** A consumer of one stream: a JsonWebsocketConsumer provider (transient, like every class consumer). */
export type StreamConsumerType = Type<JsonWebsocketConsumer<never, never>>;

/** A stream's consumer as the demultiplexer drives it. */
type StreamConsumer = JsonWebsocketConsumer<unknown, unknown>;

/**
 * Several JSON consumers on one WebSocket (Channels' `WebsocketDemultiplexer`): frames are
 * `{"stream": name, "payload": ...}`; each payload goes to the consumer `consumers[name]`, whose
 * `send` and `groupSend` wrap its replies in its stream. Connect and disconnect reach every stream's
 * consumer (each joins and leaves its own `connectionGroups`). A malformed frame or an unknown
 * stream is logged and answered with an `{"error"}` frame.
 */
export class WebsocketDemultiplexer extends JsonWebsocketConsumer<unknown, never> {
  /** Stream name → consumer class (list each in a module's providers). */
  static consumers: Readonly<Record<string, StreamConsumerType>> = {};

  /** Accepts, then runs every stream's connect (their accepts are not sent twice). */
  override async connect(message: Message, kwargs: RouteKwargs): Promise<void> {
    await this.accept();
    for (const stream of Object.keys(this.streams()))
      await (await this.streamConsumer(stream)).rawConnect(message, kwargs);
  }

  override async disconnect(message: Message, kwargs: RouteKwargs): Promise<void> {
    for (const stream of Object.keys(this.streams())) {
      await (await this.streamConsumer(stream)).rawDisconnect(message, kwargs);
    }
  }

  override async receive(content: unknown, kwargs: RouteKwargs): Promise<void> {
    if (typeof content !== 'object' || content === null || Array.isArray(content)) {
      return this.invalidFrame('a frame must be {"stream": ..., "payload": ...}');
    }
    const { stream, payload } = content as { stream?: unknown; payload?: unknown };
    if (typeof stream !== 'string' || payload === undefined) {
      return this.invalidFrame('a frame must be {"stream": ..., "payload": ...}');
    }
    if (!Object.prototype.hasOwnProperty.call(this.streams(), stream)) {
      return this.invalidFrame(`unknown stream "${stream.slice(0, 100)}"`);
    }
    await (await this.streamConsumer(stream)).receive(payload, kwargs);
  }

  /** Replies go through a stream: use `WebsocketMultiplexer.encode`, or send from the stream's consumer. */
  override async send(): Promise<void> {
    throw new TypeError(`${this.constructor.name} is a demultiplexer: send from a stream's consumer (its multiplexer)`);
  }

  override async groupSend(): Promise<void> {
    throw new TypeError(
      `${this.constructor.name} is a demultiplexer: group-send from a stream's consumer (its multiplexer)`,
    );
  }

  private streams(): Readonly<Record<string, StreamConsumerType>> {
    return (this.constructor as typeof WebsocketDemultiplexer).consumers;
  }

  /** A fresh consumer for `stream`, sharing this message (and its sessions and user). */
  private async streamConsumer(stream: string): Promise<StreamConsumer> {
    const consumer = (await this.createConsumer(this.streams()[stream])) as unknown as StreamConsumer;
    consumer.message = this.message;
    consumer.kwargs = this.kwargs;
    consumer.path = this.path;
    const encodeJson = (this.constructor as typeof WebsocketDemultiplexer).encodeJson;
    consumer.multiplexer = new WebsocketMultiplexer(stream, this.replyChannelOf(this.message), encodeJson);
    return consumer;
  }
}

import { Group } from '../channels/group';
import type { Channel } from '../channels/channel';
import type { ChannelMessage } from '../layers/channel-message';

/**
 * One stream of a demultiplexed connection, handed to its consumer: sends wrap the payload as
 * `{"stream", "payload"}`, so the consumer does not need to know its stream's name.
 */
export class WebsocketMultiplexer {
  constructor(
    readonly stream: string,
    readonly replyChannel: Channel,
    private readonly encodeJson: (content: unknown) => string = JSON.stringify,
  ) {}

  /** The text frame carrying `payload` on `stream`. */
  static encode(
    stream: string,
    payload: unknown,
    encodeJson: (content: unknown) => string = JSON.stringify,
  ): ChannelMessage {
    return { text: encodeJson({ stream, payload }) };
  }

  async send(payload: unknown): Promise<void> {
    await this.replyChannel.send(WebsocketMultiplexer.encode(this.stream, payload, this.encodeJson));
  }

  /** Sends `payload` on this stream to every connection in `group`. */
  async groupSend(group: string, payload: unknown, close: boolean | number = false): Promise<void> {
    const message = WebsocketMultiplexer.encode(this.stream, payload, this.encodeJson);
    if (close !== false) message.close = close;
    await new Group(group, this.replyChannel.layer).send(message);
  }
}

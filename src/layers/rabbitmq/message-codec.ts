import { Packr } from 'msgpackr';
import { MessageTooLarge } from '../errors';
import { validateMessage, type ChannelMessage } from '../channel-message';

/**
 * Message ⇄ AMQP body: MessagePack with distinct `bin` and `str` types (bytes stay bytes), the
 * same encoding as the Redis layer's plain payloads, so sizes and limits mean the same thing.
 */
export class MessageCodec {
  private readonly packr = new Packr({
    useRecords: false,
    moreTypes: false,
    mapsAsObjects: true,
    variableMapSize: true,
  });

  constructor(private readonly maxMessageSize: number) {}

  /** Validates and encodes; throws `TypeError` or `MessageTooLarge`. */
  encode(message: ChannelMessage): Buffer {
    validateMessage(message);
    const packed = this.packr.pack(message);
    if (packed.length > this.maxMessageSize) throw new MessageTooLarge(packed.length, this.maxMessageSize);
    return packed;
  }

  decode(body: Buffer): ChannelMessage {
    return this.packr.unpack(body) as ChannelMessage;
  }
}

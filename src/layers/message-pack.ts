import { Packr } from 'msgpackr';
import { validateMessage, type ChannelMessage } from './channel-message';
import { MessageTooLarge } from './errors';

/**
 * Message ⇄ bytes, for every layer that leaves the process: MessagePack with distinct `bin` and
 * `str` types, so bytes stay bytes (also for Python peers) and `maxMessageSize` counts the same
 * bytes on Redis, RabbitMQ and the IPC store.
 */
export class MessagePackCodec {
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

  decode(packed: Buffer): ChannelMessage {
    return this.packr.unpack(packed) as ChannelMessage;
  }
}

import { Packr } from 'msgpackr';
import type { ChannelMessage } from '../channel-message';
import { validateMessage } from '../channel-message';
import { MessageTooLarge } from '../errors';

/**
 * Message ⇄ bytes for the IPC layer: MessagePack with distinct `bin` and `str` types (bytes stay
 * bytes), the encoding the Redis layer uses, so `maxMessageSize` counts the same bytes.
 */
export class IpcCodec {
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

  decode(payload: Buffer): ChannelMessage {
    return this.packr.unpack(payload) as ChannelMessage;
  }
}

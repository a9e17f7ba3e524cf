import { Packr } from 'msgpackr';
import { MessageTooLarge } from '../errors';
import type { ChannelMessage } from '../channel-message';
import { validateMessage } from '../channel-message';
import { DecryptionFailed, MultiFernet } from './fernet';

// One leading byte says how the rest is encoded, so a layer without keys can tell an
// encrypted payload from a plain one instead of decoding ciphertext as MessagePack.
const PLAIN = 0x6d; // 'm'
const ENCRYPTED = 0x66; // 'f'

/**
 * Message ⇄ bytes for the Redis layer: MessagePack with distinct `bin` and `str` types (so bytes
 * stay bytes, also for Python peers), optionally Fernet-encrypted.
 */
export class PayloadCodec {
  private readonly packr = new Packr({
    useRecords: false,
    moreTypes: false,
    mapsAsObjects: true,
    variableMapSize: true,
  });
  private readonly fernet: MultiFernet | undefined;

  constructor(
    private readonly maxMessageSize: number,
    private readonly decryptTtl: number,
    encryptionKeys?: readonly string[],
  ) {
    this.fernet = encryptionKeys === undefined ? undefined : new MultiFernet(encryptionKeys);
  }

  /** Validates and encodes; throws `TypeError` or `MessageTooLarge`. */
  encode(message: ChannelMessage): Buffer {
    validateMessage(message);
    const packed = this.packr.pack(message);
    if (packed.length > this.maxMessageSize) throw new MessageTooLarge(packed.length, this.maxMessageSize);
    if (this.fernet) return Buffer.concat([Buffer.of(ENCRYPTED), this.fernet.encrypt(packed)]);
    return Buffer.concat([Buffer.of(PLAIN), packed]);
  }

  /** Strips the encoding tag and decrypts; the result is passed to `unpack`. Throws `DecryptionFailed`. */
  open(payload: Buffer): Buffer {
    if (payload[0] === PLAIN) return payload.subarray(1);
    if (payload[0] !== ENCRYPTED) throw new DecryptionFailed('unknown payload encoding');
    if (!this.fernet)
      throw new DecryptionFailed('the message is encrypted and this layer has no symmetricEncryptionKeys');
    return this.fernet.decrypt(payload.subarray(1), this.decryptTtl);
  }

  unpack(plain: Buffer): ChannelMessage {
    return this.packr.unpack(plain) as ChannelMessage;
  }
}

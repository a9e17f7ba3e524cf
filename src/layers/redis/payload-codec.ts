import type { ChannelMessage } from '../channel-message';
import { MessagePackCodec } from '../message-pack';
import { DecryptionFailed, MultiFernet } from './fernet';

// One leading byte says how the rest is encoded, so a layer without keys can tell an
// encrypted payload from a plain one instead of decoding ciphertext as MessagePack.
const PLAIN = 0x6d; // 'm'
const ENCRYPTED = 0x66; // 'f'

/**
 * Message ⇄ bytes for the Redis layer: MessagePack (MessagePackCodec), tagged plain or
 * Fernet-encrypted.
 */
export class PayloadCodec {
  private readonly messagePack: MessagePackCodec;
  private readonly fernet: MultiFernet | undefined;

  constructor(
    maxMessageSize: number,
    private readonly decryptTtl: number,
    encryptionKeys?: readonly string[],
  ) {
    this.messagePack = new MessagePackCodec(maxMessageSize);
    this.fernet = encryptionKeys === undefined ? undefined : new MultiFernet(encryptionKeys);
  }

  /** Validates and encodes; throws `TypeError` or `MessageTooLarge`. */
  encode(message: ChannelMessage): Buffer {
    const packed = this.messagePack.encode(message);
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
    return this.messagePack.decode(plain);
  }
}

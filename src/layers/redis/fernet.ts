import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const MAC = 32;
const MAX_CLOCK_SKEW = 60;

/** Raised when no configured key can authenticate and decrypt a payload. */
export class DecryptionFailed extends Error {
  constructor(reason: string) {
    super(`Cannot decrypt channel message: ${reason}`);
    this.name = 'DecryptionFailed';
  }
}

interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

/**
 * Fernet (AES-128-CBC + HMAC-SHA256) with several keys: the first encrypts, all decrypt, so
 * keys can be rotated. Each key string is hashed with SHA-256 into the 32-byte Fernet key, as
 * the original layer did. Tokens are kept as raw bytes rather than base64.
 */
export class MultiFernet {
  private readonly keys: FernetKey[];

  constructor(secrets: readonly string[]) {
    if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || !s)) {
      throw new TypeError('symmetricEncryptionKeys must be a non-empty array of non-empty strings');
    }
    this.keys = secrets.map((secret) => {
      const digest = createHash('sha256').update(secret, 'utf8').digest();
      return { signing: digest.subarray(0, 16), encryption: digest.subarray(16, 32) };
    });
  }

  encrypt(plain: Uint8Array): Buffer {
    const key = this.keys[0];
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
    const header = Buffer.allocUnsafe(HEADER);
    header[0] = VERSION;
    header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
    iv.copy(header, 9);
    const body = Buffer.concat([header, cipher.update(plain), cipher.final()]);
    const mac = createHmac('sha256', key.signing).update(body).digest();
    return Buffer.concat([body, mac]);
  }

  /** Decrypts a token no older than `ttlSeconds`; throws `DecryptionFailed` otherwise. */
  decrypt(token: Uint8Array, ttlSeconds: number): Buffer {
    const data = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    if (data.length < HEADER + 16 + MAC || data[0] !== VERSION) throw new DecryptionFailed('not a Fernet token');
    const body = data.subarray(0, data.length - MAC);
    const mac = data.subarray(data.length - MAC);
    for (const key of this.keys) {
      const expected = createHmac('sha256', key.signing).update(body).digest();
      if (!timingSafeEqual(expected, mac)) continue;
      const age = Date.now() / 1000 - Number(data.readBigUInt64BE(1));
      if (age > ttlSeconds) throw new DecryptionFailed(`token is ${Math.round(age)} s old`);
      if (age < -MAX_CLOCK_SKEW) throw new DecryptionFailed('token is from the future (clock skew?)');
      const decipher = createDecipheriv('aes-128-cbc', key.encryption, data.subarray(9, HEADER));
      return Buffer.concat([decipher.update(data.subarray(HEADER, data.length - MAC)), decipher.final()]);
    }
    throw new DecryptionFailed('no configured key matches');
  }
}

import { DecryptionFailed, MultiFernet } from '../../../src/layers/redis/fernet';

describe('MultiFernet', () => {
  const plain = Buffer.from('the message');

  it('decrypts what it encrypted, with a fresh IV each time', () => {
    const fernet = new MultiFernet(['secret']);
    const first = fernet.encrypt(plain);
    const second = fernet.encrypt(plain);
    expect(first.equals(second)).toBe(false);
    expect(fernet.decrypt(first, 60).equals(plain)).toBe(true);
  });

  it('refuses tampered tokens, foreign keys and old tokens', () => {
    const fernet = new MultiFernet(['secret']);
    const token = fernet.encrypt(plain);
    const tampered = Buffer.from(token);
    tampered[30] ^= 1;
    expect(() => fernet.decrypt(tampered, 60)).toThrow(DecryptionFailed);
    expect(() => new MultiFernet(['other']).decrypt(token, 60)).toThrow(DecryptionFailed);
    const old = Buffer.from(token);
    old.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000) - 120), 1);
    expect(() => fernet.decrypt(old, 60)).toThrow(DecryptionFailed);
    expect(() => fernet.decrypt(Buffer.from('short'), 60)).toThrow(DecryptionFailed);
  });
});

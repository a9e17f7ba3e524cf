import { Injectable, Module } from '@nestjs/common';
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type BinaryLike } from 'node:crypto';

/** What the sample knows of a user: `message.user` and `GET /me` are this. */
export interface SampleUser {
  username: string;
}

interface Credentials {
  salt: Buffer;
  hash: Buffer;
}

const KEY_LENGTH = 64;

function hashOf(password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** The demo accounts, hashed at start: only their scrypt hashes are kept. */
function demoAccounts(): Map<string, Credentials> {
  const accounts = new Map<string, Credentials>();
  for (const [username, password] of [
    ['alice', 'wonderland'],
    ['bob', 'builder'],
  ]) {
    const salt = randomBytes(16);
    accounts.set(username, { salt, hash: scryptSync(password, salt, KEY_LENGTH) });
  }
  return accounts;
}

/**
 * The sample's users: two demo accounts, `alice` / `wonderland` and `bob` / `builder`, with their
 * passwords kept as salted scrypt hashes and checked in constant time.
 */
@Injectable()
export class UsersStore {
  private readonly accounts = demoAccounts();
  /** Checked against for unknown names, so they take as long as a wrong password does. */
  private readonly decoy: Credentials = { salt: randomBytes(16), hash: randomBytes(KEY_LENGTH) };

  /** The user with this name, or null (the channel sessions' user resolver calls this). */
  find(username: unknown): SampleUser | null {
    return typeof username === 'string' && this.accounts.has(username) ? { username } : null;
  }

  /** The user when the password is theirs, else null. */
  async verify(username: unknown, password: unknown): Promise<SampleUser | null> {
    if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024) return null;
    const known = this.accounts.get(username);
    const { salt, hash } = known ?? this.decoy;
    const matches = timingSafeEqual(await hashOf(password, salt), hash);
    return known && matches ? { username } : null;
  }
}

/** Provides UsersStore once, to the app and to ChannelsModule's options factory. */
@Module({ providers: [UsersStore], exports: [UsersStore] })
export class UsersModule {}

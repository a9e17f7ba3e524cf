// Shared by the session tests: sessions in an express-session MemoryStore, signed like express-session does.
import { sign } from 'cookie-signature';
import { MemoryStore, type SessionData } from 'express-session';

export const SECRET = 'test secret';

/** express-session's cookie value for a session id: `s:<id>.<signature>`. */
export function signedId(id: string, secret = SECRET): string {
  return `s:${sign(id, secret)}`;
}

/** A Cookie header carrying the session cookie, URL-encoded as express-session writes it. */
export function cookieHeader(id: string, secret = SECRET, name = 'connect.sid'): [Buffer, Buffer] {
  return [Buffer.from('cookie'), Buffer.from(`theme=dark; ${name}=${encodeURIComponent(signedId(id, secret))}`)];
}

export function putSession(store: MemoryStore, id: string, data: Record<string, unknown>): Promise<void> {
  const session = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) }, ...data };
  return new Promise((resolve, reject) =>
    store.set(id, session as unknown as SessionData, (error) => (error ? reject(error) : resolve())),
  );
}

export function storedSessions(store: MemoryStore): Promise<Record<string, Record<string, unknown>>> {
  return new Promise((resolve, reject) =>
    store.all((error, all) =>
      error ? reject(error) : resolve((all ?? {}) as unknown as Record<string, Record<string, unknown>>),
    ),
  );
}

/** A Store whose writes are counted. */
export class CountingStore extends MemoryStore {
  sets = 0;
  destroys = 0;

  override set(id: string, session: SessionData, callback?: (error?: unknown) => void): void {
    this.sets++;
    super.set(id, session, callback);
  }

  override destroy(id: string, callback?: (error?: unknown) => void): void {
    this.destroys++;
    super.destroy(id, callback);
  }
}

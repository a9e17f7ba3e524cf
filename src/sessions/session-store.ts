import type { SessionData, Store } from 'express-session';

/** What a session holds: any JSON values, plus express-session's `cookie` (used by stores for expiry). */
export type StoredSession = Record<string, unknown> & { cookie?: unknown };

/** Promise-style access to an `express-session` Store (MemoryStore, connect-redis, RedisSessionStore…). */
export class SessionStoreAdapter {
  constructor(readonly store: Store) {}

  get(id: string): Promise<StoredSession | null> {
    return new Promise((resolve, reject) =>
      this.store.get(id, (error: unknown, data?: SessionData | null) =>
        error ? reject(toError(error)) : resolve((data as StoredSession | null | undefined) ?? null),
      ),
    );
  }

  set(id: string, data: StoredSession): Promise<void> {
    return new Promise((resolve, reject) =>
      this.store.set(id, data as unknown as SessionData, (error?: unknown) =>
        error ? reject(toError(error)) : resolve(),
      ),
    );
  }

  destroy(id: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.store.destroy(id, (error?: unknown) => (error ? reject(toError(error)) : resolve())),
    );
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** What a session holds: any JSON values, plus express-session's `cookie` (used by stores for expiry). */
export type StoredSession = Record<string, unknown> & { cookie?: unknown };

/**
 * The part of an express-session Store that nestjs-channels uses: its `get`, `set` and `destroy`
 * callbacks. Any express-session store fits (MemoryStore, connect-redis, `RedisSessionStore`…), and
 * so does a store of your own with these three methods; express-session itself is not needed.
 *
 * Sessions are plain objects: what the store was given by `set`, with a `cookie` whose `expires`
 * (a Date or an ISO string) tells the store when to drop it.
 */
export interface SessionStore {
  /** Passes the session stored under `sid`, or null/undefined when there is none. */
  get(sid: string, callback: (error: unknown, session?: object | null) => void): void;
  /** Stores (or replaces) the session under `sid`. */
  set(sid: string, session: object, callback?: (error?: unknown) => void): void;
  /** Deletes the session stored under `sid`. */
  destroy(sid: string, callback?: (error?: unknown) => void): void;
}

/** When a stored session expires (ms since the epoch), from its `cookie.expires`; undefined: no expiry. */
export function sessionExpiry(session: object): number | undefined {
  const cookie: unknown = (session as { cookie?: unknown }).cookie;
  if (typeof cookie !== 'object' || cookie === null) return undefined;
  const expires: unknown = (cookie as { expires?: unknown }).expires;
  if (!(expires instanceof Date) && typeof expires !== 'string' && typeof expires !== 'number') return undefined;
  const time = new Date(expires).getTime();
  return Number.isNaN(time) ? undefined : time;
}

/** Promise-style access to a {@link SessionStore}. */
export class SessionStoreAdapter {
  constructor(readonly store: SessionStore) {}

  get(id: string): Promise<StoredSession | null> {
    return new Promise((resolve, reject) =>
      this.store.get(id, (error: unknown, data?: object | null) =>
        error ? reject(toError(error)) : resolve((data as StoredSession | null | undefined) ?? null),
      ),
    );
  }

  set(id: string, data: StoredSession): Promise<void> {
    return new Promise((resolve, reject) =>
      this.store.set(id, data, (error?: unknown) => (error ? reject(toError(error)) : resolve())),
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

import type { SessionStoreAdapter, StoredSession } from './session-store';

/**
 * The one field a channel session is stored under, beside express-session's `cookie`. Channel and
 * HTTP sessions may share a store, so a channel session must never read as an HTTP session: loaded
 * by express-session through a cookie naming its key, it is an empty, anonymous session (no
 * `passport` at its top level), and `@HttpSession()` refuses it outright.
 */
export const CHANNEL_SESSION_FIELD = '__channelSession';

/** Does a stored session hold a channel session (and so must never be used as an HTTP session)? */
export function isStoredChannelSession(stored: StoredSession | null): boolean {
  return stored !== null && Object.prototype.hasOwnProperty.call(stored, CHANNEL_SESSION_FIELD);
}

/**
 * Per-connection state that any worker process can read: a session keyed by the hashed reply
 * channel, loaded before the consumer and saved after it when modified.
 */
export class ChannelSessionState {
  /** Set by `set`, `delete` and `flush`; only a modified session is saved. */
  modified = false;
  private data: Record<string, unknown> = {};
  private flushed = false;

  constructor(
    /** The store key (`chn` + hashed reply channel). */
    readonly key: string,
    private readonly store: SessionStoreAdapter,
    private readonly ttlMs: number,
  ) {}

  get<T = unknown>(name: string): T | undefined {
    return this.data[name] as T | undefined;
  }

  set(name: string, value: unknown): void {
    if (value === undefined) return this.delete(name);
    this.data[name] = value;
    this.flushed = false;
    this.modified = true;
  }

  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.data, name);
  }

  delete(name: string): void {
    if (!this.has(name)) return;
    delete this.data[name];
    this.modified = true;
  }

  /** A copy of everything in the session. */
  toJSON(): Record<string, unknown> {
    return structuredClone(this.data);
  }

  get isEmpty(): boolean {
    return Object.keys(this.data).length === 0;
  }

  /** Clears the session and deletes it from the store; it is not re-created unless set again. */
  flush(): void {
    this.data = {};
    this.flushed = true;
    this.modified = true;
  }

  /** (Re)reads the session from the store; unsaved changes are lost. */
  async load(): Promise<void> {
    const stored = await this.store.get(this.key);
    const data = stored?.[CHANNEL_SESSION_FIELD];
    // Anything else under this key (an older layout, an HTTP session) is not this connection's state.
    this.data = typeof data === 'object' && data !== null && !Array.isArray(data) ? { ...data } : {};
    this.modified = false;
    this.flushed = false;
  }

  /** Writes the session now (each save slides its expiry); a flushed session is deleted instead. */
  async save(): Promise<void> {
    if (this.flushed) {
      await this.store.destroy(this.key);
    } else {
      const expires = new Date(Date.now() + this.ttlMs);
      const stored: StoredSession = {
        [CHANNEL_SESSION_FIELD]: this.data,
        cookie: { originalMaxAge: this.ttlMs, expires, httpOnly: true, path: '/' },
      };
      await this.store.set(this.key, stored);
    }
    this.modified = false;
  }
}

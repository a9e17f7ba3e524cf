import { Store, type SessionData } from 'express-session';
import type Redis from 'ioredis';

export interface RedisSessionStoreOptions {
  /** An ioredis client (the store does not close it). */
  client: Redis;
  /** Key prefix. Default `sess:`. */
  prefix?: string;
  /** TTL in seconds for sessions whose cookie has no expiry. Default 86400. */
  ttl?: number;
}

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** Seconds until `cookie.expires`, or the default TTL. */
function ttlOf(session: SessionData, fallback: number): number {
  const expires = session.cookie?.expires;
  if (!expires) return fallback;
  const ms = new Date(expires).getTime() - Date.now();
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * An express-session store on ioredis (the role connect-redis plays), so HTTP sessions and channel
 * sessions can live on the Redis your channel layer already uses and every process sees them.
 */
export class RedisSessionStore extends Store {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly ttl: number;

  constructor(options: RedisSessionStoreOptions) {
    super();
    this.client = options.client;
    this.prefix = options.prefix ?? 'sess:';
    this.ttl = options.ttl ?? 86_400;
  }

  get(id: string, callback: Callback<SessionData | null>): void {
    this.client.get(this.prefix + id).then(
      (raw) => {
        let data: SessionData | null = null;
        try {
          data = raw === null ? null : (JSON.parse(raw) as SessionData);
        } catch (error) {
          return callback(error);
        }
        callback(undefined, data);
      },
      (error: unknown) => callback(error),
    );
  }

  set(id: string, session: SessionData, callback?: Callback): void {
    this.client.set(this.prefix + id, JSON.stringify(session), 'EX', ttlOf(session, this.ttl)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  override touch(id: string, session: SessionData, callback?: Callback): void {
    this.client.expire(this.prefix + id, ttlOf(session, this.ttl)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  destroy(id: string, callback?: Callback): void {
    this.client.del(this.prefix + id).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }
}

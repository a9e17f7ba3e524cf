import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { sessionExpiry, type SessionStore } from './session-store';

export interface RedisSessionStoreOptions {
  /** An ioredis client (the store does not close it). */
  client: Redis;
  /** Key prefix. Default `sess:`. */
  prefix?: string;
  /** TTL in seconds for sessions whose cookie has no expiry. Default 86400. */
  ttl?: number;
}

type Callback = (error?: unknown) => void;

/** Seconds until `cookie.expires`, or the default TTL. */
function ttlOf(session: object, fallback: number): number {
  const expires = sessionExpiry(session);
  if (expires === undefined) return fallback;
  return Math.max(1, Math.ceil((expires - Date.now()) / 1000));
}

/** The methods express-session's own `Store` base class gives every store. */
type InheritedStoreMethod = 'regenerate' | 'load' | 'createSession';

/**
 * Runs a method of express-session's `Store.prototype` on `store`. Only express-session's
 * middleware calls these, so express-session is there whenever they run; it is loaded on first use
 * and nestjs-channels does not need it otherwise.
 */
function callExpressSessionStore(method: InheritedStoreMethod, store: RedisSessionStore, args: unknown[]): unknown {
  let base: { prototype: object };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    base = (require('express-session') as { Store: { prototype: object } }).Store;
  } catch (error) {
    throw new Error(
      `RedisSessionStore.${method}() is express-session's: install express-session (npm install express-session) ` +
        `to use the store with its session() middleware (${(error as Error).message})`,
    );
  }
  const implementation: unknown = Reflect.get(base.prototype, method);
  if (typeof implementation !== 'function') {
    throw new TypeError(`express-session's Store has no ${method}(): use express-session 1.x`);
  }
  return Reflect.apply(implementation, store, args);
}

/**
 * An express-session store on ioredis (the role connect-redis plays), so HTTP sessions and channel
 * sessions can live on the Redis your channel layer already uses and every process sees them.
 *
 * Works as express-session's `session({ store })` and as `ChannelsModule`'s `sessions.store` or
 * `sessions.channelStore`; channel sessions alone (e.g. on Fastify) need no express-session.
 */
export class RedisSessionStore extends EventEmitter implements SessionStore {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly ttl: number;

  constructor(options: RedisSessionStoreOptions) {
    super();
    this.client = options.client;
    this.prefix = options.prefix ?? 'sess:';
    this.ttl = options.ttl ?? 86_400;
  }

  /**
   * Passes the session stored under `id` (null when there is none). `T` is the shape you stored
   * (express-session's `SessionData` for HTTP sessions); it is not checked.
   */
  get<T extends object = Record<string, unknown>>(
    id: string,
    callback: (error: unknown, session?: T | null) => void,
  ): void {
    this.client.get(this.prefix + id).then(
      (raw) => {
        let data: T | null = null;
        try {
          data = raw === null ? null : (JSON.parse(raw) as T);
        } catch (error) {
          return callback(error);
        }
        callback(undefined, data);
      },
      (error: unknown) => callback(error),
    );
  }

  set(id: string, session: object, callback?: Callback): void {
    this.client.set(this.prefix + id, JSON.stringify(session), 'EX', ttlOf(session, this.ttl)).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  touch(id: string, session: object, callback?: Callback): void {
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

  /** express-session's `Store.regenerate` (called by its middleware): a new session for the request. */
  regenerate(req: { sessionID: string }, callback: Callback): void {
    callExpressSessionStore('regenerate', this, [req, callback]);
  }

  /** express-session's `Store.load` (called by its middleware): the session as an express-session `Session`. */
  load<T extends object = object>(sid: string, callback: (error: unknown, session?: T) => void): void {
    callExpressSessionStore('load', this, [sid, callback]);
  }

  /**
   * express-session's `Store.createSession` (called by its middleware): stored data made an
   * express-session `Session` on `req`. `T` (here and in `load`) is that Session type
   * (express-session's `Session & SessionData`, which this package does not name, so it does not
   * need express-session's types): it keeps the store assignable to express-session's `Store`.
   */
  createSession<T extends object = object>(req: object, session: object): T {
    return callExpressSessionStore('createSession', this, [req, session]) as T;
  }
}

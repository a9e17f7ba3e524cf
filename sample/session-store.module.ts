import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { MemoryStore, type Store } from 'express-session';
import Redis from 'ioredis';
import { RedisSessionStore } from '../src';
import { sharedRedis } from './sample-layer';

/** The express-session Store of the app: the session middleware and ChannelsModule share this one instance. */
export const SESSION_STORE = 'sample:session-store';
/** The Redis client of the store (null on the in-memory layer). */
const SESSION_REDIS = 'sample:session-redis';

/** Closes the store's Redis client once the app has shut down (after the workers have stopped). */
@Injectable()
class SessionRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(SESSION_REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis || this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

/**
 * HTTP sessions (and the channel sessions, which ChannelsModule keeps in the same store): a
 * MemoryStore of this process by default; on every other layer, a RedisSessionStore on its
 * own client to `REDIS_URL` under `<CHANNELS_PREFIX>sess:`, so every web and worker process sees
 * the same sessions.
 */
@Module({
  providers: [
    {
      provide: SESSION_REDIS,
      useFactory: (): Redis | null => sharedRedis() ?? null,
    },
    {
      provide: SESSION_STORE,
      useFactory: (redis: Redis | null): Store =>
        redis
          ? new RedisSessionStore({ client: redis, prefix: `${process.env.CHANNELS_PREFIX ?? 'sample:'}sess:` })
          : new MemoryStore(),
      inject: [SESSION_REDIS],
    },
    SessionRedisCloser,
  ],
  exports: [SESSION_STORE],
})
export class SessionStoreModule {}

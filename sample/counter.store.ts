import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { sharedRedis } from './sample-layer';

/**
 * The live counter of `/multi/`, shared by everyone: in this process by default; in Redis on every
 * other layer (`REDIS_URL`, see sample-layer.ts; INCRBY on `<CHANNELS_PREFIX>counter`), so that
 * separate web and worker processes agree on the total.
 */
@Injectable()
export class CounterStore implements OnApplicationShutdown {
  private total = 0;
  private readonly redis = sharedRedis();
  private readonly key = `${process.env.CHANNELS_PREFIX ?? 'sample:'}counter`;

  async value(): Promise<number> {
    if (this.redis) return Number((await this.redis.get(this.key)) ?? 0);
    return this.total;
  }

  /** Adds `amount` and returns the new total (atomically, in Redis). */
  async add(amount: number): Promise<number> {
    if (this.redis) return this.redis.incrby(this.key, amount);
    this.total += amount;
    return this.total;
  }

  /** Closes the Redis client once the app has shut down (after the workers have stopped). */
  async onApplicationShutdown(): Promise<void> {
    if (!this.redis || this.redis.status === 'end') return;
    await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}

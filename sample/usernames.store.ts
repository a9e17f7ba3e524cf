import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';

/**
 * The username of each chat connection, by reply channel: in this process by default, in Redis
 * with `CHANNELS_LAYER=redis`, so any worker can name the sender of a frame. (Channel sessions will
 * do this for you; they come with the sessions feature.)
 */
@Injectable()
export class UsernamesStore implements OnModuleDestroy {
  private readonly memory = new Map<string, string>();
  private readonly redis =
    process.env.CHANNELS_LAYER === 'redis' ? new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
  private readonly prefix = `${process.env.CHANNELS_PREFIX ?? 'sample:'}username:`;

  async set(replyChannel: string, username: string): Promise<void> {
    if (this.redis) await this.redis.set(this.prefix + replyChannel, username, 'EX', 86_400);
    else this.memory.set(replyChannel, username);
  }

  async get(replyChannel: string): Promise<string | undefined> {
    if (this.redis) return (await this.redis.get(this.prefix + replyChannel)) ?? undefined;
    return this.memory.get(replyChannel);
  }

  async forget(replyChannel: string): Promise<void> {
    if (this.redis) await this.redis.del(this.prefix + replyChannel);
    else this.memory.delete(replyChannel);
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis?.quit();
  }
}

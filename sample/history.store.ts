import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';

export interface ChatLine {
  username: string;
  text: string;
}

const KEEP = 100;

/**
 * Chat history, the last 100 lines per room: in this process by default, in Redis with
 * `CHANNELS_LAYER=redis` (so every web and worker process sees the same history).
 */
@Injectable()
export class HistoryStore implements OnModuleDestroy {
  private readonly memory = new Map<string, ChatLine[]>();
  private readonly redis =
    process.env.CHANNELS_LAYER === 'redis' ? new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
  private readonly prefix = `${process.env.CHANNELS_PREFIX ?? 'sample:'}history:`;

  async add(room: string, line: ChatLine): Promise<void> {
    if (this.redis) {
      await this.redis
        .multi()
        .rpush(this.prefix + room, JSON.stringify(line))
        .ltrim(this.prefix + room, -KEEP, -1)
        .exec();
      return;
    }
    const lines = this.memory.get(room) ?? [];
    lines.push(line);
    this.memory.set(room, lines.slice(-KEEP));
  }

  async lines(room: string): Promise<ChatLine[]> {
    if (this.redis)
      return (await this.redis.lrange(this.prefix + room, 0, -1)).map((raw) => JSON.parse(raw) as ChatLine);
    return [...(this.memory.get(room) ?? [])];
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis?.quit();
  }
}

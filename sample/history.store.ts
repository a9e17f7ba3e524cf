import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { sharedRedis } from './sample-layer';

export interface ChatLine {
  username: string;
  text: string;
}

/** Lines kept per room. */
const KEEP = 100;
/** A room's history is forgotten this long after its last line (Redis key TTL), in seconds. */
export const HISTORY_TTL_SECONDS = 7 * 86_400;
/** Rooms kept in this process's memory: the least recently written go first. */
const MAX_MEMORY_ROOMS = 1000;

/**
 * Chat history, the last 100 lines per room for a week: in this process by default (at most 1000
 * rooms), in Redis on every other layer (`REDIS_URL`, see sample-layer.ts), so every web and worker
 * process sees the same history.
 */
@Injectable()
export class HistoryStore implements OnModuleDestroy {
  private readonly memory = new Map<string, ChatLine[]>();
  private readonly redis = sharedRedis();
  private readonly prefix = `${process.env.CHANNELS_PREFIX ?? 'sample:'}history:`;

  async add(room: string, line: ChatLine): Promise<void> {
    if (this.redis) {
      const key = this.prefix + room;
      await this.redis
        .multi()
        .rpush(key, JSON.stringify(line))
        .ltrim(key, -KEEP, -1)
        .expire(key, HISTORY_TTL_SECONDS)
        .exec();
      return;
    }
    const lines = this.memory.get(room) ?? [];
    lines.push(line);
    this.memory.delete(room); // re-inserted last: the Map's order is the rooms' last write
    this.memory.set(room, lines.slice(-KEEP));
    if (this.memory.size > MAX_MEMORY_ROOMS) this.memory.delete(this.memory.keys().next().value!);
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

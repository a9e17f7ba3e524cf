import { InMemoryChannelLayer, RedisChannelLayer, type GroupsChannelLayer } from '../src';

export const CHANNEL_LAYER = Symbol('CHANNEL_LAYER');

/** In-memory by default; `CHANNEL_LAYER=redis` (with optional `REDIS_URL`) uses Redis. */
export function createChannelLayer(env: NodeJS.ProcessEnv = process.env): GroupsChannelLayer {
  if (env.CHANNEL_LAYER === 'redis') {
    return new RedisChannelLayer({ hosts: [env.REDIS_URL ?? 'redis://127.0.0.1:6379'], prefix: 'sample:' });
  }
  return new InMemoryChannelLayer();
}

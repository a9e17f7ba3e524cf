import type { RedisOptions } from 'ioredis';
import type { ChannelLayerOptions } from '../layer-options';

/** Options of `RedisChannelLayer`. Times are in seconds. */
export interface RedisChannelLayerOptions extends ChannelLayerOptions {
  /**
   * One entry per Redis server (shard): a `redis://` / `rediss://` URL or ioredis options.
   * Default: one Redis at 127.0.0.1:6379. Changing the list remaps channels to hosts.
   */
  hosts?: ReadonlyArray<string | RedisOptions>;
  /** Prefix of every key this layer writes. Default `asgi:`. */
  prefix?: string;
  /** Secrets for Fernet encryption of payloads: the first encrypts, all decrypt. */
  symmetricEncryptionKeys?: readonly string[];
  /** ioredis options applied to every host (timeouts, TLS, password, retry strategy…). */
  redisOptions?: RedisOptions;
  /** Keep the message and ChannelFull counters of the statistics extension. Default true. */
  statistics?: boolean;
}

export const DEFAULT_PREFIX = 'asgi:';

/**
 * Defaults under the user's options: bounded retries so a send during an outage fails instead of
 * hanging. Auto-pipelining is off: a layer's commands rarely share a tick, and batching them costs
 * more than it saves then (turn it on for apps that send many messages at once).
 */
export const DEFAULT_REDIS_OPTIONS: RedisOptions = {
  host: '127.0.0.1',
  port: 6379,
  maxRetriesPerRequest: 2,
  retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  enableAutoPipelining: false,
};

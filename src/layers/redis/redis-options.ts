import type { RedisOptions } from 'ioredis';
import type { ChannelLayerOptions } from '../layer-options';
import type { GateLimits } from './command-gate';

/**
 * Where calls wait while a Redis host does not answer (disconnected, restarting, or stalled with
 * `maxInFlight` calls unanswered), so a short outage loses nothing. They go out in order when it
 * answers again; past a limit a call fails at once with `LayerUnavailable` (never sent later).
 * One buffer per host, per layer instance.
 */
export interface OutageBufferOptions {
  /**
   * Most calls waiting (each send or group send is one; a group add, receive… made meanwhile
   * counts too). 0 turns the buffer off: calls fail at once while the host is down. Default 10,000.
   */
  maxMessages?: number;
  /** Most bytes of encoded messages waiting. Default 64 MiB. */
  maxBytes?: number;
  /** Seconds a call may wait; an older one fails with `LayerUnavailable`, never sent. Default 10. */
  maxAge?: number;
}

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
  /**
   * ioredis options applied to every host (timeouts, TLS, password, retry strategy…). On the
   * connection that sends, `maxRetriesPerRequest` and `autoResendUnfulfilledCommands` are set by
   * the layer (`null` and `false`: `outageBuffer` bounds the wait, and no command runs twice);
   * they apply to the blocking-receive connections.
   */
  redisOptions?: RedisOptions;
  /** Keep the message and ChannelFull counters of the statistics extension. Default true. */
  statistics?: boolean;
  /** Limits of the per-host buffer where calls wait during an outage or a stall. */
  outageBuffer?: OutageBufferOptions;
  /**
   * Calls handed to one host and not answered yet beyond which new ones wait in the outage buffer
   * (a stalled Redis then holds no more than this in ioredis, unbounded by age). Default 1,000: a
   * healthy Redis answers that many in milliseconds.
   */
  maxInFlight?: number;
}

export const DEFAULT_PREFIX = 'asgi:';

export const DEFAULT_OUTAGE_MAX_MESSAGES = 10_000;
export const DEFAULT_OUTAGE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_OUTAGE_MAX_AGE = 10;
export const DEFAULT_MAX_IN_FLIGHT = 1000;

function integer(value: unknown, fallback: number, name: string, min: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < min) {
    throw new TypeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return resolved;
}

/** Validates `outageBuffer` and `maxInFlight` (a clear `TypeError` on a bad value). */
export function resolveGateLimits(options: RedisChannelLayerOptions): GateLimits {
  const buffer = options.outageBuffer ?? {};
  if (typeof buffer !== 'object' || buffer === null || Array.isArray(buffer)) {
    throw new TypeError(`outageBuffer must be an object { maxMessages, maxBytes, maxAge }, got ${String(buffer)}`);
  }
  const maxAge = buffer.maxAge ?? DEFAULT_OUTAGE_MAX_AGE;
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0) {
    throw new TypeError(
      `outageBuffer.maxAge must be a positive finite number of seconds, got ${String(buffer.maxAge)}`,
    );
  }
  return {
    maxMessages: integer(buffer.maxMessages, DEFAULT_OUTAGE_MAX_MESSAGES, 'outageBuffer.maxMessages', 0),
    maxBytes: integer(buffer.maxBytes, DEFAULT_OUTAGE_MAX_BYTES, 'outageBuffer.maxBytes', 1),
    maxAgeMs: maxAge * 1000,
    maxInFlight: integer(options.maxInFlight, DEFAULT_MAX_IN_FLIGHT, 'maxInFlight', 1),
  };
}

/**
 * Defaults under the user's options. Blocking receives use bounded retries, so a receive during an
 * outage ends instead of hanging (the connection that sends is set apart: see `RedisShard`).
 * Auto-pipelining is off: a layer's commands rarely share a tick, and batching them costs more
 * than it saves then (turn it on for apps that send many messages at once).
 */
export const DEFAULT_REDIS_OPTIONS: RedisOptions = {
  host: '127.0.0.1',
  port: 6379,
  maxRetriesPerRequest: 2,
  retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
  enableAutoPipelining: false,
};

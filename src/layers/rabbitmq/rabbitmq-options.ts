import type { ChannelLayerOptions } from '../layer-options';

/**
 * Where sends wait while the broker is unreachable (connecting, reconnecting after a restart), so a
 * short outage loses nothing. They go out in order once the connection is back; past a limit a
 * send fails at once with `LayerUnavailable` (never sent later). One buffer per layer instance.
 */
export interface RabbitmqOutageBufferOptions {
  /** Most sends waiting. 0 turns the buffer off: sends fail at once while the broker is down. Default 10,000. */
  maxMessages?: number;
  /** Most bytes of encoded messages waiting. Default 64 MiB. */
  maxBytes?: number;
  /** Seconds a send may wait; an older one fails with `LayerUnavailable`, never sent. Default 10. */
  maxAge?: number;
}

/** Options of `RabbitmqChannelLayer`. Times are in seconds. */
export interface RabbitmqChannelLayerOptions extends ChannelLayerOptions {
  /** AMQP 0-9-1 URL of the broker. Default `amqp://guest:guest@127.0.0.1:5672`. */
  url?: string;
  /**
   * Start of every queue, exchange and stream name this layer uses, so apps sharing a broker (or a
   * vhost) never see each other's channels or groups. Every process of one app must use the same
   * prefix and the same expiry/capacity options (they are queue arguments). Default `asgi`.
   */
  prefix?: string;
  /** Limits of the buffer where sends wait while the broker is unreachable. */
  outageBuffer?: RabbitmqOutageBufferOptions;
}

export interface OutageLimits {
  maxMessages: number;
  maxBytes: number;
  maxAgeMs: number;
}

export interface ResolvedRabbitmqOptions {
  url: string;
  prefix: string;
  limits: OutageLimits;
}

export const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_PREFIX = 'asgi';
/** Queue and exchange names are at most 255 bytes: a short prefix leaves room for a 99-character channel. */
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;

function integer(value: unknown, fallback: number, name: string, min: number): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < min) {
    throw new TypeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return resolved;
}

/** Validates the RabbitMQ-specific options: a clear `TypeError` names the bad one. */
export function resolveRabbitmqOptions(options: RabbitmqChannelLayerOptions): ResolvedRabbitmqOptions {
  const url = options.url ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url must be an AMQP URL (amqp://user:pass@host:5672/vhost), got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new TypeError(`url must be an amqp:// or amqps:// URL, got ${url}`);
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new TypeError(
      `prefix must be 1 to 100 characters of A-Z a-z 0-9 _ . : -, got ${typeof prefix === 'string' ? JSON.stringify(prefix) : String(prefix)}`,
    );
  }
  const buffer = options.outageBuffer ?? {};
  if (typeof buffer !== 'object' || buffer === null || Array.isArray(buffer)) {
    throw new TypeError(`outageBuffer must be an object { maxMessages, maxBytes, maxAge }, got ${String(buffer)}`);
  }
  const maxAge = buffer.maxAge ?? 10;
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0) {
    throw new TypeError(`outageBuffer.maxAge must be a positive finite number of seconds, got ${String(maxAge)}`);
  }
  return {
    url,
    prefix,
    limits: {
      maxMessages: integer(buffer.maxMessages, 10_000, 'outageBuffer.maxMessages', 0),
      maxBytes: integer(buffer.maxBytes, 64 * 1024 * 1024, 'outageBuffer.maxBytes', 1),
      maxAgeMs: maxAge * 1000,
    },
  };
}

/** The host part of the URL, without credentials: for error messages. */
export function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672)}`;
}

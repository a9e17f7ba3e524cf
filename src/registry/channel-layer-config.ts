import type { ChannelLayer } from '../layers/channel-layer';
import type { IpcChannelLayerOptions } from '../layers/ipc/ipc-channel-layer';
import type { InMemoryChannelLayerOptions } from '../layers/memory/in-memory-channel-layer';
import type { RabbitmqChannelLayerOptions } from '../layers/rabbitmq/rabbitmq-options';
import type { RedisChannelLayerOptions } from '../layers/redis/redis-options';
import type { RoutingEntry } from '../routing/route';

/** A layer class of your own: constructed with `options`. */
export type ChannelLayerClass = new (...args: never[]) => ChannelLayer;

export type ChannelLayerBackend = 'memory' | 'redis' | 'rabbitmq' | 'ipc' | ChannelLayer | ChannelLayerClass;

/** One layer of `ChannelsModule.forRoot({ layers })`. */
export interface ChannelLayerConfig {
  /**
   * `'memory'` (default), `'redis'`, `'rabbitmq'`, `'ipc'`, a layer instance, or a layer class
   * constructed with `options`.
   */
  backend?: ChannelLayerBackend;
  /** Options for the backend (InMemoryChannelLayerOptions, RedisChannelLayerOptions…, or your class's). */
  options?:
    | InMemoryChannelLayerOptions
    | RedisChannelLayerOptions
    | RabbitmqChannelLayerOptions
    | IpcChannelLayerOptions
    | Record<string, unknown>;
  /** Explicit routes, matched before the ones found on `@Consumer` decorators. */
  routing?: readonly RoutingEntry[];
  /**
   * Seconds to wait at bootstrap for the layer's server (Redis, RabbitMQ) to answer; if it does
   * not, the app fails to start with `LayerUnavailable` instead of starting and answering 503 until it does.
   * Default: do not wait (the app starts; sends wait in the outage buffer, then fail).
   */
  waitForReady?: number;
}

/** The app's layers by alias: the `layers` option of ChannelsModule. */
export type ChannelLayersConfig = Readonly<Record<string, ChannelLayerConfig>>;

/** The layers when none are configured: one in-memory layer, `default`. */
export const DEFAULT_CHANNEL_LAYERS: ChannelLayersConfig = { default: { backend: 'memory' } };

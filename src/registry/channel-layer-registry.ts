import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { globalLayerResolver, setGlobalLayerResolver, type LayerResolver } from '../channels/layer-resolver';
import type { ChannelLayer } from '../layers/channel-layer';
import { IpcChannelLayer, type IpcChannelLayerOptions } from '../layers/ipc/ipc-channel-layer';
import { InMemoryChannelLayer } from '../layers/memory/in-memory-channel-layer';
import { RabbitmqChannelLayer } from '../layers/rabbitmq/rabbitmq-channel-layer';
import { RedisChannelLayer } from '../layers/redis/redis-channel-layer';
import { Router } from '../routing/router';
import type { ChannelLayerConfig, ChannelLayersConfig } from './channel-layer-config';
import { CHANNELS_LAYERS_CONFIG } from './registry.constants';
import { UnknownChannelLayer } from './unknown-channel-layer.error';

/** A configured layer: its alias, the layer and the router of its consumers. */
export interface ChannelLayerEntry {
  readonly alias: string;
  readonly layer: ChannelLayer;
  readonly router: Router;
}

function createLayer(alias: string, config: ChannelLayerConfig): ChannelLayer {
  const backend = config.backend ?? 'memory';
  if (backend === 'memory') return new InMemoryChannelLayer(config.options);
  if (backend === 'redis') return new RedisChannelLayer(config.options);
  if (backend === 'rabbitmq') return new RabbitmqChannelLayer(config.options);
  if (backend === 'ipc') return new IpcChannelLayer(config.options as IpcChannelLayerOptions);
  if (typeof backend === 'function')
    return new (backend as unknown as new (options: unknown) => ChannelLayer)(config.options);
  if (typeof backend === 'object' && backend !== null && typeof backend.send === 'function') return backend;
  throw new TypeError(
    `Channel layer "${alias}": backend must be 'memory', 'redis', 'rabbitmq', 'ipc', a layer instance or a layer class, got ${String(backend)}`,
  );
}

/**
 * The app's layers by alias (the original's `channel_layers['default']`): `get(alias)` gives the
 * layer and its router. Owns the layers it created and closes them at shutdown.
 */
@Injectable()
export class ChannelLayerRegistry implements LayerResolver, OnModuleInit, OnApplicationShutdown {
  private readonly entries = new Map<string, ChannelLayerEntry>();
  /** Alias → seconds to wait for its layer at bootstrap (`waitForReady`). */
  private readonly waits = new Map<string, number>();
  private readonly owned = new Set<ChannelLayer>();
  private readonly logger = new Logger('ChannelsModule');

  constructor(@Inject(CHANNELS_LAYERS_CONFIG) layers: ChannelLayersConfig) {
    for (const [alias, config] of Object.entries(layers)) {
      const layer = createLayer(alias, config);
      // Layers it creates are its to close; instances given in the options belong to the caller.
      if (typeof config.backend !== 'object') this.owned.add(layer);
      this.entries.set(alias, { alias, layer, router: new Router(config.routing ?? []) });
      if (config.waitForReady !== undefined) {
        if (!(config.waitForReady > 0))
          throw new TypeError(`Channel layer "${alias}": waitForReady must be seconds > 0, got ${config.waitForReady}`);
        this.waits.set(alias, config.waitForReady);
      }
    }
    setGlobalLayerResolver(this);
  }

  /** Fail fast: a layer with `waitForReady` must answer before the app starts. */
  async onModuleInit(): Promise<void> {
    try {
      await this.waitForLayers();
    } catch (error) {
      // The app will not start, so it will not shut down either: close what would keep reconnecting.
      await this.onApplicationShutdown();
      throw error;
    }
  }

  private async waitForLayers(): Promise<void> {
    await Promise.all(
      [...this.waits].map(async ([alias, seconds]) => {
        const layer = this.layer(alias);
        if (!layer.waitUntilReady) {
          this.logger.warn(`Channel layer "${alias}" has no server to wait for (waitForReady ignored)`);
          return;
        }
        this.logger.log(`Waiting up to ${seconds} s for channel layer "${alias}"`);
        await layer.waitUntilReady(seconds * 1000);
      }),
    );
  }

  get aliases(): string[] {
    return [...this.entries.keys()];
  }

  get(alias = 'default'): ChannelLayerEntry {
    const entry = this.entries.get(alias);
    if (!entry) throw new UnknownChannelLayer(alias, this.aliases);
    return entry;
  }

  layer(alias = 'default'): ChannelLayer {
    return this.get(alias).layer;
  }

  router(alias = 'default'): Router {
    return this.get(alias).router;
  }

  /** Closes every layer at shutdown, given instances included (the testing kit's captive layers). */
  closeAllOnShutdown(): void {
    for (const { layer } of this.entries.values()) this.owned.add(layer);
  }

  /** Runs after the workers drained (they stop in onModuleDestroy): close what we opened. */
  async onApplicationShutdown(): Promise<void> {
    if (globalLayerResolver() === this) setGlobalLayerResolver(undefined);
    await Promise.all(
      [...this.owned].map((layer) =>
        layer.close().catch((error: Error) => this.logger.error(`Closing a channel layer failed: ${error.message}`)),
      ),
    );
  }
}

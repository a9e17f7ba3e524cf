import type { TestingModuleBuilder } from '@nestjs/testing';
import { InMemoryChannelLayer } from '../layers/memory/in-memory-channel-layer';
import type { ChannelLayersConfig } from '../registry/channel-layer-config';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { CHANNELS_LAYERS_CONFIG } from '../registry/registry.constants';
import { CHANNELS_WORKER_OPTIONS } from '../worker/worker.constants';
import type { WorkerModuleOptions } from '../worker/worker-options';
import { CHANNELS_MODULE_OPTIONS } from '../module/channels.constants';
import type { ChannelsModuleOptions } from '../module/channels-module-options';

export interface CaptiveLayersOptions {
  /** Keep the in-process worker running. Default false: tests consume explicitly with `Client`. */
  worker?: boolean;
}

/**
 * Swaps every channel layer of the app under test for a fresh in-memory layer (the routing stays
 * as configured) and, by default, turns the in-process worker off.
 *
 * ```ts
 * const moduleRef = await useCaptiveChannelLayers(Test.createTestingModule({ imports: [AppModule] })).compile();
 * ```
 */
export function useCaptiveChannelLayers(
  builder: TestingModuleBuilder,
  options: CaptiveLayersOptions = {},
): TestingModuleBuilder {
  return builder
    .overrideProvider(ChannelLayerRegistry)
    .useFactory({
      factory: (layers: ChannelLayersConfig) => {
        const captive = Object.fromEntries(
          Object.entries(layers).map(([alias, config]) => [
            alias,
            { routing: config.routing, backend: new InMemoryChannelLayer() },
          ]),
        );
        const registry = new ChannelLayerRegistry(captive);
        registry.closeAllOnShutdown();
        return registry;
      },
      inject: [CHANNELS_LAYERS_CONFIG],
    })
    .overrideProvider(CHANNELS_WORKER_OPTIONS)
    .useFactory({
      factory: (moduleOptions: ChannelsModuleOptions): WorkerModuleOptions => ({
        ...moduleOptions.worker,
        enabled: options.worker === true,
      }),
      inject: [CHANNELS_MODULE_OPTIONS],
    });
}

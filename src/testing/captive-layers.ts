import type { TestingModuleBuilder } from '@nestjs/testing';
import { ConsumerExplorer } from '../consumers/consumer-explorer';
import { InMemoryChannelLayer } from '../layers/memory/in-memory-channel-layer';
import { ChannelLayerRegistry } from '../module/channel-layer-registry';
import { CHANNELS_MODULE_OPTIONS } from '../module/channels.constants';
import type { ChannelsModuleOptions } from '../module/channels-module-options';
import { ChannelsWorkerService } from '../worker/channels-worker.service';

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
      factory: (moduleOptions: ChannelsModuleOptions) => {
        const layers = moduleOptions.layers ?? { default: {} };
        const captive = Object.fromEntries(
          Object.entries(layers).map(([alias, config]) => [
            alias,
            { routing: config.routing, backend: new InMemoryChannelLayer() },
          ]),
        );
        const registry = new ChannelLayerRegistry({ ...moduleOptions, layers: captive });
        registry.closeAllOnShutdown();
        return registry;
      },
      inject: [CHANNELS_MODULE_OPTIONS],
    })
    .overrideProvider(ChannelsWorkerService)
    .useFactory({
      factory: (moduleOptions: ChannelsModuleOptions, registry: ChannelLayerRegistry, explorer: ConsumerExplorer) =>
        new ChannelsWorkerService(
          { ...moduleOptions, worker: { ...moduleOptions.worker, enabled: options.worker === true } },
          registry,
          explorer,
        ),
      inject: [CHANNELS_MODULE_OPTIONS, ChannelLayerRegistry, ConsumerExplorer],
    });
}

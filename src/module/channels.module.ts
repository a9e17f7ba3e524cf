import {
  ConfigurableModuleBuilder,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestModule,
  type ConfigurableModuleAsyncOptions,
  type DynamicModule,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { WebsocketBridgeRouteMiddleware } from '../client/websocket-bridge-route.middleware';
import { ConsumerExplorer } from '../consumers/consumer-explorer';
import { ConsumerInvokerFactory } from '../consumers/consumer-invoker.factory';
import { ConsumersRegistrar } from '../consumers/consumers.registrar';
import { CHANNELS_FALLBACK_ROUTES } from '../consumers/fallback-route';
import { ChannelsInterfaceService } from '../interface/channels-interface.service';
import { HttpChannelsMiddleware } from '../interface/http-channels.middleware';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { channelLayerProviders } from '../registry/channel-layer-providers';
import { ChannelsService } from '../registry/channels.service';
import { CHANNELS_ALLOWED_HOSTS, CHANNELS_MATCH_ORIGIN_PORT } from '../security/security.constants';
import { ConsumerSessions } from '../sessions/consumer-sessions';
import { ChannelsWorkerService } from '../worker/channels-worker.service';
import { CHANNELS_MODULE_OPTIONS } from './channels.constants';
import type { ChannelsModuleOptions } from './channels-module-options';
import { optionSliceProviders } from './option-slice-providers';

const { ConfigurableModuleClass } = new ConfigurableModuleBuilder<ChannelsModuleOptions>({
  optionsInjectionToken: CHANNELS_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

interface GlobalExtra {
  /** Register the module globally (default true), so any module can inject its services. */
  isGlobal?: boolean;
}

export type ChannelsModuleRootOptions = ChannelsModuleOptions & GlobalExtra;

export type ChannelsModuleAsyncOptions = ConfigurableModuleAsyncOptions<ChannelsModuleOptions> &
  GlobalExtra & {
    /** Aliases to make injectable with `@InjectChannelLayer(alias)`. Default `['default']`. */
    aliases?: readonly string[];
  };

/** HTTP mode `'all'` adds the Nest controllers as a fallback route through the consumers' extension point. */
const fallbackRoutes: Provider = {
  provide: CHANNELS_FALLBACK_ROUTES,
  useFactory: (interfaces: ChannelsInterfaceService) => [interfaces],
  inject: [ChannelsInterfaceService],
};

/**
 * Channels for Nest: layers by alias, `@Consumer` discovery, routing, the in-process worker and
 * the interface server. Global by default (`isGlobal: false` to scope it). This module only
 * assembles: each feature lives in its own folder and reads its own slice of the options.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    ...optionSliceProviders,
    ChannelLayerRegistry,
    ChannelsService,
    ConsumerSessions,
    ConsumerInvokerFactory,
    ConsumerExplorer,
    fallbackRoutes,
    ConsumersRegistrar,
    ChannelsWorkerService,
    ChannelsInterfaceService,
  ],
  exports: [
    ChannelLayerRegistry,
    ChannelsService,
    ChannelsWorkerService,
    ChannelsInterfaceService,
    ConsumerSessions,
    CHANNELS_ALLOWED_HOSTS,
    CHANNELS_MATCH_ORIGIN_PORT,
  ],
})
export class ChannelsModule extends ConfigurableModuleClass implements NestModule {
  /** HTTP over channels sits before the controllers; it passes on every request no route takes. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(WebsocketBridgeRouteMiddleware, HttpChannelsMiddleware)
      // `{*path}`, not `*path`: in Nest 11's path matching `*path` needs a character after `/`, so
      // `GET /` would never reach an `http.request` consumer.
      .forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

  static forRoot(options: ChannelsModuleRootOptions = {}): DynamicModule {
    return withLayerProviders(super.forRoot(options), Object.keys(options.layers ?? { default: {} }));
  }

  static forRootAsync(options: ChannelsModuleAsyncOptions): DynamicModule {
    const { aliases = ['default'], ...rest } = options;
    return withLayerProviders(super.forRootAsync(rest), aliases);
  }
}

/** Adds and exports one provider per layer alias (`@InjectChannelLayer(alias)`). */
function withLayerProviders(module: DynamicModule, aliases: readonly string[]): DynamicModule {
  const providers = channelLayerProviders(aliases);
  return {
    ...module,
    providers: [...(module.providers ?? []), ...providers],
    exports: [...(module.exports ?? []), ...providers.map((p) => (p as { provide: string }).provide)],
  };
}

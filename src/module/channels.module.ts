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
import { ChannelsInterfaceService } from '../interface/channels-interface.service';
import { HttpChannelsMiddleware } from '../interface/http-channels.middleware';
import { CHANNELS_ALLOWED_HOSTS } from '../security/security.constants';
import { ConsumerSessions } from '../sessions/consumer-sessions';
import { CHANNELS_SESSIONS_OPTIONS } from '../sessions/sessions.constants';
import { ChannelsWorkerService } from '../worker/channels-worker.service';
import { ChannelsService } from './channels.service';
import { ChannelLayerRegistry } from './channel-layer-registry';
import { CHANNELS_MODULE_OPTIONS, getChannelLayerToken } from './channels.constants';
import type { ChannelsModuleOptions } from './channels-module-options';

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

function layerProviders(aliases: readonly string[]): Provider[] {
  return aliases.map((alias) => ({
    provide: getChannelLayerToken(alias),
    useFactory: (registry: ChannelLayerRegistry) => registry.layer(alias),
    inject: [ChannelLayerRegistry],
  }));
}

/**
 * Channels for Nest: layers by alias, `@Consumer` discovery, routing and the in-process worker.
 * Global by default (`isGlobal: false` to scope it).
 */
/** The `sessions` and `security.allowedHosts` options, each under its own token. */
const optionProviders: Provider[] = [
  {
    provide: CHANNELS_SESSIONS_OPTIONS,
    useFactory: (options: ChannelsModuleOptions) => options.sessions ?? {},
    inject: [CHANNELS_MODULE_OPTIONS],
  },
  {
    // null: not configured, so AllowedHostsOriginValidator uses its local-machine default.
    provide: CHANNELS_ALLOWED_HOSTS,
    useFactory: (options: ChannelsModuleOptions) => options.security?.allowedHosts ?? null,
    inject: [CHANNELS_MODULE_OPTIONS],
  },
];

@Module({
  imports: [DiscoveryModule],
  providers: [
    ...optionProviders,
    ChannelLayerRegistry,
    ChannelsService,
    ConsumerSessions,
    ConsumerInvokerFactory,
    ConsumerExplorer,
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
  ],
})
export class ChannelsModule extends ConfigurableModuleClass implements NestModule {
  /** HTTP over channels sits before the controllers; it passes on every request no route takes. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(WebsocketBridgeRouteMiddleware, HttpChannelsMiddleware)
      .forRoutes({ path: '*path', method: RequestMethod.ALL });
  }

  static forRoot(options: ChannelsModuleRootOptions = {}): DynamicModule {
    return withLayerProviders(super.forRoot(options), Object.keys(options.layers ?? { default: {} }));
  }

  static forRootAsync(options: ChannelsModuleAsyncOptions): DynamicModule {
    const { aliases = ['default'], ...rest } = options;
    return withLayerProviders(super.forRootAsync(rest), aliases);
  }
}

function withLayerProviders(module: DynamicModule, aliases: readonly string[]): DynamicModule {
  const providers = layerProviders(aliases);
  return {
    ...module,
    providers: [...(module.providers ?? []), ...providers],
    exports: [...(module.exports ?? []), ...providers.map((p) => (p as { provide: string }).provide)],
  };
}

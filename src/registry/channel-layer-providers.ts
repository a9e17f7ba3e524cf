import type { Provider } from '@nestjs/common';
import { ChannelLayerRegistry } from './channel-layer-registry';
import { getChannelLayerToken } from './registry.constants';

/** One provider per alias, so `@InjectChannelLayer(alias)` finds the layer. */
export function channelLayerProviders(aliases: readonly string[]): Provider[] {
  return aliases.map((alias) => ({
    provide: getChannelLayerToken(alias),
    useFactory: (registry: ChannelLayerRegistry) => registry.layer(alias),
    inject: [ChannelLayerRegistry],
  }));
}

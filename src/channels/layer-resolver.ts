import type { ChannelLayer } from '../layers/channel-layer';

/** Finds a layer by alias; the ChannelsModule registers one when the app starts. */
export interface LayerResolver {
  layer(alias: string): ChannelLayer;
}

let current: LayerResolver | undefined;

/**
 * `new Channel('name')` works anywhere (a controller, an ORM subscriber, a script) because the
 * running app's layers are registered here. With several apps in one process, the last one
 * started wins; inject `ChannelsService` to be explicit.
 */
export function setGlobalLayerResolver(resolver: LayerResolver | undefined): void {
  current = resolver;
}

export function globalLayerResolver(): LayerResolver | undefined {
  return current;
}

export class NoChannelLayer extends Error {
  constructor(alias: string) {
    super(
      `No channel layer "${alias}" is available: import ChannelsModule.forRoot() in your app ` +
        '(and start it) or pass a layer to Channel/Group',
    );
    this.name = 'NoChannelLayer';
  }
}

/** A layer given directly, or the one registered under an alias. */
export function resolveLayer(layerOrAlias: ChannelLayer | string): ChannelLayer {
  if (typeof layerOrAlias !== 'string') return layerOrAlias;
  const resolver = current;
  if (!resolver) throw new NoChannelLayer(layerOrAlias);
  return resolver.layer(layerOrAlias);
}

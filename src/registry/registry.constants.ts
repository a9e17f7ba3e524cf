import { channelsToken } from './injection-token';

/** Injection token of the `layers` option of ChannelsModule (a `ChannelLayersConfig`). */
export const CHANNELS_LAYERS_CONFIG = channelsToken('layers-config');

/** The injection token of the layer registered under `alias`. */
export function getChannelLayerToken(alias = 'default'): string {
  return channelsToken(`layer:${alias}`);
}

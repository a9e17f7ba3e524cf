export const CHANNELS_MODULE_OPTIONS = Symbol('CHANNELS_MODULE_OPTIONS');

/** The injection token of the layer registered under `alias`. */
export function getChannelLayerToken(alias = 'default'): string {
  return `nestjs-channels:layer:${alias}`;
}

import { Inject } from '@nestjs/common';
import { getChannelLayerToken } from './registry.constants';

/** Injects the channel layer registered under `alias` (default `default`). */
export function InjectChannelLayer(alias = 'default'): PropertyDecorator & ParameterDecorator {
  return Inject(getChannelLayerToken(alias));
}

import type { Provider } from '@nestjs/common';
import { CHANNELS_CLIENT_OPTIONS } from '../client/client.constants';
import { CHANNELS_INTERFACE_OPTIONS } from '../interface/interface.constants';
import { DEFAULT_CHANNEL_LAYERS } from '../registry/channel-layer-config';
import { CHANNELS_LAYERS_CONFIG } from '../registry/registry.constants';
import { CHANNELS_ALLOWED_HOSTS, CHANNELS_MATCH_ORIGIN_PORT } from '../security/security.constants';
import { CHANNELS_SESSIONS_OPTIONS } from '../sessions/sessions.constants';
import { CHANNELS_WORKER_OPTIONS } from '../worker/worker.constants';
import type { ChannelsModuleOptions } from './channels-module-options';
import { CHANNELS_MODULE_OPTIONS } from './channels.constants';

/** Each feature's slice of the module options, under the feature's own token. */
const slices: ReadonlyArray<readonly [token: string, slice: (options: ChannelsModuleOptions) => unknown]> = [
  [CHANNELS_LAYERS_CONFIG, (options) => options.layers ?? DEFAULT_CHANNEL_LAYERS],
  [CHANNELS_SESSIONS_OPTIONS, (options) => options.sessions ?? {}],
  // null: not configured, so AllowedHostsOriginValidator uses its local-machine default.
  [CHANNELS_ALLOWED_HOSTS, (options) => options.security?.allowedHosts ?? null],
  [CHANNELS_MATCH_ORIGIN_PORT, (options) => options.security?.matchOriginPort ?? false],
  [CHANNELS_WORKER_OPTIONS, (options) => options.worker ?? {}],
  [CHANNELS_INTERFACE_OPTIONS, (options) => options.interface ?? {}],
  [CHANNELS_CLIENT_OPTIONS, (options) => options.client ?? {}],
];

export const optionSliceProviders: Provider[] = slices.map(([provide, slice]) => ({
  provide,
  useFactory: slice,
  inject: [CHANNELS_MODULE_OPTIONS],
}));

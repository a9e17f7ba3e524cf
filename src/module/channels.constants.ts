import { channelsToken } from '../registry/injection-token';

/** Injection token of the whole `ChannelsModule.forRoot()` options; only `module/` reads it. */
export const CHANNELS_MODULE_OPTIONS = channelsToken('module-options');

import { channelsToken } from '../registry/injection-token';

/** Injection token of the `client` option of ChannelsModule (`ClientModuleOptions`, or false: not served). */
export const CHANNELS_CLIENT_OPTIONS = channelsToken('client-options');

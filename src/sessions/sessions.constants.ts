import { channelsToken } from '../registry/injection-token';

/** Injection token of the `sessions` options of ChannelsModule. */
export const CHANNELS_SESSIONS_OPTIONS = channelsToken('sessions-options');

/** Injection token of the `sessions` options of ChannelsModule. */
export const CHANNELS_SESSIONS_OPTIONS = 'nestjs-channels:sessions-options';

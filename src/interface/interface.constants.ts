import { channelsToken } from '../registry/injection-token';

/** Injection token of the `interface` options of ChannelsModule (`InterfaceModuleOptions`). */
export const CHANNELS_INTERFACE_OPTIONS = channelsToken('interface-options');

/**
 * Injection token of the interface settings this process's role forces over the app's own
 * (`runServer` and `nestjs-channels runserver` set it from their command-line options).
 */
export const INTERFACE_ROLE = channelsToken('interface-role');

import { channelsToken } from '../registry/injection-token';

/**
 * Injection token for the hosts `AllowedHostsOriginValidator` accepts (Django's `ALLOWED_HOSTS`):
 * a `readonly string[]` of patterns, or null for the local-machine default.
 */
export const CHANNELS_ALLOWED_HOSTS = channelsToken('allowed-hosts');

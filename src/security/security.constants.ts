import { channelsToken } from '../registry/injection-token';

/**
 * Injection token for the hosts `AllowedHostsOriginValidator` accepts (Django's `ALLOWED_HOSTS`):
 * a `readonly string[]` of patterns, or null for the local-machine default.
 */
export const CHANNELS_ALLOWED_HOSTS = channelsToken('allowed-hosts');

/**
 * Injection token for `security.matchOriginPort`: true makes `AllowedHostsOriginValidator` also
 * require the Origin's port to be the one the handshake came to (the Host header's).
 */
export const CHANNELS_MATCH_ORIGIN_PORT = channelsToken('match-origin-port');

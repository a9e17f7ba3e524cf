/**
 * Injection token for the hosts `AllowedHostsOriginValidator` accepts (Django's `ALLOWED_HOSTS`):
 * a `readonly string[]` of patterns. A string token, so that it survives duplicate copies of the package.
 */
export const CHANNELS_ALLOWED_HOSTS = 'nestjs-channels:allowed-hosts';

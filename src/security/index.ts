export { hostFromOrigin, isAllowedHost } from './allowed-hosts';
export { AllowedHostsOnly, AllowedHostsOriginValidator, DEFAULT_ALLOWED_HOSTS } from './allowed-hosts-origin-validator';
export { BaseOriginValidator, ValidateOrigin } from './base-origin-validator';
export { CHANNELS_ALLOWED_HOSTS, CHANNELS_MATCH_ORIGIN_PORT } from './security.constants';

import { Inject, Injectable, Optional, UseGuards } from '@nestjs/common';
import type { Message } from '../channels/message';
import { hostFromOrigin, isAllowedHost } from './allowed-hosts';
import { BaseOriginValidator } from './base-origin-validator';
import { CHANNELS_ALLOWED_HOSTS } from './security.constants';

/** What Django allows when DEBUG is on and ALLOWED_HOSTS is empty: the local machine only. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Lets a WebSocket handshake through only when its Origin's host is in the allowed hosts
 * (Channels' `AllowedHostsOnlyOriginValidator`), matched like Django's ALLOWED_HOSTS: see `isAllowedHost`.
 *
 * The patterns come from the `CHANNELS_ALLOWED_HOSTS` token, resolved in the module where the consumer
 * is declared. When nothing provides it, the local machine is allowed (`DEFAULT_ALLOWED_HOSTS`); an
 * empty list provided on purpose allows nothing, like ALLOWED_HOSTS in production.
 */
@Injectable()
export class AllowedHostsOriginValidator extends BaseOriginValidator {
  readonly allowedHosts: readonly string[];

  constructor(@Optional() @Inject(CHANNELS_ALLOWED_HOSTS) allowedHosts?: readonly string[] | null) {
    super();
    this.allowedHosts = allowedHosts ?? DEFAULT_ALLOWED_HOSTS;
  }

  validateOrigin(_message: Message, origin: string): boolean {
    const host = hostFromOrigin(origin);
    return host !== null && isAllowedHost(host, this.allowedHosts);
  }
}

/** `@allowed_hosts_only`: refuses WebSocket handshakes whose Origin is not an allowed host. */
export function AllowedHostsOnly(): MethodDecorator & ClassDecorator {
  return UseGuards(AllowedHostsOriginValidator);
}

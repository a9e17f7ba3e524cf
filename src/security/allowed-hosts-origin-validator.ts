import { Inject, Injectable, Logger, Optional, UseGuards } from '@nestjs/common';
import type { Message } from '../channels/message';
import { headerValues } from '../channels/message-headers';
import { printable } from '../logging/printable';
import { hostFromOrigin, isAllowedHost } from './allowed-hosts';
import { BaseOriginValidator } from './base-origin-validator';
import { CHANNELS_ALLOWED_HOSTS, CHANNELS_MATCH_ORIGIN_PORT } from './security.constants';

const DEFAULT_PORTS: Readonly<Record<string, number>> = { '80': 80, '443': 443 };

/** The port a Host header names, or the default of the Origin's port family (80 or 443) when it names none. */
function hostPort(host: string | undefined, originPort: number): number | null {
  if (host === undefined) return null;
  const port = /:(\d+)$/.exec(host.trim())?.[1];
  if (port !== undefined) return Number(port);
  return DEFAULT_PORTS[String(originPort)] ?? null;
}

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
  readonly matchOriginPort: boolean;
  private readonly logger = new Logger('AllowedHostsOnly');

  constructor(
    @Optional() @Inject(CHANNELS_ALLOWED_HOSTS) allowedHosts?: readonly string[] | null,
    @Optional() @Inject(CHANNELS_MATCH_ORIGIN_PORT) matchOriginPort?: boolean | null,
  ) {
    super();
    this.allowedHosts = allowedHosts ?? DEFAULT_ALLOWED_HOSTS;
    this.matchOriginPort = matchOriginPort ?? false;
  }

  validateOrigin(message: Message, origin: string): boolean {
    const host = hostFromOrigin(origin);
    if (host === null || !isAllowedHost(host, this.allowedHosts)) return false;
    if (!this.matchOriginPort) return true;
    const originPort = Number(host.slice(host.lastIndexOf(':') + 1));
    const port = hostPort(headerValues(message.content, 'host')[0], originPort);
    if (port === originPort) return true;
    // Debug: anyone can send this; the refusal itself is logged by the interface.
    this.logger.debug(
      `Origin ${printable(origin)} refused: its port is not the handshake's (Host ${port === null ? 'missing' : port})`,
    );
    return false;
  }
}

/** `@allowed_hosts_only`: refuses WebSocket handshakes whose Origin is not an allowed host. */
export function AllowedHostsOnly(): MethodDecorator & ClassDecorator {
  return UseGuards(AllowedHostsOriginValidator);
}

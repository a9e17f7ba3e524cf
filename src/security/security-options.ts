/** `ChannelsModule.forRoot({ security })`: origin checks. */
export interface SecurityModuleOptions {
  /**
   * Hosts `@AllowedHostsOnly()` lets WebSockets come from, with Django's ALLOWED_HOSTS rules:
   * `example.com`, `.example.com` (and its subdomains), `*`, `host:port` for one port only.
   * Default `['localhost', '127.0.0.1', '[::1]']`.
   */
  allowedHosts?: readonly string[];
}

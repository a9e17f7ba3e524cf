/** `ChannelsModule.forRoot({ security })`: origin checks. */
export interface SecurityModuleOptions {
  /**
   * Hosts `@AllowedHostsOnly()` lets WebSockets come from, with Django's ALLOWED_HOSTS rules:
   * `example.com`, `.example.com` (and its subdomains), `*`, `host:port` for one port only.
   * Default `['localhost', '127.0.0.1', '[::1]']`.
   */
  allowedHosts?: readonly string[];
  /**
   * Also require the Origin's port to equal the port the handshake came to (the Host header's
   * port, or the Origin scheme's default when Host has none), so a page served on another port of
   * an allowed host (another app on `localhost:8080`) cannot open your sockets. Default false, as
   * Django: a proxy that rewrites Host to the upstream's `host:port` would refuse every browser.
   * Turn it on when Host reaches the app as the browser sent it.
   */
  matchOriginPort?: boolean;
}

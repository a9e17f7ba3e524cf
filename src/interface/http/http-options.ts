/** Options of HTTP over channels (`interface.http` of ChannelsModule). Times are in seconds. */
export interface HttpInterfaceOptions {
  /** Alias of the layer requests go over. Default `default`. */
  layer?: string;
  /**
   * `routes` (default): requests an `http.request` route takes go over channels, the rest to the
   * controllers here. `all`: every request goes over channels, and workers run the Nest controllers
   * from the message, so interface and worker processes can be separate.
   */
  mode?: 'routes' | 'all';
  /** Seconds to wait for the start of a response before answering 503. Default 60. */
  timeout?: number;
  /** Largest request body accepted, in bytes (413 beyond). Default 10 MiB. */
  maxBodySize?: number;
  /** Client address from X-Forwarded-For / -Port, scheme from X-Forwarded-Proto. Default false. */
  proxyHeaders?: boolean;
}

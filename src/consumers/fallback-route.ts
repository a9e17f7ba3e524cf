import type { ConsumerFunction } from '../routing/consumer-ref';
import { channelsToken } from '../registry/injection-token';

/**
 * A route a feature built on the consumers adds after every route of the app, so it only takes
 * what nothing else does (HTTP mode `'all'`: the Nest controllers take the leftover requests).
 */
export interface FallbackRoute {
  /** The layer whose router gets the route. */
  readonly alias: string;
  readonly channel: string;
  /** Where the route comes from, for logs and errors. */
  readonly origin: string;
  readonly consume: ConsumerFunction;
}

/** Something that may add fallback routes; asked once, when the consumers are discovered. */
export interface FallbackRouteSource {
  fallbackRoutes(): readonly FallbackRoute[];
}

/**
 * Injection token of the `FallbackRouteSource`s (a list): the extension point that lets features
 * above the consumers add routes without the consumer core importing them.
 */
export const CHANNELS_FALLBACK_ROUTES = channelsToken('fallback-routes');

import {
  compileFilters,
  filterValue,
  filtersKey,
  runFilter,
  RouteConfigurationError,
  type CompiledFilter,
  type RouteFilters,
  type RouteKwargs,
} from './filters';
import { describeConsumer, isClassConsumer, type ClassConsumerType, type ConsumerRef } from './consumer-ref';
import { assertReceiveChannelName } from '../layers/names';
import { Logger } from '@nestjs/common';
import { closest, isReservedChannel, WELL_KNOWN_CHANNELS } from './well-known-channels';

const logger = new Logger('Routing');

/** What a content looks like to a route: include may have stripped prefixes from some keys. */
export type MatchContent = Readonly<Record<string, unknown>>;

export interface RouteMatch {
  route: Route;
  kwargs: RouteKwargs;
}

/** Anything a router holds: a route, a class route or an include. */
export interface RoutingEntry {
  channelNames(): string[];
  match(channel: string, content: MatchContent): RouteMatch | null;
  /** Every route inside, for bootstrap checks and binding. */
  routes(): Route[];
}

/** Sends messages on some channels whose content passes the filters to one consumer. */
export class Route implements RoutingEntry {
  readonly channels: readonly string[];
  readonly filters: readonly CompiledFilter[];

  constructor(
    channels: string | readonly string[],
    readonly consumer: ConsumerRef,
    filters: RouteFilters = {},
    /** Where the route was declared, for error messages. */
    readonly origin = describeConsumer(consumer),
  ) {
    this.channels = typeof channels === 'string' ? [channels] : [...channels];
    if (this.channels.length === 0 || this.channels.some((c) => typeof c !== 'string' || !c)) {
      throw new RouteConfigurationError(`${origin}: a route needs one or more channel names`);
    }
    for (const channel of this.channels) checkChannel(channel, origin);
    this.filters = compileFilters(filters, origin);
    checkFilterKeys(this.channels, Object.keys(filters), origin);
  }

  channelNames(): string[] {
    return [...this.channels];
  }

  routes(): Route[] {
    return [this];
  }

  match(channel: string, content: MatchContent): RouteMatch | null {
    if (!this.channels.includes(channel)) return null;
    let kwargs: RouteKwargs | undefined;
    for (const filter of this.filters) {
      const value = filterValue(content, filter.key);
      if (value === undefined) return null;
      const result = runFilter(filter, value);
      if (!result) return null;
      kwargs = kwargs ? Object.assign(kwargs, result.kwargs) : result.kwargs;
    }
    return { route: this, kwargs: kwargs ?? {} };
  }

  /** `channel?key=/re/&…` for each channel: two routes with the same claim shadow each other. */
  claims(): string[] {
    const filters = filtersKey(this.filters);
    return this.channels.map((channel) => `${channel}${filters ? `?${filters}` : ''}`);
  }

  describe(): string {
    return this.origin;
  }
}

/**
 * A route's channel must be one a worker can receive on; in the namespaces the interface servers
 * own (`websocket.`, `http.`), one they actually send on: a typo there would wait forever.
 */
function checkChannel(channel: string, origin: string): void {
  try {
    assertReceiveChannelName(channel);
  } catch (error) {
    throw new RouteConfigurationError(`${origin}: ${(error as Error).message}`);
  }
  if (isReservedChannel(channel) && !(channel in WELL_KNOWN_CHANNELS)) {
    const suggestion = closest(channel, Object.keys(WELL_KNOWN_CHANNELS));
    throw new RouteConfigurationError(
      `${origin} listens on "${channel}", which no interface server sends on` +
        (suggestion ? `: did you mean "${suggestion}"?` : '') +
        ` (the interface channels are ${Object.keys(WELL_KNOWN_CHANNELS).join(', ')})`,
    );
  }
}

/**
 * On the interface channels, a filter key one or two letters from a key their messages carry
 * (`pth`) is a typo, and the route would never match: an error. Any other unknown key may be
 * on purpose (a test's own content): a warning.
 */
function checkFilterKeys(channels: readonly string[], keys: readonly string[], origin: string): void {
  if (!channels.every((channel) => channel in WELL_KNOWN_CHANNELS)) return;
  const known = [...new Set(channels.flatMap((channel) => WELL_KNOWN_CHANNELS[channel]))];
  for (const key of keys) {
    if (known.includes(key)) continue;
    const what = `${origin}: filter "${key}" names no key of ${channels.join(' / ')} messages`;
    const typo = closest(key, known, 2);
    if (typo) throw new RouteConfigurationError(`${what}: did you mean "${typo}"? (they carry ${known.join(', ')})`);
    logger.warn(`${what} (they carry ${known.join(', ')}), so it matches only messages your code sends with it`);
  }
}

/** Keeps the parts of matching that include needs: strip prefixes, merge kwargs. */
export class Include implements RoutingEntry {
  private readonly prefixes: readonly CompiledFilter[];

  constructor(
    readonly entries: readonly RoutingEntry[],
    prefixes: RouteFilters = {},
  ) {
    this.prefixes = compileFilters(prefixes, 'include()');
  }

  channelNames(): string[] {
    return [...new Set(this.entries.flatMap((entry) => entry.channelNames()))];
  }

  /** Canonical text of the prefixes, so routes under different prefixes are not taken as duplicates. */
  prefixKey(): string {
    return filtersKey(this.prefixes);
  }

  routes(): Route[] {
    return this.entries.flatMap((entry) => entry.routes());
  }

  match(channel: string, content: MatchContent): RouteMatch | null {
    let stripped: Record<string, unknown> | undefined;
    let outer: RouteKwargs = {};
    for (const prefix of this.prefixes) {
      const value = filterValue(stripped ?? content, prefix.key);
      if (value === undefined) return null;
      const result = runFilter(prefix, value);
      if (!result) return null;
      outer = { ...outer, ...result.kwargs };
      // Inner routes see the value with the matched prefix removed; the consumer gets the original.
      stripped ??= { ...content };
      stripped[prefix.key] = value.slice(result.end);
    }
    for (const entry of this.entries) {
      const match = entry.match(channel, stripped ?? content);
      if (match) return { route: match.route, kwargs: { ...outer, ...match.kwargs } };
    }
    return null;
  }
}

/** `route('websocket.receive', consumer, { path: /^\/chat\/(?<room>\w+)\/$/ })` */
export function route(channels: string | readonly string[], consumer: ConsumerRef, filters?: RouteFilters): Route {
  return new Route(channels, consumer, filters);
}

/** Routes a class-based consumer on the channels its `channelNames()` gives. */
export function routeClass(consumer: ClassConsumerType, filters?: RouteFilters): Route {
  if (!isClassConsumer(consumer)) {
    throw new RouteConfigurationError(
      `routeClass() needs a class with a static channelNames() method, got ${String((consumer as { name?: string })?.name ?? consumer)}`,
    );
  }
  return new Route(consumer.channelNames(), consumer, filters, consumer.name);
}

/** Nests routes under prefixes: `include(chatRoutes, { path: /^\/chat/ })`. */
export function include(entries: readonly RoutingEntry[], prefixes?: RouteFilters): Include {
  return new Include(entries, prefixes);
}

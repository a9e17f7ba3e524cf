import type { Message } from '../channels/message';
import type { ConsumerInvoker } from './consumer-ref';
import { RouteConfigurationError } from './filters';
import { Include, type MatchContent, type Route, type RouteMatch, type RoutingEntry } from './route';

/**
 * An ordered list of routes for one layer: the first match wins. Explicit routes come first,
 * then the ones found on `@Consumer` decorators.
 */
export class Router {
  private readonly root: Include;
  private names: string[] | undefined;
  /** Consumers bound at bootstrap; kept here, not on the routes, which apps may share. */
  private readonly invokers = new Map<Route, ConsumerInvoker>();

  constructor(entries: readonly RoutingEntry[] = []) {
    this.root = new Include([...entries]);
  }

  /** Every channel a worker must listen on for these routes. */
  get channels(): string[] {
    this.names ??= this.root.channelNames().sort();
    return [...this.names];
  }

  get routes(): Route[] {
    return this.root.routes();
  }

  add(entry: RoutingEntry): void {
    (this.root.entries as RoutingEntry[]).push(entry);
    this.names = undefined;
  }

  bind(route: Route, invoker: ConsumerInvoker): void {
    this.invokers.set(route, invoker);
  }

  invokerOf(route: Route): ConsumerInvoker | undefined {
    return this.invokers.get(route);
  }

  match(message: Message): RouteMatch | null {
    return this.matchContent(message.channel.name, message.content);
  }

  matchContent(channel: string, content: MatchContent): RouteMatch | null {
    return this.root.match(channel, content);
  }

  /** Refuses two routes that claim exactly the same channel and filters (the second could never run). */
  assertNoDuplicates(): void {
    const seen = new Map<string, Route>();
    const walk = (entries: readonly RoutingEntry[], context: string): void => {
      for (const entry of entries) {
        if (entry instanceof Include) {
          walk(entry.entries, `${context}${entry.prefixKey()}>`);
          continue;
        }
        for (const route of entry.routes()) {
          for (const claim of route.claims()) {
            const key = context + claim;
            const first = seen.get(key);
            if (first && first !== route) {
              throw new RouteConfigurationError(
                `${route.describe()} and ${first.describe()} both consume ${claim}; the second would never run`,
              );
            }
            seen.set(key, route);
          }
        }
      }
    };
    walk(this.root.entries, '');
  }
}

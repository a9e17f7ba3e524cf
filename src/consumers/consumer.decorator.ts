import { Injectable, Scope } from '@nestjs/common';
import type { RouteFilters } from '../routing/filters';

export const CONSUMER_METHOD_METADATA = 'nestjs-channels:consumer-method';
export const CONSUMER_CLASS_METADATA = 'nestjs-channels:consumer-class';

/**
 * Every class that carries `@Consumer` (on itself or a method), as it is decorated: at bootstrap the
 * explorer names those missing from the app's providers, whose consumers would never run.
 */
export const DECORATED_CONSUMER_CLASSES = new Set<abstract new (...args: never[]) => unknown>();

export interface ConsumerOptions {
  /** Alias of the channel layer whose worker runs this consumer. Default `default`. */
  layer?: string;
}

export interface MethodConsumerMetadata {
  channels: readonly string[];
  filters: RouteFilters;
  layer: string;
}

export interface ClassConsumerMetadata {
  filters: RouteFilters;
  layer: string;
}

/**
 * On a provider method: `@Consumer('websocket.receive', { path: /^\/chat\/(?<room>\w+)\/$/ })`.
 * The method gets `(message, kwargs)`, or what its parameter decorators ask for. A method may
 * carry several `@Consumer`s.
 *
 * On a class-based consumer (a class with a static `channelNames()` and a `dispatch` method):
 * `@Consumer({ path: /^\/chat\// })`. The class becomes a transient provider, so every message
 * gets a fresh instance through Nest's DI; list it in a module's `providers`.
 */
export function Consumer(
  channels: string | readonly string[],
  filters?: RouteFilters,
  options?: ConsumerOptions,
): MethodDecorator;
export function Consumer(filters?: RouteFilters, options?: ConsumerOptions): ClassDecorator;
export function Consumer(
  channelsOrFilters?: string | readonly string[] | RouteFilters,
  filtersOrOptions?: RouteFilters | ConsumerOptions,
  options?: ConsumerOptions,
): MethodDecorator & ClassDecorator {
  return ((target: object, key?: string | symbol) => {
    if (key === undefined) {
      const classOptions = (filtersOrOptions ?? {}) as ConsumerOptions;
      const metadata: ClassConsumerMetadata = {
        filters: (channelsOrFilters ?? {}) as RouteFilters,
        layer: classOptions.layer ?? 'default',
      };
      Reflect.defineMetadata(CONSUMER_CLASS_METADATA, metadata, target);
      DECORATED_CONSUMER_CLASSES.add(target as abstract new (...args: never[]) => unknown);
      Injectable({ scope: Scope.TRANSIENT })(target as new () => object);
      return;
    }
    const channels = channelsOrFilters as string | readonly string[];
    const metadata: MethodConsumerMetadata = {
      channels: typeof channels === 'string' ? [channels] : [...(channels ?? [])],
      filters: (filtersOrOptions ?? {}) as RouteFilters,
      layer: options?.layer ?? 'default',
    };
    const existing = (Reflect.getMetadata(CONSUMER_METHOD_METADATA, target, key) ?? []) as MethodConsumerMetadata[];
    Reflect.defineMetadata(CONSUMER_METHOD_METADATA, [...existing, metadata], target, key);
    DECORATED_CONSUMER_CLASSES.add(target.constructor as abstract new (...args: never[]) => unknown);
  }) as MethodDecorator & ClassDecorator;
}

import type { Type } from '@nestjs/common';
import type { Message } from '../channels/message';
import type { RouteFilters, RouteKwargs } from '../routing/filters';
import { routeClass, type Route } from '../routing/route';
import type { ConsumerSessionFlags } from '../sessions/session-decorators';
import { CONSUMER_FACTORY, type ConsumerFactory } from '../consumers/consumer-factory';

/** A handler `getHandler` returns: called with the message and the route's kwargs. */
export type ConsumerHandler = (message: Message, kwargs: RouteKwargs) => unknown;

/** Class attributes `asRoute(filters, attrs)` may override for one route. */
export type ConsumerAttributes = Record<string, unknown>;

/**
 * A class-based consumer (Channels' `BaseConsumer`): `methodMapping` sends each channel to a
 * method. A fresh instance handles every message, made by Nest's DI (so constructor injection
 * works), with `message` and `kwargs` set. Route it with `@Consumer(filters)` on the class, with
 * `routeClass(MyConsumer, filters)`, or with `MyConsumer.asRoute(filters, attrs)`.
 */
export abstract class BaseConsumer {
  /** Channel name → method name. */
  static methodMapping: Readonly<Record<string, string>> = {};
  /** Load `message.channelSession` for every message. */
  static channelSession = false;
  /** Load `message.channelSession` and `message.user` from it for every message. */
  static channelSessionUser = false;

  /** The message being handled. */
  message!: Message;
  /** The route's kwargs (named groups of its filters). */
  kwargs!: RouteKwargs;
  /** Set by the invoker: makes sub-consumers through DI. */
  [CONSUMER_FACTORY]?: ConsumerFactory;

  /** The channels this consumer is routed on: the keys of `methodMapping`. */
  static channelNames(): string[] {
    return Object.keys(this.methodMapping);
  }

  /** The session decorators' flags for a message on `channel` (the class flags by default). */
  static sessionFlags(_channel: string): ConsumerSessionFlags {
    return { channelSession: this.channelSession, channelSessionUser: this.channelSessionUser };
  }

  /**
   * A route to this class; with `attrs`, to a subclass of the same name whose class attributes
   * (static properties: `groups`, `strictOrdering`, even `methodMapping`…) are overridden.
   */
  static asRoute<T extends typeof BaseConsumer>(this: T, filters?: RouteFilters, attrs?: ConsumerAttributes): Route {
    if (attrs === undefined) return routeClass(this as unknown as Parameters<typeof routeClass>[0], filters);
    if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
      throw new TypeError(`${this.name}.asRoute(): attrs must be an object of class attributes`);
    }
    const base = this as unknown as abstract new () => BaseConsumer;
    const named = { [this.name]: class extends base {} }[this.name];
    Object.assign(named, attrs);
    return routeClass(named as unknown as Parameters<typeof routeClass>[0], filters);
  }

  /** Handles one message: finds the handler for its channel and calls it. */
  async dispatch(message: Message, kwargs: RouteKwargs): Promise<unknown> {
    this.message = message;
    this.kwargs = kwargs;
    return this.getHandler(message, kwargs)(message, kwargs);
  }

  /** The bound method for the message's channel; override to wrap handlers. */
  protected getHandler(message: Message, _kwargs: RouteKwargs): ConsumerHandler {
    const type = this.constructor as typeof BaseConsumer;
    const name = type.methodMapping[message.channel.name];
    const method = name === undefined ? undefined : (this as unknown as Record<string, unknown>)[name];
    if (typeof method !== 'function') {
      throw new TypeError(
        name === undefined
          ? `${type.name} has no method for channel "${message.channel.name}" in its methodMapping`
          : `${type.name}.methodMapping sends "${message.channel.name}" to "${name}", which is not a method`,
      );
    }
    return (method as ConsumerHandler).bind(this);
  }

  /** A fresh instance of another consumer class, through Nest's DI. */
  protected createConsumer<T extends object>(type: Type<T>): Promise<T> {
    const factory = this[CONSUMER_FACTORY];
    if (!factory) throw new Error(`${this.constructor.name} was not made by the channels worker: no consumer factory`);
    return factory(type);
  }
}

import type { Type } from '@nestjs/common';
import type { Message } from '../channels/message';
import type { RouteKwargs } from './filters';

/** A consumer as a plain function: gets the message and the route's kwargs. */
export type ConsumerFunction = (message: Message, kwargs: RouteKwargs) => unknown;

/** A method of a Nest provider, resolved through DI at bootstrap: `[ChatConsumers, 'onReceive']`. */
export type ProviderMethodRef = readonly [provider: Type<object>, method: string];

/** An instance of a class-based consumer: made fresh for every message. */
export interface ClassConsumerInstance {
  dispatch(message: Message, kwargs: RouteKwargs): unknown;
}

/** A class-based consumer: its channel names come from the class. */
export interface ClassConsumerType {
  new (...args: never[]): ClassConsumerInstance;
  channelNames(): readonly string[];
}

export type ConsumerRef = ConsumerFunction | ProviderMethodRef | ClassConsumerType;

/** What the worker calls for a matched message, once bootstrap has bound the ref. */
export type ConsumerInvoker = (message: Message, kwargs: RouteKwargs) => Promise<unknown>;

export function isClassConsumer(ref: unknown): ref is ClassConsumerType {
  return typeof ref === 'function' && typeof (ref as Partial<ClassConsumerType>).channelNames === 'function';
}

export function describeConsumer(ref: ConsumerRef): string {
  if (Array.isArray(ref)) return `${(ref as ProviderMethodRef)[0].name}.${(ref as ProviderMethodRef)[1]}`;
  return (ref as { name?: string }).name || 'anonymous consumer';
}

import type { ArgumentsHost } from '@nestjs/common';
import type { Message } from '../channels/message';
import type { RouteKwargs } from '../routing/filters';

/** `host.getType()` inside guards, interceptors, pipes and filters around a consumer. */
export const CHANNELS_CONTEXT = 'channels';
export type ChannelsContextType = typeof CHANNELS_CONTEXT;

/** The message and kwargs of a consumer call, from a guard's, interceptor's or filter's host. */
export function getConsumerArgs(host: ArgumentsHost): { message: Message; kwargs: RouteKwargs } {
  if (host.getType<string>() !== CHANNELS_CONTEXT) {
    throw new TypeError(`Not a channels consumer context: ${host.getType<string>()}`);
  }
  return { message: host.getArgByIndex<Message>(0), kwargs: host.getArgByIndex<RouteKwargs>(1) };
}

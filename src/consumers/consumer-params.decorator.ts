import type { PipeTransform, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';

/**
 * Nest's own key for parameter metadata: its scanner then registers pipe classes given to these
 * decorators (`@Kwargs('id', ParseIntPipe)`) as injectables, as it does for controllers.
 */
export const CONSUMER_PARAMS_METADATA = ROUTE_ARGS_METADATA;

/** What a consumer parameter receives. */
export enum ConsumerParamType {
  MESSAGE = 0,
  CONTENT = 1,
  KWARGS = 2,
}

type Pipe = Type<PipeTransform> | PipeTransform;

function consumerParam(type: ConsumerParamType, data?: string, pipes: Pipe[] = []): ParameterDecorator {
  return (target, key, index) => {
    if (key === undefined) return;
    const existing = (Reflect.getMetadata(CONSUMER_PARAMS_METADATA, target.constructor, key) ?? {}) as object;
    Reflect.defineMetadata(
      CONSUMER_PARAMS_METADATA,
      { ...existing, [`${type}:${index}`]: { index, data, pipes } },
      target.constructor,
      key,
    );
  };
}

/** The `Message` being consumed. */
export const ConsumerMessage = (...pipes: Pipe[]): ParameterDecorator =>
  consumerParam(ConsumerParamType.MESSAGE, undefined, pipes);

/** The message content, or one key of it: `@Content('text') text: string`. */
export function Content(key?: string, ...pipes: Pipe[]): ParameterDecorator {
  return consumerParam(ConsumerParamType.CONTENT, key, pipes);
}

/** The route's kwargs, or one of them: `@Kwargs('room') room: string`. */
export function Kwargs(name?: string, ...pipes: Pipe[]): ParameterDecorator {
  return consumerParam(ConsumerParamType.KWARGS, name, pipes);
}

/** Parameters of a consumer method without parameter decorators: `(message, kwargs)`. */
export function defineDefaultConsumerParams(target: object, key: string): void {
  if (Reflect.getMetadata(CONSUMER_PARAMS_METADATA, target, key)) return;
  Reflect.defineMetadata(
    CONSUMER_PARAMS_METADATA,
    {
      [`${ConsumerParamType.MESSAGE}:0`]: { index: 0, data: undefined, pipes: [] },
      [`${ConsumerParamType.KWARGS}:1`]: { index: 1, data: undefined, pipes: [] },
    },
    target,
    key,
  );
}

import { ForbiddenException, Inject, Injectable, IntrinsicException, Logger, Scope, type Type } from '@nestjs/common';
import { ContextIdFactory, ExternalContextCreator, ModuleRef, type ContextId, type ParamsFactory } from '@nestjs/core';
import type { Message } from '../channels/message';
import { printable } from '../logging/printable';
import type { RouteKwargs } from '../routing/filters';
import type {
  ClassConsumerInstance,
  ClassConsumerType,
  ConsumerFunction,
  ConsumerInvoker,
} from '../routing/consumer-ref';
import { ConsumerSessions } from '../sessions/consumer-sessions';
import { sessionFlagsOf, type ConsumerSessionFlags } from '../sessions/session-decorators';
import { CONSUMER_FACTORY, type ConsumerFactory } from './consumer-factory';
import { CHANNELS_CONTEXT } from './consumer-context';
import { CONSUMER_PARAMS_METADATA, ConsumerParamType, defineDefaultConsumerParams } from './consumer-params.decorator';
import { DenyConnection } from './exceptions';

const paramsFactory: ParamsFactory = {
  exchangeKeyForValue(type: number, data: unknown, args: [Message, RouteKwargs]) {
    const [message, kwargs] = args;
    switch (type as ConsumerParamType) {
      case ConsumerParamType.MESSAGE:
        return message;
      case ConsumerParamType.CONTENT:
        return typeof data === 'string' ? message.content[data] : message.content;
      case ConsumerParamType.KWARGS:
        return typeof data === 'string' ? kwargs[data] : kwargs;
      default:
        return undefined;
    }
  },
};

const ENHANCERS = { guards: true, interceptors: true, filters: true };

/** A class consumer that may give session flags per channel (generic consumers' class flags). */
type SessionFlaggedConsumerType = ClassConsumerType & { sessionFlags?(channel: string): ConsumerSessionFlags };

const functionErrors = new Logger('ExceptionsHandler');

/** A guard that says no on websocket.connect refuses the connection instead of failing. */
function denyOnConnect(invoker: ConsumerInvoker): ConsumerInvoker {
  return async (message, kwargs) => {
    try {
      return await invoker(message, kwargs);
    } catch (error) {
      if (error instanceof ForbiddenException && message.channel.name === 'websocket.connect') {
        throw new DenyConnection(error.message);
      }
      throw error;
    }
  };
}

/**
 * Turns consumers into invokers the worker calls. Provider methods and class-based consumers run
 * through Nest's ExternalContextCreator, so `@UseGuards`, `@UsePipes`, `@UseInterceptors` and
 * `@UseFilters` apply, with an execution context of type `channels`.
 */
@Injectable()
export class ConsumerInvokerFactory {
  constructor(
    @Inject(ExternalContextCreator) private readonly contextCreator: ExternalContextCreator,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(ConsumerSessions) private readonly sessions: ConsumerSessions,
  ) {}

  /** Plain functions get no enhancers; their errors are logged with a stack like the others'. */
  forFunction(consumer: ConsumerFunction): ConsumerInvoker {
    return async (message, kwargs) => {
      try {
        return await consumer(message, kwargs);
      } catch (error) {
        if (error instanceof Error && !(error instanceof IntrinsicException)) {
          // Error messages often quote what a client sent: escaped, so it cannot forge log lines.
          const message = printable(error.message);
          functionErrors.error(message, error.stack?.replace(error.message, message));
        }
        throw error;
      }
    };
  }

  forMethod(instance: object, methodName: string): ConsumerInvoker {
    const prototype = Object.getPrototypeOf(instance) as Record<string, (...args: unknown[]) => unknown>;
    defineDefaultConsumerParams(prototype.constructor, methodName);
    const handler = this.withEnhancers(instance, prototype[methodName], methodName);
    const name = `${prototype.constructor.name}.${methodName}`;
    // Sessions are loaded before guards run, so guards can check message.user.
    return denyOnConnect(this.sessions.wrap(sessionFlagsOf(prototype, methodName), handler, name));
  }

  /**
   * A method of a request-scoped provider (or of one that depends on a request-scoped provider):
   * every message gets a fresh instance, resolved in a context of its own whose `REQUEST` is the
   * message, as Nest's microservices do for request-scoped handlers.
   */
  forScopedMethod(type: Type<object>, methodName: string): ConsumerInvoker {
    defineDefaultConsumerParams(type, methodName);
    const handler = async (message: Message, kwargs: RouteKwargs): Promise<unknown> => {
      const contextId = ContextIdFactory.getByRequest(message);
      this.moduleRef.registerRequestByContextId(message, contextId);
      const instance = await this.moduleRef.resolve<Record<string, (...args: unknown[]) => unknown>>(type, contextId, {
        strict: false,
      });
      return this.withEnhancers(instance, instance[methodName], methodName, contextId)(message, kwargs);
    };
    const name = `${type.name}.${methodName}`;
    return denyOnConnect(this.sessions.wrap(sessionFlagsOf(type.prototype as object, methodName), handler, name));
  }

  /**
   * A fresh instance per message (the class is a transient provider), with its enhancers and, per
   * channel, the session handling its decorators and class flags ask for. `provider` is the
   * registered class to make the instance from when `consumer` is a subclass made by `asRoute`.
   */
  forClass(consumer: SessionFlaggedConsumerType, provider: ClassConsumerType = consumer): ConsumerInvoker {
    const instances = new WeakMap<Message, ClassConsumerInstance>();
    const dispatch = consumer.prototype.dispatch as (...args: unknown[]) => unknown;
    // The context is built once; each call finds its own instance through the message.
    const callback = function (this: unknown, message: unknown, kwargs: unknown): unknown {
      return (instances.get(message as Message) as ClassConsumerInstance).dispatch(
        message as Message,
        kwargs as RouteKwargs,
      );
    };
    for (const key of Reflect.getMetadataKeys(dispatch)) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, dispatch), callback);
    }
    defineDefaultConsumerParams(consumer, 'dispatch');
    const handler = this.withEnhancers(Object.create(consumer.prototype) as object, callback, 'dispatch');
    const decorated = sessionFlagsOf(consumer);
    const byChannel = new Map<string, ConsumerInvoker>();
    for (const channel of consumer.channelNames()) {
      // A decorator on the class and a static flag both ask: either turns a session on.
      const flags = mergeSessionFlags(decorated, consumer.sessionFlags?.(channel));
      byChannel.set(channel, this.sessions.wrap(flags, handler, `${consumer.name} (${channel})`));
    }
    return denyOnConnect(async (message, kwargs) => {
      const contextId = ContextIdFactory.create();
      // Request-scoped providers the consumer depends on get the message as their REQUEST.
      this.moduleRef.registerRequestByContextId(message, contextId);
      const instance = await this.moduleRef.resolve<ClassConsumerInstance>(provider, contextId, { strict: false });
      if (provider !== consumer) Object.setPrototypeOf(instance, consumer.prototype);
      (instance as { [CONSUMER_FACTORY]?: ConsumerFactory })[CONSUMER_FACTORY] = (type) =>
        this.subConsumer(type, contextId);
      instances.set(message, instance);
      const invoke = byChannel.get(message.channel.name) ?? handler;
      return invoke(message, kwargs);
    });
  }

  /** A sub-consumer (a demultiplexer's stream) through DI: it must be a transient provider. */
  private async subConsumer<T extends object>(type: Type<T>, contextId: ContextId): Promise<T> {
    let scope: Scope | undefined;
    try {
      scope = this.moduleRef.introspect(type).scope;
    } catch {
      throw new TypeError(`${type.name} is not a provider: add it to a module's providers`);
    }
    if (scope !== Scope.TRANSIENT) {
      throw new TypeError(
        `${type.name} must get a fresh instance per message: make it @Injectable({ scope: Scope.TRANSIENT })`,
      );
    }
    return this.moduleRef.resolve(type, contextId, { strict: false });
  }

  /** The method wrapped in the guards, pipes, interceptors and filters that apply to it. */
  private withEnhancers(
    instance: object,
    callback: (...args: unknown[]) => unknown,
    methodName: string,
    contextId?: ContextId,
  ): (message: Message, kwargs: RouteKwargs) => Promise<unknown> {
    return this.contextCreator.create(
      instance,
      callback,
      methodName,
      CONSUMER_PARAMS_METADATA,
      paramsFactory,
      contextId,
      undefined,
      ENHANCERS,
      CHANNELS_CONTEXT,
    );
  }
}

/** Session flags asked for by decorators or by a class's static flags: each on when either asks. */
function mergeSessionFlags(
  decorated: ConsumerSessionFlags,
  statics: ConsumerSessionFlags | undefined,
): ConsumerSessionFlags {
  const merged: ConsumerSessionFlags = { ...decorated };
  for (const [key, value] of Object.entries(statics ?? {}) as Array<[keyof ConsumerSessionFlags, boolean | undefined]>)
    merged[key] = Boolean(merged[key]) || Boolean(value);
  return merged;
}

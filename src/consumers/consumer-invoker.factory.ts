import { ForbiddenException, Inject, Injectable, IntrinsicException, Logger, Scope, type Type } from '@nestjs/common';
import {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import {
  ContextIdFactory,
  ExternalContextCreator,
  ModuleRef,
  type ApplicationConfig,
  type ContextId,
  type ParamsFactory,
} from '@nestjs/core';
import { ExternalExceptionsHandler } from '@nestjs/core/exceptions/external-exceptions-handler';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { isObservable, lastValueFrom } from 'rxjs';
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

/** What a consumer parameter of one of our types receives (`@ConsumerMessage`, `@Content`, `@Kwargs`). */
function paramValue(type: ConsumerParamType, data: unknown, message: Message, kwargs: RouteKwargs): unknown {
  switch (type) {
    case ConsumerParamType.MESSAGE:
      return message;
    case ConsumerParamType.CONTENT:
      return typeof data === 'string' ? message.content[data] : message.content;
    case ConsumerParamType.KWARGS:
      return typeof data === 'string' ? kwargs[data] : kwargs;
    default:
      return undefined;
  }
}

const paramsFactory: ParamsFactory = {
  exchangeKeyForValue(type: number, data: unknown, args: [Message, RouteKwargs]) {
    return paramValue(type as ConsumerParamType, data, args[0], args[1]);
  },
};

const ENHANCERS = { guards: true, interceptors: true, filters: true };

/** A class consumer that may give session flags per channel (generic consumers' class flags). */
type SessionFlaggedConsumerType = ClassConsumerType & { sessionFlags?(channel: string): ConsumerSessionFlags };

type Callback = (...args: unknown[]) => unknown;
type Handler = (message: Message, kwargs: RouteKwargs) => Promise<unknown>;

const functionErrors = new Logger('ExceptionsHandler');

/**
 * The context creators ExternalContextCreator.create asks for a consumer's enhancers (its own
 * fields), and what each `create` returns: the guards, pipes and interceptors that apply (global,
 * `APP_*` providers, class, method), and the exceptions handler with the filters that apply.
 */
const ENHANCER_CREATORS = [
  'guardsContextCreator',
  'pipesContextCreator',
  'interceptorsContextCreator',
  'filtersContextCreator',
] as const;
type EnhancerCreator = (typeof ENHANCER_CREATORS)[number];
interface ContextCreatorLike {
  create(...args: unknown[]): unknown;
}

/** Enhancer metadata on a class or method: `@UseGuards` and co. (the probe's second opinion). */
const ENHANCER_METADATA = [GUARDS_METADATA, PIPES_METADATA, INTERCEPTORS_METADATA, EXCEPTION_FILTERS_METADATA];

/** One parameter of a direct call: where its value comes from, as the slow path's paramsFactory says. */
interface DirectParam {
  index: number;
  type: ConsumerParamType;
  data: string | undefined;
}

/**
 * How a consumer with no enhancer is called: its parameters read as Nest would, and its errors
 * handed to the same exceptions handler Nest made for it (with no filter, it logs and rethrows).
 */
interface DirectPlan {
  /** `undefined`: the default `(message, kwargs)`. */
  params: DirectParam[] | undefined;
  argsLength: number;
  exceptions: ExternalExceptionsHandler;
}

/**
 * A guard that says no on websocket.connect refuses the connection instead of failing. Other
 * channels go straight to the invoker (no extra promise per message).
 */
function denyOnConnect(invoker: ConsumerInvoker): ConsumerInvoker {
  const onConnect: ConsumerInvoker = async (message, kwargs) => {
    try {
      return await invoker(message, kwargs);
    } catch (error) {
      if (error instanceof ForbiddenException) throw new DenyConnection(error.message);
      throw error;
    }
  };
  return (message, kwargs) =>
    message.channel.name === 'websocket.connect' ? onConnect(message, kwargs) : invoker(message, kwargs);
}

/**
 * Turns consumers into invokers the worker calls. Provider methods and class-based consumers run
 * through Nest's ExternalContextCreator, so `@UseGuards`, `@UsePipes`, `@UseInterceptors` and
 * `@UseFilters` apply, with an execution context of type `channels`.
 *
 * **The fast path.** When Nest resolves no guard, pipe, interceptor or filter for a consumer (none
 * global, none from `APP_*` providers, none on its class or method, no parameter pipe and no custom
 * parameter decorator), it is called directly: the same parameters, the same result (an Observable
 * is awaited to its last value), its errors through the same exceptions handler, without the
 * promises of the enhancer chain. Decided once per consumer at bootstrap, from what Nest's own
 * context creators return while ExternalContextCreator.create builds the consumer's context.
 */
@Injectable()
export class ConsumerInvokerFactory {
  /**
   * The consumers bound to a direct call (`Class.method`), for tests and diagnostics. Internal: not
   * exported from the package.
   * @internal
   */
  readonly directConsumers = new Set<string>();

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
    const prototype = Object.getPrototypeOf(instance) as Record<string, Callback>;
    defineDefaultConsumerParams(prototype.constructor, methodName);
    const name = `${prototype.constructor.name}.${methodName}`;
    const callback = prototype[methodName];
    const { handler, direct } = this.enhanced(instance, callback, methodName);
    const invoke = direct
      ? this.recordDirect(name, (message, kwargs) => call(direct, instance, callback, message, kwargs))
      : handler;
    // Sessions are loaded before guards run, so guards can check message.user.
    return denyOnConnect(this.sessions.wrap(sessionFlagsOf(prototype, methodName), invoke, name));
  }

  /**
   * A method of a request-scoped provider (or of one that depends on a request-scoped provider):
   * every message gets a fresh instance, resolved in a context of its own whose `REQUEST` is the
   * message, as Nest's microservices do for request-scoped handlers.
   */
  forScopedMethod(type: Type<object>, methodName: string): ConsumerInvoker {
    defineDefaultConsumerParams(type, methodName);
    const name = `${type.name}.${methodName}`;
    // Nest builds the context per message, with the message's instance; asked once here with an
    // instance and a context of no provider, as a message's are when its context is built.
    const prototype = type.prototype as Record<string, Callback>;
    const probe = this.enhanced(
      Object.create(prototype) as object,
      prototype[methodName],
      methodName,
      ContextIdFactory.create(),
    );
    const direct = probe.direct;
    if (direct) this.directConsumers.add(name);
    const config = this.applicationConfig();
    const handler = async (message: Message, kwargs: RouteKwargs): Promise<unknown> => {
      const contextId = ContextIdFactory.getByRequest(message);
      this.moduleRef.registerRequestByContextId(message, contextId);
      const instance = await this.moduleRef.resolve<Record<string, Callback>>(type, contextId, {
        strict: false,
      });
      // A global enhancer added after bootstrap applies here as on the full path (built per message).
      if (direct && config && !hasGlobalEnhancers(config)) {
        return call(direct, instance, instance[methodName], message, kwargs);
      }
      return this.withEnhancers(instance, instance[methodName], methodName, contextId)(message, kwargs);
    };
    return denyOnConnect(this.sessions.wrap(sessionFlagsOf(type.prototype as object, methodName), handler, name));
  }

  /**
   * A fresh instance per message (the class is a transient provider), with its enhancers and, per
   * channel, the session handling its decorators and class flags ask for. `provider` is the
   * registered class to make the instance from when `consumer` is a subclass made by `asRoute`.
   */
  forClass(consumer: SessionFlaggedConsumerType, provider: ClassConsumerType = consumer): ConsumerInvoker {
    const instances = new WeakMap<Message, ClassConsumerInstance>();
    const dispatch = consumer.prototype.dispatch as Callback;
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
    const host = Object.create(consumer.prototype) as object;
    const enhanced = this.enhanced(host, callback, 'dispatch');
    const direct = enhanced.direct;
    const handler: Handler = direct
      ? this.recordDirect(`${consumer.name}.dispatch`, (message, kwargs) =>
          call(direct, host, callback, message, kwargs),
        )
      : enhanced.handler;
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

  private recordDirect(name: string, invoke: Handler): Handler {
    this.directConsumers.add(name);
    return invoke;
  }

  /** The method wrapped in the guards, pipes, interceptors and filters that apply to it. */
  private withEnhancers(instance: object, callback: Callback, methodName: string, contextId?: ContextId): Handler {
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

  /**
   * The full handler, and how to call the consumer directly when Nest resolves no enhancer for it.
   * ExternalContextCreator.create is run as always, while its context creators (its own fields,
   * swapped for this one synchronous call) report what they return, so the answer is Nest's own:
   * the same host module, inquirer and context, global and `APP_*` enhancers included. Anything
   * this cannot see for sure (a Nest without those fields, global request-scoped enhancers, which
   * Nest resolves per context, declared enhancers Nest did not resolve here) takes the full path.
   */
  private enhanced(
    instance: object,
    callback: Callback,
    methodName: string,
    contextId?: ContextId,
  ): { handler: Handler; direct: DirectPlan | undefined } {
    const resolved = new Map<EnhancerCreator, unknown>();
    const restore: Array<() => void> = [];
    let handler: Handler;
    try {
      for (const key of ENHANCER_CREATORS) {
        const original: unknown = Reflect.get(this.contextCreator, key);
        if (!isContextCreator(original)) continue;
        const recording = Object.create(original) as ContextCreatorLike;
        recording.create = (...args: unknown[]): unknown => {
          const value = original.create(...args);
          resolved.set(key, value);
          return value;
        };
        if (!Reflect.set(this.contextCreator, key, recording)) continue;
        restore.push(() => Reflect.set(this.contextCreator, key, original));
      }
      handler = this.withEnhancers(instance, callback, methodName, contextId);
    } finally {
      for (const undo of restore) undo();
    }
    return { handler, direct: this.directPlan(instance, callback, methodName, resolved) };
  }

  private directPlan(
    instance: object,
    callback: Callback,
    methodName: string,
    resolved: Map<EnhancerCreator, unknown>,
  ): DirectPlan | undefined {
    for (const key of ['guardsContextCreator', 'pipesContextCreator', 'interceptorsContextCreator'] as const) {
      const enhancers = resolved.get(key);
      if (!Array.isArray(enhancers) || enhancers.length > 0) return undefined;
    }
    const exceptions = resolved.get('filtersContextCreator');
    if (!(exceptions instanceof ExternalExceptionsHandler)) return undefined;
    const filters: unknown = Reflect.get(exceptions, 'filters');
    if (!Array.isArray(filters) || filters.length > 0) return undefined;
    const config = this.applicationConfig();
    if (!config || hasGlobalRequestEnhancers(config)) return undefined;
    const classRef = (instance as { constructor: unknown }).constructor;
    for (const key of ENHANCER_METADATA) {
      if (
        hasItems(Reflect.getMetadata(key, callback)) ||
        (isObject(classRef) && hasItems(Reflect.getMetadata(key, classRef)))
      )
        return undefined;
    }
    const params = directParams(
      isObject(classRef) ? Reflect.getMetadata(CONSUMER_PARAMS_METADATA, classRef, methodName) : undefined,
    );
    if (!params) return undefined;
    return { ...params, exceptions };
  }

  /** The app's ApplicationConfig (global enhancers), as the context creators read it. */
  private applicationConfig(): ApplicationConfig | undefined {
    const container: unknown = Reflect.get(this.contextCreator, 'container');
    if (!isObject(container)) return undefined;
    const config: unknown = Reflect.get(container, 'applicationConfig');
    return isObject(config) && typeof (config as Partial<ApplicationConfig>).getGlobalGuards === 'function'
      ? (config as ApplicationConfig)
      : undefined;
  }
}

/**
 * A consumer called directly: what ExternalContextCreator's handler does when it has no guard, pipe
 * or interceptor (parameters from the paramsFactory, an Observable result awaited to its last
 * value), and what its ExternalErrorProxy does with an error (the exceptions handler, with no filter:
 * logged and rethrown).
 */
async function call(
  plan: DirectPlan,
  instance: unknown,
  callback: Callback,
  message: Message,
  kwargs: RouteKwargs,
): Promise<unknown> {
  try {
    let result: unknown;
    if (!plan.params) {
      result = await callback.call(instance, message, kwargs);
    } else {
      const args = new Array<unknown>(plan.argsLength).fill(undefined);
      for (const { index, type, data } of plan.params) args[index] = paramValue(type, data, message, kwargs);
      result = await callback.apply(instance, args);
    }
    return isObservable(result) ? await lastValueFrom(result) : result;
  } catch (error) {
    const host = new ExecutionContextHost([message, kwargs]);
    host.setType(CHANNELS_CONTEXT);
    return (await plan.exceptions.next(error as Error, host)) as unknown;
  }
}

/**
 * The parameters of a direct call, from the method's parameter metadata: `undefined` (full path)
 * when a parameter has pipes, comes from a custom parameter decorator, or is not one of ours.
 */
function directParams(metadata: unknown): Omit<DirectPlan, 'exceptions'> | undefined {
  if (!isObject(metadata)) return undefined;
  const params: DirectParam[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (key.includes(CUSTOM_ROUTE_ARGS_METADATA) || !isObject(value)) return undefined;
    const { index, data, pipes } = value as { index?: unknown; data?: unknown; pipes?: unknown };
    const type = Number(key.split(':')[0]);
    if (hasItems(pipes) || !Number.isInteger(index) || (index as number) < 0) return undefined;
    if (type !== ConsumerParamType.MESSAGE && type !== ConsumerParamType.CONTENT && type !== ConsumerParamType.KWARGS)
      return undefined;
    if (data !== undefined && typeof data !== 'string') return undefined;
    params.push({ index: index as number, type, data });
  }
  if (params.length === 0) return undefined;
  const argsLength = Math.max(...params.map((param) => param.index)) + 1;
  const isDefault =
    params.length === 2 &&
    params.some((p) => p.index === 0 && p.type === ConsumerParamType.MESSAGE && p.data === undefined) &&
    params.some((p) => p.index === 1 && p.type === ConsumerParamType.KWARGS && p.data === undefined);
  return { params: isDefault ? undefined : params, argsLength };
}

function isContextCreator(value: unknown): value is ContextCreatorLike {
  return isObject(value) && typeof (value as Partial<ContextCreatorLike>).create === 'function';
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

function hasItems(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

/** Request-scoped `APP_*` enhancers: Nest resolves them per context, so they take the full path. */
function hasGlobalRequestEnhancers(config: ApplicationConfig): boolean {
  return (
    config.getGlobalRequestGuards().length > 0 ||
    config.getGlobalRequestPipes().length > 0 ||
    config.getGlobalRequestInterceptors().length > 0 ||
    config.getGlobalRequestFilters().length > 0
  );
}

/** Any global enhancer, `app.useGlobal*` or `APP_*`. */
function hasGlobalEnhancers(config: ApplicationConfig): boolean {
  return (
    config.getGlobalGuards().length > 0 ||
    config.getGlobalPipes().length > 0 ||
    config.getGlobalInterceptors().length > 0 ||
    config.getGlobalFilters().length > 0 ||
    hasGlobalRequestEnhancers(config)
  );
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

import { Inject, Injectable, Logger, Optional, type Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import {
  isClassConsumer,
  type ClassConsumerType,
  type ConsumerRef,
  type ProviderMethodRef,
} from '../routing/consumer-ref';
import { RouteConfigurationError } from '../routing/filters';
import { Route } from '../routing/route';
import { resemblesWellKnown } from '../routing/well-known-channels';
import {
  CONSUMER_CLASS_METADATA,
  CONSUMER_METHOD_METADATA,
  DECORATED_CONSUMER_CLASSES,
  type ClassConsumerMetadata,
  type MethodConsumerMetadata,
} from './consumer.decorator';
import { ConsumerInvokerFactory } from './consumer-invoker.factory';
import { CHANNELS_FALLBACK_ROUTES, type FallbackRouteSource } from './fallback-route';

/**
 * At bootstrap: finds `@Consumer` methods and classes among the app's providers, adds their routes
 * to their layer's router (after any explicit routes), binds every route to its consumer, and
 * refuses misconfiguration with a clear message.
 */
@Injectable()
export class ConsumerExplorer {
  private readonly logger = new Logger('Consumers');

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(ConsumerInvokerFactory) private readonly invokers: ConsumerInvokerFactory,
    @Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry,
    @Optional()
    @Inject(CHANNELS_FALLBACK_ROUTES)
    private readonly fallbackSources: readonly FallbackRouteSource[] = [],
  ) {}

  explore(): void {
    const providers = this.discovery.getProviders();
    this.refuseControllerConsumers();
    this.warnAboutUnregistered(providers);
    for (const wrapper of providers) this.addDecoratedRoutes(wrapper);
    const classProviders = new Map<unknown, InstanceWrapper>();
    for (const wrapper of providers)
      if (wrapper.metatype && !wrapper.isAlias) classProviders.set(wrapper.metatype, wrapper);
    for (const alias of this.registry.aliases) {
      const router = this.registry.router(alias);
      router.assertNoDuplicates();
      for (const route of router.routes) {
        if (!router.invokerOf(route)) router.bind(route, this.bind(route.consumer, route.describe(), classProviders));
      }
    }
    this.warnAboutNearMisses();
    // Last of all (so every route of the app wins): routes features add, such as the app's own
    // controllers in `http.mode: 'all'`.
    for (const source of this.fallbackSources) {
      for (const { alias, channel, origin, consume } of source.fallbackRoutes()) {
        const router = this.registry.router(alias);
        const fallback = new Route(channel, consume, {}, origin);
        router.add(fallback);
        router.bind(fallback, this.invokers.forFunction(consume));
      }
    }
  }

  /** `@Consumer` on a controller method never runs: Nest builds controllers for HTTP, not for messages. */
  private refuseControllerConsumers(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const metatype = wrapper.metatype as Type<object> | undefined;
      if (!metatype?.prototype) continue;
      for (const methodName of this.scanner.getAllMethodNames(metatype.prototype as object)) {
        if (!Reflect.getMetadata(CONSUMER_METHOD_METADATA, metatype.prototype as object, methodName)) continue;
        throw new RouteConfigurationError(
          `@Consumer on controller method ${metatype.name}.${methodName}: consumers must be providers. ` +
            `Move the method to an @Injectable() class listed in a module's providers`,
        );
      }
    }
  }

  /**
   * A class with `@Consumer` that no module of this app provides: its consumers never run. A
   * warning, not an error: a process may build several apps from one set of classes.
   */
  private warnAboutUnregistered(providers: InstanceWrapper[]): void {
    const provided = new Set(providers.map((wrapper) => wrapper.metatype));
    const controllers = new Set(this.discovery.getControllers().map((wrapper) => wrapper.metatype));
    for (const type of DECORATED_CONSUMER_CLASSES) {
      if (provided.has(type) || controllers.has(type)) continue;
      // A subclass listed in providers covers the decorated base class.
      if ([...provided].some((candidate) => typeof candidate === 'function' && candidate.prototype instanceof type))
        continue;
      this.logger.warn(
        `${type.name} has @Consumer routes but is in no module's providers of this app, so they never run: ` +
          `add ${type.name} to a module's providers`,
      );
    }
  }

  /** A custom channel one or two letters from an interface channel is most likely a typo; it may be on purpose. */
  private warnAboutNearMisses(): void {
    for (const alias of this.registry.aliases) {
      for (const route of this.registry.router(alias).routes) {
        for (const channel of route.channels) {
          const resembles = resemblesWellKnown(channel);
          if (resembles)
            this.logger.warn(
              `${route.describe()} listens on "${channel}", close to "${resembles}": if you meant the interface ` +
                `channel, fix the name (nothing sends on "${channel}" unless your code does)`,
            );
        }
      }
    }
  }

  private addDecoratedRoutes(wrapper: InstanceWrapper): void {
    const metatype = wrapper.metatype as Type<object> | undefined;
    if (!metatype || typeof metatype !== 'function' || wrapper.isAlias) return;
    const classMetadata = Reflect.getMetadata(CONSUMER_CLASS_METADATA, metatype) as ClassConsumerMetadata | undefined;
    if (classMetadata) {
      if (!isClassConsumer(metatype)) {
        throw new RouteConfigurationError(
          `@Consumer() on class ${metatype.name} needs a static channelNames() method and a dispatch(message, kwargs) method`,
        );
      }
      assertFreshPerMessage(metatype, wrapper);
      const route = new Route(metatype.channelNames(), metatype, classMetadata.filters, metatype.name);
      const router = this.registry.router(classMetadata.layer);
      router.add(route);
      router.bind(route, this.invokers.forClass(metatype));
      return;
    }
    // A request-scoped provider's instance here is only its prototype: enough to find the methods.
    const instance = wrapper.instance as object | undefined;
    if (!instance) return;
    const prototype = Object.getPrototypeOf(instance) as object;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const routes = Reflect.getMetadata(CONSUMER_METHOD_METADATA, prototype, methodName) as
        MethodConsumerMetadata[] | undefined;
      if (!routes) continue;
      const invoke = wrapper.isDependencyTreeStatic()
        ? this.invokers.forMethod(instance, methodName)
        : this.invokers.forScopedMethod(metatype, methodName);
      for (const metadata of routes) {
        const route = new Route(metadata.channels, [metatype, methodName], metadata.filters);
        const router = this.registry.router(metadata.layer);
        router.add(route);
        router.bind(route, invoke);
      }
    }
  }

  /** Binds an explicit route's consumer: a function, a provider's method, or a class consumer provider. */
  private bind(consumer: ConsumerRef, origin: string, classProviders: Map<unknown, InstanceWrapper>) {
    if (isClassConsumer(consumer)) {
      // A subclass made by asRoute(filters, attrs) is made from its registered ancestor.
      let provider: unknown = consumer;
      while (typeof provider === 'function' && !classProviders.has(provider))
        provider = Object.getPrototypeOf(provider);
      const wrapper = classProviders.get(provider);
      if (!wrapper) {
        throw new RouteConfigurationError(
          `${origin} is routed but is not a provider: add it to a module's providers (and decorate it with @Consumer())`,
        );
      }
      assertFreshPerMessage(provider as ClassConsumerType, wrapper);
      return this.invokers.forClass(consumer, provider as ClassConsumerType);
    }
    if (Array.isArray(consumer)) {
      const [provider, method] = consumer as ProviderMethodRef;
      const wrapper = this.discovery.getProviders().find((candidate) => candidate.metatype === provider);
      const instance = wrapper?.instance as Record<string, unknown> | undefined;
      if (!wrapper || !instance) {
        throw new RouteConfigurationError(`${origin} is routed but ${provider.name} is not a provider of the app`);
      }
      if (typeof instance[method] !== 'function') {
        throw new RouteConfigurationError(`${origin} is routed but ${provider.name} has no method "${method}"`);
      }
      return wrapper.isDependencyTreeStatic()
        ? this.invokers.forMethod(instance, method)
        : this.invokers.forScopedMethod(provider, method);
    }
    if (typeof consumer === 'function') return this.invokers.forFunction(consumer);
    throw new RouteConfigurationError(
      `${origin}: a consumer must be a function, [Provider, 'method'] or a consumer class`,
    );
  }
}

/** Class consumers get a fresh instance per message: their provider must be transient. */
function assertFreshPerMessage(type: ClassConsumerType, wrapper: InstanceWrapper): void {
  if (wrapper.isTransient) return;
  throw new RouteConfigurationError(
    `Class consumer ${type.name} must get a fresh instance per message, but its provider is a singleton: ` +
      `decorate it with @Consumer(filters) (after any @Injectable()), or @Injectable({ scope: Scope.TRANSIENT })`,
  );
}

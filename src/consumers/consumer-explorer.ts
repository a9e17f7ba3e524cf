import { Inject, Injectable, Optional, type Type } from '@nestjs/common';
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
import {
  CONSUMER_CLASS_METADATA,
  CONSUMER_METHOD_METADATA,
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

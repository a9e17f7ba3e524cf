import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FallbackRoute, FallbackRouteSource } from '../consumers/fallback-route';
import { controllerConsumer } from '../http/controllers-consumer';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { ReplyDispatcher } from './common/reply-dispatcher';
import { HttpInterface } from './http/http-interface';
import { CHANNELS_INTERFACE_OPTIONS, INTERFACE_ROLE } from './interface.constants';
import type { InterfaceModuleOptions } from './interface-options';
import { WebsocketInterface } from './websocket/websocket-interface';
import { resolveWebsocketInterfaceOptions } from './websocket/websocket-options';

/** The part of a Fastify instance the hook needs (Fastify itself is an optional dependency). */
interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (
      request: { raw: IncomingMessage },
      reply: { raw: ServerResponse; hijack(): void },
      done: (error?: Error) => void,
    ) => void,
  ): unknown;
}

/**
 * Serves WebSockets and HTTP over channels on the Nest app's own HTTP server (any adapter that
 * exposes a Node HTTP server), with one reply loop per layer for both. Application contexts
 * without HTTP (worker processes) have none.
 */
@Injectable()
export class ChannelsInterfaceService implements FallbackRouteSource, OnApplicationBootstrap, OnModuleDestroy {
  private websocket: WebsocketInterface | undefined;
  private httpInterface: HttpInterface | undefined;
  private readonly dispatchers = new Map<string, ReplyDispatcher>();
  private fastifyHooked = false;

  private readonly settings: InterfaceModuleOptions;

  constructor(
    @Inject(CHANNELS_INTERFACE_OPTIONS) mine: InterfaceModuleOptions,
    @Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(INTERFACE_ROLE) forced?: InterfaceModuleOptions,
  ) {
    this.settings = {
      websocket:
        forced?.websocket === false || mine.websocket === false ? false : { ...mine.websocket, ...forced?.websocket },
      http: forced?.http === false || mine.http === false ? false : { ...mine.http, ...forced?.http },
    };
  }

  /** The WebSocket interface, when this process serves one. */
  get websockets(): WebsocketInterface | undefined {
    return this.websocket;
  }

  /**
   * In `http.mode: 'all'`, the route that runs this app's controllers for the `http.request`
   * messages no route takes (for the workers of a process with an HTTP adapter).
   */
  fallbackRoutes(): readonly FallbackRoute[] {
    const http = this.settings.http;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (http === false || http?.mode !== 'all' || !server) return [];
    const alias = http.layer ?? 'default';
    return [{ alias, channel: 'http.request', origin: 'Nest controllers', consume: controllerConsumer(server) }];
  }

  /** HTTP over channels, when this process serves it. */
  get http(): HttpInterface | undefined {
    return this.httpInterface;
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    const websocket = this.settings.websocket;
    if (websocket !== false) {
      const options = websocket ?? {};
      const layer = this.registry.layer(options.layer);
      const resolved = resolveWebsocketInterfaceOptions(options, layer.groupExpiry);
      this.websocket = new WebsocketInterface(layer, resolved, this.dispatcher(resolved.layer));
      this.websocket.attach(server);
    }
    const http = this.settings.http;
    if (http !== false) {
      const alias = http?.layer ?? 'default';
      const { layer, router } = this.registry.get(alias);
      this.httpInterface = new HttpInterface(layer, router, this.dispatcher(alias), http ?? {});
      if (this.adapterHost.httpAdapter.getType() === 'fastify') this.hookIntoFastify(this.httpInterface);
    }
  }

  /** Whether requests reach HTTP over channels through a Fastify hook (so the Nest middleware stands aside). */
  get usesFastifyHook(): boolean {
    return this.fastifyHooked;
  }

  /**
   * Fastify runs Nest middleware only for paths it has a route for, so requests over channels are
   * taken in an onRequest hook instead, which sees every request before routing.
   */
  private hookIntoFastify(http: HttpInterface): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyLike>();
    fastify.addHook('onRequest', (request, reply, done) => {
      if (!http.wants(request.raw)) return done();
      reply.hijack();
      http.handle(request.raw, reply.raw).catch((error: unknown) => done(error as Error));
    });
    this.fastifyHooked = true;
  }

  /** Sockets close first (1001), so their disconnects reach workers that are still draining. */
  async onModuleDestroy(): Promise<void> {
    await this.websocket?.close();
    this.websocket = undefined;
    this.httpInterface = undefined;
    await Promise.all([...this.dispatchers.values()].map((dispatcher) => dispatcher.stop()));
    this.dispatchers.clear();
  }

  private dispatcher(alias: string): ReplyDispatcher {
    let dispatcher = this.dispatchers.get(alias);
    if (!dispatcher) {
      dispatcher = new ReplyDispatcher(this.registry.layer(alias), 'interface');
      this.dispatchers.set(alias, dispatcher);
    }
    return dispatcher;
  }
}

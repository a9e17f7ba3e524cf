import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FallbackRoute, FallbackRouteSource } from '../consumers/fallback-route';
import { controllerConsumer } from '../http/controllers-consumer';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { FairSender } from './common/fair-sender';
import { InterfaceStatistics } from './common/interface-statistics';
import { ReplyDispatcher } from './common/reply-dispatcher';
import { serveConnectRequests } from './http/connect-requests';
import { HttpInterface } from './http/http-interface';
import { CHANNELS_INTERFACE_OPTIONS, INTERFACE_ROLE } from './interface.constants';
import { resolveHttpInterfaceOptions, type ResolvedHttpInterfaceOptions } from './http/http-options';
import { limitRequestTimes } from './http/server-timeouts';
import type { InterfaceModuleOptions } from './interface-options';
import { WebsocketInterface } from './websocket/websocket-interface';
import {
  resolveWebsocketInterfaceOptions,
  type ResolvedWebsocketInterfaceOptions,
  type WebsocketInterfaceOptions,
} from './websocket/websocket-options';

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
  private readonly senders = new Map<string, FairSender>();
  private readonly counters = new InterfaceStatistics();
  private fastifyHooked = false;

  /**
   * The options, checked when the module is created, so a mistake fails the app's creation before
   * anything runs. The WebSocket options need their layer: when its alias is not configured, the
   * error waits for bootstrap, where only an app with an HTTP server needs it.
   */
  private readonly websocketSettings: WebsocketInterfaceOptions | false;
  private readonly websocketOptions: ResolvedWebsocketInterfaceOptions | undefined;
  private readonly httpOptions: ResolvedHttpInterfaceOptions | false;

  constructor(
    @Inject(CHANNELS_INTERFACE_OPTIONS) mine: InterfaceModuleOptions,
    @Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(INTERFACE_ROLE) forced?: InterfaceModuleOptions,
  ) {
    const websocket =
      forced?.websocket === false || mine.websocket === false ? false : { ...mine.websocket, ...forced?.websocket };
    const http = forced?.http === false || mine.http === false ? false : { ...mine.http, ...forced?.http };
    this.websocketSettings = websocket;
    if (websocket !== false && registry.aliases.includes(websocket.layer ?? 'default')) {
      this.websocketOptions = this.resolveWebsocket(websocket);
    }
    this.httpOptions = http === false ? false : resolveHttpInterfaceOptions(http);
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
    const http = this.httpOptions;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (http === false || !http.all || !server) return [];
    const alias = http.layer;
    // Fastify builds its routes' hooks in ready(), which only listen() calls: a worker that never
    // listens readies it before the first request it injects.
    const adapter = this.adapterHost.httpAdapter;
    const ready =
      adapter.getType() === 'fastify'
        ? () => adapter.getInstance<{ ready(): PromiseLike<unknown> }>().ready()
        : undefined;
    return [{ alias, channel: 'http.request', origin: 'Nest controllers', consume: controllerConsumer(server, ready) }];
  }

  /** HTTP over channels, when this process serves it. */
  get http(): HttpInterface | undefined {
    return this.httpInterface;
  }

  /**
   * What this process's interface refused, closed or dropped since it started (1013 and 1009
   * closes, dropped frames and disconnects, 408/413/429/503 answers), and what is open now.
   */
  statistics(): Record<string, number> {
    let waiting = 0;
    for (const sender of this.senders.values()) waiting += sender.pending;
    return {
      ...this.counters.snapshot(),
      websocketsOpen: this.websocket?.size ?? 0,
      httpRequestsOpen: this.httpInterface?.openRequests ?? 0,
      httpBodyBytesHeld: this.httpInterface?.bodyBytesHeld ?? 0,
      messagesWaiting: waiting,
    };
  }

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    if (this.websocketSettings !== false) {
      const websocket = this.websocketOptions ?? this.resolveWebsocket(this.websocketSettings);
      const alias = websocket.layer;
      const { layer, router } = this.registry.get(alias);
      // With no routes here (an interface process of another module), the workers may consume it.
      const routed = router.channels;
      const sendsDisconnect = routed.length === 0 || routed.includes('websocket.disconnect');
      this.websocket = new WebsocketInterface(
        layer,
        websocket,
        this.dispatcher(alias),
        this.sender(alias),
        this.counters,
        sendsDisconnect,
      );
      this.websocket.attach(server);
    }
    const http = this.httpOptions;
    if (http !== false) {
      const { layer, router } = this.registry.get(http.layer);
      const dispatcher = this.dispatcher(http.layer);
      const routed = router.channels;
      this.httpInterface = new HttpInterface(
        layer,
        router,
        dispatcher,
        http,
        this.sender(http.layer),
        this.counters,
        routed.length === 0 || routed.includes('http.disconnect'),
      );
      limitRequestTimes(server, http);
      serveConnectRequests(server, this.httpInterface, http);
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
    for (const sender of this.senders.values()) sender.stop();
    this.senders.clear();
  }

  private resolveWebsocket(options: WebsocketInterfaceOptions): ResolvedWebsocketInterfaceOptions {
    const layer = this.registry.layer(options.layer);
    return resolveWebsocketInterfaceOptions(options, layer.groupExpiry, layer.maxMessageSize);
  }

  /** One fair sender per layer, shared by WebSockets and HTTP: their messages take turns. */
  private sender(alias: string): FairSender {
    let sender = this.senders.get(alias);
    if (!sender) {
      sender = new FairSender(this.registry.layer(alias));
      this.senders.set(alias, sender);
    }
    return sender;
  }

  private dispatcher(alias: string): ReplyDispatcher {
    let dispatcher = this.dispatchers.get(alias);
    if (!dispatcher) {
      const sender = this.sender(alias);
      dispatcher = new ReplyDispatcher(this.registry.layer(alias), 'interface', () => sender.nudge());
      this.dispatchers.set(alias, dispatcher);
    }
    return dispatcher;
  }
}

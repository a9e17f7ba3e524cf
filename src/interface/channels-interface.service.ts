import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { ChannelLayerRegistry } from '../module/channel-layer-registry';
import { CHANNELS_MODULE_OPTIONS } from '../module/channels.constants';
import type { ChannelsModuleOptions } from '../module/channels-module-options';
import { resolveWebsocketInterfaceOptions } from './interface-options';
import { WebsocketInterface } from './websocket-interface';

/**
 * Serves WebSockets over channels on the Nest app's own HTTP server (any adapter that exposes a
 * Node HTTP server). Application contexts without HTTP (worker processes) have none.
 */
@Injectable()
export class ChannelsInterfaceService implements OnApplicationBootstrap, OnModuleDestroy {
  private websocket: WebsocketInterface | undefined;
  private readonly logger = new Logger('ChannelsInterface');

  constructor(
    @Inject(CHANNELS_MODULE_OPTIONS) private readonly options: ChannelsModuleOptions,
    @Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** The WebSocket interface, when this process serves one. */
  get websockets(): WebsocketInterface | undefined {
    return this.websocket;
  }

  onApplicationBootstrap(): void {
    const settings = this.options.interface?.websocket;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (settings === false || !server) return;
    const options = settings ?? {};
    const layer = this.registry.layer(options.layer);
    this.websocket = new WebsocketInterface(layer, resolveWebsocketInterfaceOptions(options, layer.groupExpiry));
    this.websocket.attach(server);
    this.logger.log(`WebSockets over channels on layer "${options.layer ?? 'default'}"`);
  }

  /** Sockets close first (1001), so their disconnects reach workers that are still draining. */
  async onModuleDestroy(): Promise<void> {
    await this.websocket?.close();
    this.websocket = undefined;
  }
}

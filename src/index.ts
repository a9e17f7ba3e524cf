export * from './layers';
export { Message } from './channels/message';
export { Channel, type SendOptions } from './channels/channel';
export { Group } from './channels/group';
export { NoChannelLayer } from './channels/layer-resolver';
export { route, routeClass, include, Route, Include, type RouteMatch, type RoutingEntry } from './routing/route';
export { Router } from './routing/router';
export { RouteConfigurationError, type RouteFilters, type RouteKwargs } from './routing/filters';
export type {
  ClassConsumerInstance,
  ClassConsumerType,
  ConsumerFunction,
  ConsumerRef,
  ProviderMethodRef,
} from './routing/consumer-ref';
export { Consumer, type ConsumerOptions } from './consumers/consumer.decorator';
export { ConsumerMessage, Content, Kwargs } from './consumers/consumer-params.decorator';
export { CHANNELS_CONTEXT, getConsumerArgs, type ChannelsContextType } from './consumers/consumer-context';
export { ConsumeLater, ChannelSocketException, DenyConnection, WebsocketCloseException } from './consumers/exceptions';
export {
  ChannelsModule,
  type ChannelsModuleAsyncOptions,
  type ChannelsModuleRootOptions,
} from './module/channels.module';
export type {
  ChannelLayerBackend,
  ChannelLayerClass,
  ChannelLayerConfig,
  ChannelsModuleOptions,
  InterfaceModuleOptions,
  SecurityModuleOptions,
  ClientModuleOptions,
  WorkerModuleOptions,
} from './module/channels-module-options';
export type { WebsocketInterfaceOptions } from './interface/interface-options';
export { ChannelsInterfaceService } from './interface/channels-interface.service';
export { WebsocketInterface } from './interface/websocket-interface';
export { runServer, type RunServerOptions } from './interface/run-server';
export type { HttpInterfaceOptions } from './interface/http-interface';
export {
  encodeHttpResponse,
  readHttpRequest,
  sendHttpResponse,
  type ChannelsHttpRequest,
  type ChannelsHttpResponse,
} from './interface/http-helpers';
export { ChannelLayerRegistry, type ChannelLayerEntry } from './module/channel-layer-registry';
export { ChannelsService } from './module/channels.service';
export { InjectChannelLayer } from './module/inject-channel-layer.decorator';
export { getChannelLayerToken } from './module/channels.constants';
export { UnknownChannelLayer } from './module/unknown-channel-layer.error';
export { Worker, type ConsumerFinishedEvent, type ConsumerStartedEvent, type WorkerEvents } from './worker/worker';
export type { WorkerOptions } from './worker/worker-options';
export { ChannelsWorkerService } from './worker/channels-worker.service';
export { runWorker, type RunWorkerOptions } from './worker/run-worker';
export * from './sessions';
export * from './security';
export * from './generic';
export {
  createWebsocketBridgeMiddleware,
  serveWebsocketBridge,
  websocketBridgeResponse,
  websocketBridgeScript,
  WEBSOCKET_BRIDGE_PATH,
  type WebsocketBridgeMiddlewareOptions,
  type WebsocketBridgeResponse,
  type WebsocketBridgeScript,
} from './client/websocket-bridge.middleware';

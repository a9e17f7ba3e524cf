export * from './layers';
export { Message } from './channels/message';
export { headerValues, queryParams } from './channels/message-headers';
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
export type { ChannelsModuleOptions } from './module/channels-module-options';
export type { ChannelLayerBackend, ChannelLayerClass, ChannelLayerConfig } from './registry/channel-layer-config';
export type { InterfaceModuleOptions } from './interface/interface-options';
export type { SecurityModuleOptions } from './security/security-options';
export type { ClientModuleOptions } from './client/client-options';
export type { WebsocketInterfaceOptions } from './interface/websocket/websocket-options';
export { ChannelsInterfaceService } from './interface/channels-interface.service';
export type { InterfaceStatistics } from './interface/common/interface-statistics';
export { WebsocketInterface } from './interface/websocket/websocket-interface';
export { runServer, type RunServerOptions } from './process/run-server';
export type { AppFactory } from './process/app-factory';
export { ChannelsModuleMissing } from './process/channels-module-missing';
export type { HttpInterfaceOptions } from './interface/http/http-options';
export { readHttpRequest, type ChannelsHttpRequest } from './http/http-request';
export { RequestAborted, RequestTimeout } from './http/request-exceptions';
export { HTTP_BODY_CHANNEL_PATTERN, isHttpBodyChannel } from './http/body-channel';
export { encodeHttpResponse, sendHttpResponse, type ChannelsHttpResponse } from './http/http-response';
export { ChannelLayerRegistry, type ChannelLayerEntry } from './registry/channel-layer-registry';
export { ChannelsService, USER_SOCKETS_CLOSE_CODE, type CloseUserSocketsOptions } from './registry/channels.service';
export { InjectChannelLayer } from './registry/inject-channel-layer.decorator';
export { getChannelLayerToken } from './registry/registry.constants';
export { UnknownChannelLayer } from './registry/unknown-channel-layer.error';
export { userGroupName } from './registry/user-group';
export { printable } from './logging/printable';
export {
  Worker,
  type ConsumerFinishedEvent,
  type ConsumerStartedEvent,
  type WorkerEvents,
  type WorkerStatistics,
} from './worker/worker';
export type { WorkerModuleOptions, WorkerOptions } from './worker/worker-options';
export { ChannelsWorkerService } from './worker/channels-worker.service';
export { runWorker, type RunWorkerOptions } from './process/run-worker';
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
} from './client/websocket-bridge-script';

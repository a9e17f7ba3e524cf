export { BaseConsumer, type ConsumerAttributes, type ConsumerHandler } from './base-consumer';
export { WebsocketConsumer, websocketReply, type WebsocketFrame, type WebsocketReply } from './websocket-consumer';
export { JsonWebsocketConsumer } from './json-websocket-consumer';
export { WebsocketMultiplexer } from './websocket-multiplexer';
export { WebsocketDemultiplexer, type StreamConsumerType } from './websocket-demultiplexer';

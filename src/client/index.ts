/**
 * `nestjs-channels/client`: the browser client. This entry point holds browser code only; the Node helpers that serve
 * the bundled script (`websocket-bridge-script.ts`, `websocket-bridge-route.middleware.ts`) are not exported from here.
 */
export {
  DEFAULT_MAX_QUEUED_MESSAGES,
  WebSocketBridge,
  resolveWebSocketUrl,
  type BridgeStream,
  type MessageHandler,
  type PageLocation,
  type ReconnectOptions,
  type StreamFrame,
  type StreamHandler,
  type WebSocketBridgeOptions,
  type WebSocketClass,
} from './websocket-bridge';

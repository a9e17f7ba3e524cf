import { Inject, Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CHANNELS_CLIENT_OPTIONS } from './client.constants';
import type { ClientModuleOptions } from './client-options';
import {
  WEBSOCKET_BRIDGE_BUILD_COMMAND,
  WEBSOCKET_BRIDGE_PATH,
  websocketBridgeScript,
  websocketBridgeResponse,
  type WebsocketBridgeScript,
} from './websocket-bridge-script';

/**
 * Mounted by ChannelsModule (before HTTP over channels): serves the ready WebSocketBridge script
 * at `client.path` (default `/channels/websocketbridge.js`); `client: false` turns it off.
 */
@Injectable()
export class WebsocketBridgeRouteMiddleware implements NestMiddleware {
  private readonly path: string | undefined;
  private script: WebsocketBridgeScript | undefined;

  constructor(@Inject(CHANNELS_CLIENT_OPTIONS) options: ClientModuleOptions | false) {
    this.path = options === false ? undefined : (options.path ?? WEBSOCKET_BRIDGE_PATH);
    if (this.path === undefined) return;
    try {
      this.script = websocketBridgeScript();
    } catch {
      // Only in a source checkout that has not built it yet; the first request reports it.
      new Logger('WebSocketBridge').warn(`The client script is not built yet: run ${WEBSOCKET_BRIDGE_BUILD_COMMAND}`);
    }
  }

  use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void {
    if (this.path === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) return next();
    const url = (request as IncomingMessage & { originalUrl?: string }).originalUrl ?? request.url ?? '/';
    const query = url.indexOf('?');
    if ((query === -1 ? url : url.slice(0, query)) !== this.path) return next();
    try {
      this.script ??= websocketBridgeScript();
    } catch (error) {
      return next(error);
    }
    const answer = websocketBridgeResponse(request, this.script);
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body ?? undefined);
  }
}

import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChannelsInterfaceService } from './channels-interface.service';

/**
 * Mounted by ChannelsModule before the controllers: requests an `http.request` route takes go
 * over channels, the rest go on to Nest. Uses only Node's request/response, so any adapter works.
 */
@Injectable()
export class HttpChannelsMiddleware implements NestMiddleware {
  constructor(@Inject(ChannelsInterfaceService) private readonly interfaces: ChannelsInterfaceService) {}

  use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void {
    const http = this.interfaces.http;
    if (!http || this.interfaces.usesFastifyHook || !http.wants(request)) return next();
    http.handle(request, response).catch(next);
  }
}

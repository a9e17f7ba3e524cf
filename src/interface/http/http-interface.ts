import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isForwardedRequest } from '../../http/controllers-consumer';
import type { ChannelLayer } from '../../layers/channel-layer';
import { BurstLogger } from '../../logging/burst-logger';
import { printable } from '../../logging/printable';
import type { Router } from '../../routing/router';
import { FairSender, type FairQueue } from '../common/fair-sender';
import { InterfaceStatistics } from '../common/interface-statistics';
import type { ReplyDispatcher } from '../common/reply-dispatcher';
import { splitTarget } from '../common/request-fields';
import { BodyBudget } from './body-budget';
import { HttpExchange, plain, type HttpExchangeContext } from './http-exchange';
import type { ResolvedHttpInterfaceOptions } from './http-options';

const logger = new Logger('HttpInterface');

/** One client address: its requests open now, and its queue of `http.request` messages. */
interface ClientState {
  open: number;
  queue: FairQueue;
}

/**
 * HTTP over channels: a request an `http.request` route takes becomes that message; the
 * `http.response` replies (and their `more_content` chunks) are streamed back. Others go on to
 * the Nest controllers. Each request is an HttpExchange; this class holds what they share and the
 * caps: `maxRequests` open at once (503 beyond), `maxRequestsPerClient` per client address (429),
 * and the body budget.
 */
export class HttpInterface {
  private readonly context: HttpExchangeContext;
  private readonly sender: FairSender;
  private readonly clients = new Map<string, ClientState>();
  private open = 0;

  constructor(
    layer: ChannelLayer,
    private readonly router: Router,
    dispatcher: ReplyDispatcher,
    private readonly options: ResolvedHttpInterfaceOptions,
    /** The process's fair sender to the layer (shared with WebSockets); one of its own when not given. */
    sender?: FairSender,
    readonly statistics = new InterfaceStatistics(),
    /**
     * Whether the app consumes `http.disconnect`; when it has routes and none for it, no disconnect
     * is sent (it would only wait in a channel nobody reads, ahead of the client's next requests).
     */
    sendsDisconnect = true,
  ) {
    this.sender = sender ?? new FairSender(layer);
    this.context = {
      layer,
      dispatcher,
      settings: options,
      budget: new BodyBudget(options.bodyBuffer),
      statistics: this.statistics,
      refusedLog: new BurstLogger(logger, 'HTTP requests refused (408, 413, 429, 503)'),
      sendsDisconnect,
    };
  }

  /** Requests over channels open now. */
  get openRequests(): number {
    return this.open;
  }

  /** Bytes of request bodies this process has in the layer now (at most `bodyBuffer`). */
  get bodyBytesHeld(): number {
    return this.context.budget.inUse;
  }

  /**
   * Room for `bytes` of a body read outside an exchange (a CONNECT request's), from the process's
   * body budget, waiting up to `backpressureTimeout`; give it back with `releaseBodyBytes`.
   */
  takeBodyBytes(bytes: number): Promise<boolean> {
    return this.context.budget.take(bytes, this.context.settings.backpressureTimeoutMs);
  }

  releaseBodyBytes(bytes: number): void {
    this.context.budget.release(bytes);
  }

  /** Whether the request goes over channels: every one in `all` mode, else those a route takes. */
  wants(request: IncomingMessage): boolean {
    if (isForwardedRequest(request)) return false; // a worker running the controllers for a message
    if (this.options.all) return true;
    const { path, query } = splitTarget(request.url ?? '/');
    return (
      this.router.matchContent('http.request', {
        path,
        method: (request.method ?? 'GET').toUpperCase(),
        query_string: query,
        http_version: request.httpVersion,
      }) !== null
    );
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const address = this.clientAddress(request);
    if (this.open >= this.options.maxRequests) {
      this.statistics.httpRefused503++;
      return this.refuse(request, response, 503, `${this.options.maxRequests} requests are open (maxRequests)`);
    }
    let client = this.clients.get(address);
    if (client && client.open >= this.options.maxRequestsPerClient) {
      this.statistics.httpRefused429++;
      return this.refuse(
        request,
        response,
        429,
        `client ${printable(address)} has ${client.open} requests open (maxRequestsPerClient)`,
      );
    }
    if (!client) client = this.newClient(address);
    const state = client;
    state.open++;
    this.open++;
    const exchange = new HttpExchange(this.context, request, response, state.queue, () => {
      this.open--;
      state.open--;
      this.forgetIfIdle(address, state);
    });
    await exchange.run();
  }

  private newClient(address: string): ClientState {
    // Each request hears about its own messages; the queue only says when it ran dry.
    const owner = {
      sent: () => this.forgetIfIdle(address, state),
      failed: () => this.forgetIfIdle(address, state),
    };
    const state: ClientState = {
      open: 0,
      queue: this.sender.queue(owner, this.context.settings.backpressureTimeoutMs),
    };
    this.clients.set(address, state);
    return state;
  }

  /** A client with nothing open and nothing queued is forgotten (the map holds only active clients). */
  private forgetIfIdle(address: string, state: ClientState): void {
    if (state.open === 0 && state.queue.pending === 0 && this.clients.get(address) === state) {
      this.clients.delete(address);
    }
  }

  /** The client's address, as proxy headers give it when trusted; requests are capped per address. */
  private clientAddress(request: IncomingMessage): string {
    if (this.context.settings.proxyHeaders) {
      const forwarded = String(request.headers['x-forwarded-for'] ?? '')
        .split(',')[0]
        .trim();
      if (forwarded) return forwarded;
    }
    return request.socket.remoteAddress ?? 'unknown';
  }

  private refuse(request: IncomingMessage, response: ServerResponse, status: 429 | 503, why: string): void {
    this.context.refusedLog.event(
      `Answered ${status} to ${request.method} ${printable(splitTarget(request.url ?? '/').path)}: ${why}`,
    );
    plain(
      response,
      status,
      status === 429 ? 'Too many requests: try again later' : 'The server is busy: try again later',
      {
        'retry-after': '1',
      },
    );
  }
}

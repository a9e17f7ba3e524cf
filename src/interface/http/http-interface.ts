import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelLayer } from '../../layers/channel-layer';
import { ChannelFull } from '../../layers/errors';
import type { ChannelMessage } from '../../layers/channel-message';
import type { Router } from '../../routing/router';
import { BODY_CHUNK } from '../../http/body-chunk';
import { isForwardedRequest } from '../../http/controllers-consumer';
import type { ReplyDispatcher } from '../common/reply-dispatcher';
import { splitTarget } from '../common/request-fields';
import type { HttpInterfaceOptions } from './http-options';
import { httpRequestMessage } from './request-message';

const logger = new Logger('HttpInterface');

function plain(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body as bytes: from the stream, or from what a body parser left behind. */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | null> {
  const parsed = request as IncomingMessage & { rawBody?: Buffer; body?: unknown; _body?: boolean };
  if (parsed.rawBody instanceof Buffer) return parsed.rawBody;
  if (parsed._body || request.readableEnded) {
    // A body parser ran first (Nest's, without rawBody: true): re-encode what it parsed.
    const type = String(request.headers['content-type'] ?? '');
    if (parsed.body === undefined) return Buffer.alloc(0);
    if (type.includes('json')) return Buffer.from(JSON.stringify(parsed.body));
    if (type.includes('urlencoded')) {
      return Buffer.from(new URLSearchParams(parsed.body as Record<string, string>).toString());
    }
    return Buffer.isBuffer(parsed.body) ? parsed.body : Buffer.from(String(parsed.body));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * HTTP over channels: a request an `http.request` route takes becomes that message; the
 * `http.response` replies (and their `more_content` chunks) are streamed back. Others go on to
 * the Nest controllers.
 */
export class HttpInterface {
  private readonly timeoutMs: number;
  private readonly maxBodySize: number;
  private readonly proxyHeaders: boolean;
  private readonly all: boolean;

  constructor(
    private readonly layer: ChannelLayer,
    private readonly router: Router,
    private readonly dispatcher: ReplyDispatcher,
    options: HttpInterfaceOptions = {},
  ) {
    this.timeoutMs = (options.timeout ?? 60) * 1000;
    if (!(this.timeoutMs > 0)) throw new TypeError(`HTTP timeout must be a positive number of seconds`);
    this.maxBodySize = options.maxBodySize ?? 10 * 1024 * 1024;
    this.proxyHeaders = options.proxyHeaders ?? false;
    this.all = options.mode === 'all';
  }

  /** Whether the request goes over channels: every one in `all` mode, else those a route takes. */
  wants(request: IncomingMessage): boolean {
    if (isForwardedRequest(request)) return false; // a worker running the controllers for a message
    if (this.all) return true;
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
    const body = await readBody(request, this.maxBodySize);
    if (body === null) return plain(response, 413, 'Request body too large');
    let started = false;
    let finished = false;
    const replyChannel = this.dispatcher.open((reply) => onReply(reply));
    const done = (): void => {
      finished = true;
      clearTimeout(timer);
      this.dispatcher.close(replyChannel);
    };
    const onReply = (reply: ChannelMessage): void => {
      if (finished) return;
      if (!started) {
        const status = reply.status;
        if (typeof status !== 'number' || !Number.isInteger(status))
          throw new TypeError('an HTTP response needs a status');
        const headers = ((reply.headers ?? []) as Uint8Array[][]).flatMap(([name, value]) => [
          Buffer.from(name).toString('latin1'),
          Buffer.from(value).toString('latin1'),
        ]);
        response.writeHead(status, headers);
        started = true;
      }
      if (reply.content instanceof Uint8Array && reply.content.length > 0) response.write(reply.content);
      if (!reply.more_content) {
        response.end();
        done();
      }
    };
    // 503 only before the response starts: a started response is never cut by the timer.
    const timer = setTimeout(() => {
      if (started || finished) return;
      plain(response, 503, 'No response from the application in time');
      done();
    }, this.timeoutMs);
    response.once('close', () => {
      if (finished) return;
      done();
      // Best effort: the client went away before the answer (a long poll, say).
      this.layer
        .send('http.disconnect', { reply_channel: replyChannel, path: splitTarget(request.url ?? '/').path })
        .catch(() => undefined);
    });
    const first = body.subarray(0, BODY_CHUNK);
    const bodyChannel = body.length > BODY_CHUNK ? await this.layer.newChannel('http.request.body?') : undefined;
    try {
      await this.layer.send(
        'http.request',
        httpRequestMessage(request, replyChannel, first, bodyChannel, this.proxyHeaders),
      );
      for (let offset = BODY_CHUNK; bodyChannel && offset < body.length; offset += BODY_CHUNK) {
        const content = body.subarray(offset, offset + BODY_CHUNK);
        await this.layer.send(bodyChannel, { content, more_content: offset + BODY_CHUNK < body.length, closed: false });
      }
    } catch (error) {
      if (!(error instanceof ChannelFull)) logger.error(`Could not send http.request: ${(error as Error).message}`);
      plain(response, 503, 'The server is busy: try again later');
      done();
    }
  }
}

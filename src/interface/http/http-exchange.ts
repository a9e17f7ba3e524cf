import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelLayer } from '../../layers/channel-layer';
import type { ChannelMessage } from '../../layers/channel-message';
import { ChannelFull, MessageTooLarge } from '../../layers/errors';
import { BODY_CHUNK } from '../../http/body-chunk';
import { HTTP_BODY_CHANNEL_PATTERN } from '../../http/body-channel';
import type { BurstLogger } from '../../logging/burst-logger';
import { printable } from '../../logging/printable';
import type { FairQueue, FairSendFailure, QueuedMessage } from '../common/fair-sender';
import type { InterfaceStatistics } from '../common/interface-statistics';
import type { ReplyDispatcher } from '../common/reply-dispatcher';
import { splitTarget } from '../common/request-fields';
import type { BodyBudget } from './body-budget';
import { BodyAborted, BodyReader, BodyStalled } from './body-reader';
import type { ResolvedHttpInterfaceOptions } from './http-options';
import { httpRequestMessage } from './request-message';

const logger = new Logger('HttpInterface');
const EMPTY = Buffer.alloc(0);

/** First and longest wait between looks at whether the consumer has read the body so far. */
const FIRST_LOOK_MS = 10;
const LAST_LOOK_MS = 200;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What every exchange of one interface shares. */
export interface HttpExchangeContext {
  readonly layer: ChannelLayer;
  readonly dispatcher: ReplyDispatcher;
  readonly settings: ResolvedHttpInterfaceOptions;
  readonly budget: BodyBudget;
  readonly statistics: InterfaceStatistics;
  /** One warning per burst of refused requests. */
  readonly refusedLog: BurstLogger;
  /** Whether anything consumes `http.disconnect` (no route for it in this app: none is sent). */
  readonly sendsDisconnect: boolean;
}

/** Writes a short plain-text answer, unless the response has started. */
export function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The body as a parser left it (Nest's, without `rawBody: true`), re-encoded; undefined when no parser ran. */
function parsedBody(request: IncomingMessage): Buffer | undefined {
  const parsed = request as IncomingMessage & { rawBody?: Buffer; body?: unknown; _body?: boolean };
  if (parsed.rawBody instanceof Buffer) return parsed.rawBody;
  if (!parsed._body && !request.readableEnded) return undefined;
  const type = String(request.headers['content-type'] ?? '');
  if (parsed.body === undefined) return Buffer.alloc(0);
  if (type.includes('json')) return Buffer.from(JSON.stringify(parsed.body));
  if (type.includes('urlencoded'))
    return Buffer.from(new URLSearchParams(parsed.body as Record<string, string>).toString());
  return Buffer.isBuffer(parsed.body) ? parsed.body : Buffer.from(String(parsed.body));
}

/**
 * One request over channels, from its first body byte to the end of its answer. The body is read
 * from the socket as it is sent on: the first 512 KiB in `http.request`, the rest in chunks on a
 * body channel, never more than `bodyWindow` ahead of the consumer and only within the process's
 * `BodyBudget`; meanwhile the socket is not read, so an unread body costs nothing here. The
 * `http.request` goes out through the client's queue on the FairSender, taking turns with other
 * clients. The `http.response` parts come back through the reply dispatcher.
 */
export class HttpExchange {
  private started = false;
  private finished = false;
  /** Aborted when the exchange ends: made only for a wait that needs it (most requests have no body). */
  private stop: AbortController | undefined;
  private replyChannel: string | undefined;
  /** The `http.request` while it waits in the client's queue (it can be taken back till it is sent). */
  private queued: QueuedMessage | undefined;
  private bodyChannel: string | undefined;
  private responseTimer: NodeJS.Timeout | undefined;
  /** Budget bytes this request holds. */
  private held = 0;
  /** Body chunks sent on the body channel (their sizes), and how many the consumer has read. */
  private readonly chunkSizes: number[] = [];
  private consumed = 0;
  /** Whether the whole body reached the layer. */
  private bodySent = false;
  /** Bytes of body carried in the `http.request` message itself. */
  private firstBytes = 0;
  /** The body's length, when the client declared it (`Content-Length`). */
  private declared: number | undefined;
  private readonly path: string;

  constructor(
    private readonly context: HttpExchangeContext,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly queue: FairQueue,
    /** Called once when the exchange is over, whatever ended it. */
    private readonly ended: () => void,
  ) {
    this.path = splitTarget(request.url ?? '/').path;
  }

  async run(): Promise<void> {
    const { settings, statistics } = this.context;
    this.response.once('close', () => this.clientLeft());
    const declared = Number(this.request.headers['content-length']);
    if (Number.isFinite(declared) && declared > settings.maxBodySize) {
      statistics.httpRefused413++;
      return this.refuse(413, 'Request body too large', `a declared body of ${declared} bytes`);
    }
    const parsed = parsedBody(this.request);
    // HTTP/1.1: without Content-Length or Transfer-Encoding a request has no body at all.
    const chunked = this.request.headers['transfer-encoding'] !== undefined;
    this.declared = Number.isFinite(declared) ? declared : chunked ? undefined : 0;
    // Most requests have no body: nothing to read, wait for or budget.
    const reader =
      this.declared === 0 && parsed === undefined
        ? undefined
        : new BodyReader(parsed ?? this.request, settings.bodyTimeoutMs);
    // Room is taken before a byte is read: a request waiting for it leaves its body with the client.
    const first = reader ? await this.reserveAndRead(reader) : EMPTY;
    if (first === undefined) return;
    this.firstBytes = first.length;
    if (reader && !reader.ended) this.bodyChannel = await this.context.layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    if (this.finished) return;
    this.replyChannel = this.context.dispatcher.open((reply) => this.onReply(reply));
    const message = httpRequestMessage(
      this.request,
      this.replyChannel,
      first,
      this.bodyChannel,
      settings.proxyHeaders,
      settings.rootPath,
    );
    const failure = await new Promise<FairSendFailure | undefined>((settled) => {
      this.queued = this.queue.push('http.request', message, 0, settled);
    });
    this.queued = undefined;
    if (failure) return this.requestNotSent(failure);
    if (this.finished) return;
    // 503 only before the response starts: a started response is never cut by the timer.
    this.responseTimer = setTimeout(() => {
      if (this.started || this.finished) return;
      statistics.httpRefused503++;
      this.refuse(503, 'No response from the application in time');
    }, settings.timeoutMs);
    if (reader) await this.streamBody(reader);
    else this.bodySent = true;
  }

  /** The next piece of the body, or undefined when the exchange had to end (408, 413, client gone). */
  private async readBody(reader: BodyReader): Promise<Buffer | undefined> {
    let piece: Buffer;
    try {
      piece = await reader.read(BODY_CHUNK);
    } catch (error) {
      if (this.finished) return undefined;
      if (error instanceof BodyStalled) {
        this.context.statistics.httpRefused408++;
        this.refuse(408, 'Request body timed out', `no body bytes for ${this.context.settings.bodyTimeoutMs / 1000} s`);
        this.request.destroy();
        return undefined;
      }
      // The client went away mid-body: nothing to answer, nothing worth an error log.
      logger.debug(
        `A request body on ${printable(this.path)} was cut short: ${printable((error as BodyAborted).message)}`,
      );
      this.finish(true);
      return undefined;
    }
    if (reader.total > this.context.settings.maxBodySize) {
      this.context.statistics.httpRefused413++;
      this.refuse(413, 'Request body too large', `a body over ${this.context.settings.maxBodySize} bytes`);
      return undefined;
    }
    return this.finished ? undefined : piece;
  }

  /**
   * The next piece of the body, read only once the budget for it is taken (what the piece turns
   * out not to need is given back); undefined when the exchange had to end.
   */
  private async reserveAndRead(reader: BodyReader): Promise<Buffer | undefined> {
    const left = this.declared === undefined ? BODY_CHUNK : Math.max(0, this.declared - reader.total);
    const wanted = Math.min(BODY_CHUNK, left);
    await this.waitForRoom(wanted);
    if (this.finished || !(await this.reserve(wanted))) return undefined;
    const piece = await this.readBody(reader);
    if (piece !== undefined && piece.length < wanted) this.giveBack(wanted - piece.length);
    return piece;
  }

  /** Takes budget for `bytes` (waiting up to `backpressureTimeout`); answers 503 when there is none. */
  private async reserve(bytes: number): Promise<boolean> {
    const { budget, settings } = this.context;
    if (bytes === 0) return true;
    if (!(await budget.take(bytes, settings.backpressureTimeoutMs, this.stopSignal()))) {
      if (this.finished) return false;
      this.context.statistics.httpRefused503++;
      this.refuse(503, 'The server is busy: try again later', `no room in the body buffer (${budget.limit} bytes)`);
      return false;
    }
    this.held += bytes;
    return true;
  }

  private requestNotSent(failure: FairSendFailure): void {
    if (this.finished) return;
    const { statistics } = this.context;
    if (failure.reason === 'error' && failure.error instanceof MessageTooLarge) {
      statistics.httpRefused413++;
      return this.refuse(413, 'Request too large', printable(failure.error.message));
    }
    statistics.httpRefused503++;
    const why =
      failure.reason === 'full'
        ? `${failure.channel} stayed full for ${this.context.settings.backpressureTimeoutMs / 1000} s`
        : failure.reason === 'error'
          ? printable(failure.error.message)
          : 'dropped';
    this.refuse(503, 'The server is busy: try again later', why);
  }

  /** Sends the rest of the body on the body channel, keeping within the window and the budget. */
  private async streamBody(reader: BodyReader): Promise<void> {
    const channel = this.bodyChannel;
    if (channel === undefined) {
      this.bodySent = true;
      return;
    }
    while (!this.finished) {
      const chunk = await this.reserveAndRead(reader);
      if (chunk === undefined) return;
      const more = !reader.ended;
      if (!(await this.sendChunk(channel, { content: chunk, more_content: more, closed: false }))) return;
      this.chunkSizes.push(chunk.length);
      if (!more) {
        this.bodySent = true;
        return;
      }
    }
  }

  /** Waits while this request has `bodyWindow` bytes unread in its body channel. */
  private async waitForRoom(bytes: number): Promise<void> {
    const { layer, settings } = this.context;
    if (!layer.channelStatistics) return; // no way to see the consumer read: the budget alone bounds it
    let delay = FIRST_LOOK_MS;
    while (!this.finished && this.unread() + bytes > settings.bodyWindow && this.unread() > 0) {
      await sleep(delay);
      delay = Math.min(delay * 2, LAST_LOOK_MS);
      await this.learnConsumed();
    }
  }

  /** Budget bytes the consumer no longer needs from us. */
  private giveBack(bytes: number): void {
    const given = Math.min(bytes, this.held);
    this.held -= given;
    this.context.budget.release(given);
  }

  /** Bytes sent on the body channel that the consumer has not read (as far as we know). */
  private unread(): number {
    let bytes = 0;
    for (let i = this.consumed; i < this.chunkSizes.length; i++) bytes += this.chunkSizes[i];
    return bytes;
  }

  /** Looks at the body channel: what the consumer read gives its budget back. */
  private async learnConsumed(): Promise<void> {
    if (this.bodyChannel === undefined || this.finished) return;
    const stats = await this.context.layer.channelStatistics!(this.bodyChannel).catch(() => undefined);
    const pending = stats?.messages_pending;
    if (pending === undefined) return;
    const read = Math.max(this.consumed, this.chunkSizes.length - pending);
    for (; this.consumed < read; this.consumed++) this.giveBack(this.chunkSizes[this.consumed]);
  }

  /** Sends one body chunk, waiting while its channel is full; false when the exchange ended meanwhile. */
  private async sendChunk(channel: string, chunk: ChannelMessage): Promise<boolean> {
    let delay = FIRST_LOOK_MS;
    while (!this.finished) {
      try {
        await this.context.layer.send(channel, chunk);
        return true;
      } catch (error) {
        if (!(error instanceof ChannelFull)) {
          this.context.statistics.httpRefused503++;
          this.refuse(503, 'The server is busy: try again later', printable((error as Error).message));
          return false;
        }
        await sleep(delay);
        delay = Math.min(delay * 2, LAST_LOOK_MS);
      }
    }
    return false;
  }

  /** An `http.response` part from the app. */
  private onReply(reply: ChannelMessage): void {
    if (this.finished) return;
    if (!this.started) {
      const status = reply.status;
      if (typeof status !== 'number' || !Number.isInteger(status))
        throw new TypeError('an HTTP response needs a status');
      // Values grouped by name: given flat pairs, Node keeps only the last of a repeated name once the
      // framework has set a header of its own (two Set-Cookie lines would arrive as one).
      // Grouped case-insensitively (`Set-Cookie` and `set-cookie` are one header), written with the
      // first spelling the app used.
      const headers = new Map<string, [string, string[]]>();
      for (const [name, value] of (reply.headers ?? []) as Uint8Array[][]) {
        const text = Buffer.from(name).toString('latin1');
        const entry = headers.get(text.toLowerCase()) ?? [text, []];
        entry[1].push(Buffer.from(value).toString('latin1'));
        headers.set(text.toLowerCase(), entry);
      }
      this.response.writeHead(status, Object.fromEntries(headers.values()));
      this.started = true;
      // The app has the request: its first body piece is no longer ours to count.
      this.giveBack(this.firstBytes);
    }
    const content = reply.content instanceof Uint8Array && reply.content.length > 0 ? reply.content : undefined;
    if (reply.more_content) {
      if (content) this.response.write(content);
      return;
    }
    // The last part and the end in one call: Node writes them (and the headers) at once.
    if (content) this.response.end(content);
    else this.response.end();
    this.finish(false);
  }

  /** Aborted once the exchange has ended (at once if it already has). */
  private stopSignal(): AbortSignal {
    this.stop ??= new AbortController();
    if (this.finished) this.stop.abort();
    return this.stop.signal;
  }

  /** Answers with a short status (when the response has not started) and ends the exchange. */
  private refuse(status: number, text: string, why?: string): void {
    if (this.finished) return;
    if (why !== undefined) {
      this.context.refusedLog.event(`Answered ${status} to ${this.request.method} ${printable(this.path)}: ${why}`);
    }
    plain(this.response, status, text, status === 503 || status === 429 ? { 'retry-after': '1' } : {});
    this.finish(false);
  }

  /**
   * The client went away: before its answer, the app hears `http.disconnect`, if the request reached
   * it and the app consumes that channel. A request still waiting for its turn is taken back.
   */
  private clientLeft(): void {
    if (this.finished) return;
    const reached = this.replyChannel !== undefined && !(this.queued && this.queue.withdraw(this.queued));
    this.finish(true);
    if (!reached || !this.context.sendsDisconnect) return;
    this.queue.push('http.disconnect', { reply_channel: this.replyChannel!, path: this.path }, 0, (failure) => {
      if (failure) this.context.statistics.httpDisconnectsDropped++;
    });
  }

  private finish(clientGone: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.stop?.abort();
    clearTimeout(this.responseTimer);
    if (this.replyChannel !== undefined) this.context.dispatcher.close(this.replyChannel);
    this.context.budget.release(this.held);
    this.held = 0;
    if (this.bodyChannel !== undefined) void this.discardBody(this.bodyChannel, clientGone && !this.bodySent);
    this.ended();
  }

  /**
   * What the consumer left in the body channel would sit in the layer until it expired: take it
   * out. If the client left mid-body, a last `closed` chunk tells a consumer still reading.
   */
  private async discardBody(channel: string, closed: boolean): Promise<void> {
    const { layer } = this.context;
    try {
      for (let left = this.chunkSizes.length; left > 0; left--) {
        const [taken] = await layer.receive([channel]);
        if (taken === null) break;
      }
      if (closed) await layer.send(channel, { content: Buffer.alloc(0), more_content: false, closed: true });
    } catch {
      // Best effort: what is left expires with the channel.
    }
  }
}

import { Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ChannelLayer } from '../../layers/channel-layer';
import type { ChannelMessage } from '../../layers/channel-message';
import { ChannelFull, MessageTooLarge } from '../../layers/errors';
import type { BurstLogger } from '../../logging/burst-logger';
import { printable } from '../../logging/printable';
import type { FairGiveUp, FairQueue, FairQueueOwner, FairSender } from '../common/fair-sender';
import type { InterfaceStatistics } from '../common/interface-statistics';
import { frameRoom, type ResolvedWebsocketInterfaceOptions } from './websocket-options';

const REPLY_KEYS = new Set(['accept', 'text', 'bytes', 'close']);
const ignoreError = (): void => undefined;
const CONNECTION = Symbol('nestjs-channels:connection');
type OwnedWebSocket = WebSocket & { [CONNECTION]: WebsocketConnection };
const owner = (ws: WebSocket): WebsocketConnection => (ws as OwnedWebSocket)[CONNECTION];

function onPong(this: WebSocket): void {
  owner(this).ponged();
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  owner(this).received(data, isBinary);
}

function onClose(this: WebSocket, code: number): void {
  owner(this).finish(code);
}
const logger = new Logger('WebsocketInterface');

/** What a queued frame counts for besides its payload (the message object around it). */
const FRAME_OVERHEAD_BYTES = 128;
/** How long a socket closed for load gets to answer the close before it is dropped. */
const CLOSE_GRACE_MS = 1000;
/** Close codes: the server is overloaded, try again later; a message too big to process. */
const TRY_AGAIN_LATER = 1013;
const MESSAGE_TOO_BIG = 1009;

/** What every connection of one interface shares (one object, so an idle socket holds one reference). */
export interface WebsocketContext {
  readonly wss: WebSocketServer;
  readonly layer: ChannelLayer;
  readonly sender: FairSender;
  readonly options: ResolvedWebsocketInterfaceOptions;
  readonly statistics: InterfaceStatistics;
  /** Whether anything consumes `websocket.disconnect` (no route for it in this app: none is sent). */
  readonly sendsDisconnect: boolean;
  /** One warning per burst of sockets closed with 1013 / 1009, and of disconnects that could not be sent. */
  readonly closedLog: BurstLogger;
  readonly disconnectLog: BurstLogger;
  readonly onClosed: (connection: WebsocketConnection) => void;
}

/** Answers a held handshake with a plain HTTP status and drops the socket. */
export function refuse(socket: Duplex, status: 403 | 503, reason: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref(); // if the client never closes its side
}

/**
 * One WebSocket client: its handshake is held until the connect consumer answers on the reply
 * channel; frames become `websocket.receive`, the close becomes `websocket.disconnect`.
 *
 * Frames and the disconnect go out through the connection's own queue on the interface's
 * FairSender: in order, taking turns with the other sockets, waiting (not failing) while the
 * channel is full. A socket whose queue grows past `receiveAllowance` is paused (TCP back-pressure)
 * until half of it is sent; one that still floods past the queue limits, or whose next frame waits
 * longer than `backpressureTimeout`, is closed with 1013 alone. Every close sends the disconnect.
 */
export class WebsocketConnection implements FairQueueOwner {
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Activity clock for keepalive (ms): data frames and pings. */
  lastActivity = Date.now();
  /** Last data frame either way (ms), for the idle timeout. */
  lastData = Date.now();
  pingSentAt: number | undefined;
  openedAt = 0;
  private ws: WebSocket | undefined;
  private order = 0;
  /** Made on the first frame: an idle socket has none. */
  private queue: FairQueue | undefined;
  /** Reading from the socket is paused until its queue drains. */
  private paused = false;
  /** The code this socket was closed with for load (its frames are not wanted any more), if it was. */
  private closedForLoad: number | undefined;
  /**
   * Whether the layer took the `websocket.connect` (only then does a disconnect follow), and the
   * close code when the socket closed before it knew.
   */
  private connectState: 'unsent' | 'sending' | 'sent' | 'failed' = 'unsent';
  private closedWhileSending: number | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Whether replies are being gathered into one socket write until the current tick ends. */
  private corked = false;
  /** Largest frame this socket may send: the layer's room once its path and reply channel are in. */
  private frameLimit = Infinity;

  /** The held handshake: let go of once it is answered (an idle socket should not keep its request). */
  private request: IncomingMessage | undefined;
  private head: Buffer | undefined;

  constructor(
    readonly replyChannel: string,
    readonly path: string,
    request: IncomingMessage,
    private readonly socket: Duplex,
    head: Buffer,
    private readonly context: WebsocketContext,
  ) {
    this.request = request;
    this.head = head;
    socket.on('error', ignoreError);
    socket.once('close', this.closedWhileConnecting);
  }

  /** Sends `websocket.connect` and waits up to `timeoutMs` for the answer. */
  async connect(message: ChannelMessage, timeoutMs: number): Promise<void> {
    this.connectTimer = setTimeout(() => this.reject(403, 'Forbidden'), timeoutMs);
    this.connectState = 'sending';
    try {
      await this.context.layer.send('websocket.connect', message);
      this.connectState = 'sent';
      if (this.closedWhileSending !== undefined) this.sendDisconnect(this.closedWhileSending);
    } catch (error) {
      this.connectState = 'failed';
      this.context.statistics.websocketHandshakesRefused++;
      if (!(error instanceof ChannelFull)) {
        logger.warn(
          `Could not send websocket.connect for ${printable(this.path)}: ${printable((error as Error).message)}`,
        );
      }
      this.reject(503, 'Service Unavailable');
    }
  }

  /** A reply from the app: accept, text, bytes, close, in that order. */
  onReply(message: ChannelMessage): void {
    for (const key of Object.keys(message)) {
      if (!REPLY_KEYS.has(key)) throw new TypeError(`a WebSocket reply may not contain "${key}"`);
    }
    const text = typeof message.text === 'string' && message.text !== '' ? message.text : undefined;
    const bytes = message.bytes instanceof Uint8Array && message.bytes.length > 0 ? message.bytes : undefined;
    if (text !== undefined && bytes !== undefined) throw new TypeError('a WebSocket reply has both text and bytes');
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      if (message.accept === false) return this.reject(403, 'Forbidden');
      if (message.accept || text !== undefined || bytes !== undefined) this.accept();
      else if (message.close) return this.reject(403, 'Forbidden');
    }
    const ws = this.ws;
    if (this.state !== 'open' || !ws) return;
    if (bytes !== undefined || text !== undefined) this.corkUntilTickEnds();
    if (bytes !== undefined) ws.send(bytes, { binary: true });
    if (text !== undefined) ws.send(text);
    if (bytes !== undefined || text !== undefined) this.lastActivity = this.lastData = Date.now();
    if (message.close) this.close(typeof message.close === 'number' ? message.close : 1000);
  }

  /** Closes an open socket with a code (an invalid one becomes 1000). */
  close(code: number): void {
    if (this.state !== 'open' || !this.ws) return;
    try {
      this.ws.close(code);
    } catch {
      this.ws.close(1000);
    }
  }

  /** Drops the connection without a closing handshake (dead peer). */
  terminate(): void {
    if (this.ws) this.ws.terminate();
    else this.socket.destroy();
  }

  ping(): void {
    this.pingSentAt = Date.now();
    this.lastActivity = this.pingSentAt;
    this.ws?.ping();
  }

  /**
   * Replies come in bursts (one reply loop serves every socket); gathering a burst's frames into
   * one write saves a syscall per frame, which is most of a frame's cost.
   */
  private corkUntilTickEnds(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private readonly closedWhileConnecting = (): void => {
    if (this.state === 'connecting') this.finish(1006);
  };

  private accept(): void {
    const { request, head } = this;
    this.handshakeAnswered();
    if (!request || !head) return;
    this.context.wss.handleUpgrade(request, this.socket, head, (ws) => this.opened(ws));
    if (this.state === 'connecting') this.finish(1006); // the upgrade itself was invalid
  }

  private reject(status: 403 | 503, reason: string): void {
    if (this.state !== 'connecting') return;
    this.handshakeAnswered();
    refuse(this.socket, status, reason);
    this.finish(1006);
  }

  private handshakeAnswered(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.request = undefined;
    this.head = undefined;
  }

  private opened(ws: WebSocket): void {
    // ws listens on the socket from here on.
    this.socket.off('error', ignoreError);
    this.socket.off('close', this.closedWhileConnecting);
    this.ws = ws;
    this.state = 'open';
    this.openedAt = Date.now();
    this.lastActivity = this.lastData = this.openedAt;
    const { maxMessageSize } = this.context.options;
    if (maxMessageSize !== undefined) this.frameLimit = frameRoom(maxMessageSize, this.replyChannel, this.path);
    // Shared listeners that find the connection on the socket: no closures per idle socket.
    (ws as OwnedWebSocket)[CONNECTION] = this;
    ws.on('error', ignoreError);
    ws.on('pong', onPong);
    ws.on('message', onMessage);
    ws.once('close', onClose);
  }

  /** @internal A pong came: the peer is alive. */
  ponged(): void {
    this.pingSentAt = undefined;
  }

  /** @internal A frame from the client. */
  received(data: Buffer, isBinary: boolean): void {
    if (this.closedForLoad !== undefined || this.state !== 'open') return;
    if (data.length > this.frameLimit) return this.closeForLoad(MESSAGE_TOO_BIG, `a frame of ${data.length} bytes`);
    this.lastActivity = this.lastData = Date.now();
    const frame: ChannelMessage = { reply_channel: this.replyChannel, path: this.path, order: ++this.order };
    if (isBinary) frame.bytes = data;
    else frame.text = data.toString('utf8');
    const queue = (this.queue ??= this.context.sender.queue(this, this.context.options.backpressureTimeoutMs));
    queue.push('websocket.receive', frame, data.length + FRAME_OVERHEAD_BYTES);
    const { receiveAllowance, maxQueuedFrames, maxQueuedBytes } = this.context.options;
    if (queue.pending <= receiveAllowance) return;
    this.context.statistics.websocketFramesDelayed++;
    if (queue.pending > maxQueuedFrames || queue.pendingBytes > maxQueuedBytes) {
      return this.closeForLoad(TRY_AGAIN_LATER, `${queue.pending} frames (${queue.pendingBytes} bytes) waiting`);
    }
    if (!this.paused) {
      this.paused = true;
      this.context.statistics.websocketPauses++;
      this.ws?.pause();
    }
  }

  /** @internal Its queue sent a message: read from the socket again once half the allowance is free. */
  sent(queue: FairQueue): void {
    if (this.paused && queue.pending <= this.context.options.receiveAllowance / 2) {
      this.paused = false;
      if (this.state === 'open') this.ws?.resume();
    }
  }

  /** @internal Its queue gave up: a frame waited too long for room, or the layer refused one. */
  failed(_queue: FairQueue, failure: FairGiveUp): void {
    if (failure.channel === 'websocket.disconnect') {
      this.context.statistics.websocketDisconnectsDropped++;
      const why = failure.reason === 'full' ? 'the channel stayed full' : printable(failure.error.message);
      this.context.disconnectLog.event(
        `Could not send websocket.disconnect for ${printable(this.path)}: ${why}; its groups and session ` +
          'are left to expire',
      );
      return;
    }
    if (failure.reason === 'error' && failure.error instanceof MessageTooLarge) {
      return this.closeForLoad(MESSAGE_TOO_BIG, printable(failure.error.message));
    }
    const why =
      failure.reason === 'full'
        ? `${failure.channel} stayed full for ${this.context.options.backpressureTimeoutMs / 1000} s`
        : printable(failure.error.message);
    this.closeForLoad(TRY_AGAIN_LATER, why);
  }

  /**
   * Closes this socket alone (1013: flooding or no room; 1009: too big), dropping its unsent frames.
   * A paused socket stays paused (reading its backlog would only cost CPU for frames nobody wants):
   * it gets the close frame and a moment to answer, then it is dropped.
   */
  private closeForLoad(code: typeof TRY_AGAIN_LATER | typeof MESSAGE_TOO_BIG, why: string): void {
    if (this.closedForLoad !== undefined) return;
    this.closedForLoad = code;
    const { statistics } = this.context;
    const dropped = this.queue?.clear() ?? 0;
    statistics.websocketFramesDropped += dropped;
    if (code === MESSAGE_TOO_BIG) statistics.websocketClosedTooLarge++;
    else statistics.websocketClosedBackpressure++;
    this.context.closedLog.event(
      `Closed a WebSocket on ${printable(this.path)} with ${code}: ${why}` +
        (dropped > 0 ? `; ${dropped} unsent frames dropped` : ''),
    );
    this.close(code);
    if (this.paused) setTimeout(() => this.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** @internal The socket closed (with `code`), or the handshake ended without opening it. */
  finish(closeCode: number): void {
    if (this.state === 'closed') return;
    // A socket closed for load and dropped before it answered reports the code it was closed with.
    const code = this.closedForLoad ?? closeCode;
    this.state = 'closed';
    this.handshakeAnswered();
    this.context.onClosed(this);
    // Every close path sends the disconnect (after the frames still queued), so the app can leave
    // groups and drop sessions; none when the connect itself never reached the layer.
    if (!this.context.sendsDisconnect) return;
    if (this.connectState === 'sent') this.sendDisconnect(code);
    else if (this.connectState === 'sending') this.closedWhileSending = code;
  }

  private sendDisconnect(code: number): void {
    const queue = (this.queue ??= this.context.sender.queue(this, this.context.options.backpressureTimeoutMs));
    queue.push('websocket.disconnect', {
      reply_channel: this.replyChannel,
      path: this.path,
      order: ++this.order,
      code,
    });
  }
}

import { Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ChannelLayer } from '../../layers/channel-layer';
import { ChannelFull } from '../../layers/errors';
import type { ChannelMessage } from '../../layers/channel-message';

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

/** Answers a held handshake with a plain HTTP status and drops the socket. */
function refuse(socket: Duplex, status: 403 | 503, reason: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1000).unref(); // if the client never closes its side
}

/**
 * One WebSocket client: its handshake is held until the connect consumer answers on the reply
 * channel; frames become `websocket.receive`, the close becomes `websocket.disconnect`.
 */
export class WebsocketConnection {
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** Activity clock for keepalive (ms): data frames and pings. */
  lastActivity = Date.now();
  /** Last data frame either way (ms), for the idle timeout. */
  lastData = Date.now();
  pingSentAt: number | undefined;
  openedAt = 0;
  private ws: WebSocket | undefined;
  private order = 0;
  /** After a full `websocket.receive`, later frames and the disconnect are not sent. */
  private muted = false;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Whether replies are being gathered into one socket write until the current tick ends. */
  private corked = false;

  /** The held handshake: let go of once it is answered (an idle socket should not keep its request). */
  private request: IncomingMessage | undefined;
  private head: Buffer | undefined;

  constructor(
    readonly replyChannel: string,
    readonly path: string,
    request: IncomingMessage,
    private readonly socket: Duplex,
    head: Buffer,
    private readonly wss: WebSocketServer,
    private readonly layer: ChannelLayer,
    private readonly onClosed: (connection: WebsocketConnection) => void,
  ) {
    this.request = request;
    this.head = head;
    socket.on('error', ignoreError);
    socket.once('close', this.closedWhileConnecting);
  }

  /** Sends `websocket.connect` and waits up to `timeoutMs` for the answer. */
  async connect(message: ChannelMessage, timeoutMs: number): Promise<void> {
    this.connectTimer = setTimeout(() => this.reject(403, 'Forbidden'), timeoutMs);
    try {
      await this.layer.send('websocket.connect', message);
    } catch (error) {
      if (error instanceof ChannelFull) {
        this.muted = true;
        this.reject(503, 'Service Unavailable');
      } else {
        logger.error(`Could not send websocket.connect for ${this.path}: ${(error as Error).message}`);
        this.reject(503, 'Service Unavailable');
      }
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
    this.wss.handleUpgrade(request, this.socket, head, (ws) => this.opened(ws));
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
    if (this.muted || this.state !== 'open') return;
    this.lastActivity = this.lastData = Date.now();
    const frame: ChannelMessage = { reply_channel: this.replyChannel, path: this.path, order: ++this.order };
    if (isBinary) frame.bytes = data;
    else frame.text = data.toString('utf8');
    this.layer.send('websocket.receive', frame).catch((error: unknown) => {
      if (!(error instanceof ChannelFull)) {
        logger.error(`Could not send websocket.receive for ${this.path}: ${(error as Error).message}`);
        return;
      }
      // Back-pressure: the app cannot keep up; tell the client to try again later.
      this.muted = true;
      this.close(1013);
    });
  }

  /** @internal The socket closed (with `code`), or the handshake ended without opening it. */
  finish(code: number): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handshakeAnswered();
    this.onClosed(this);
    if (this.muted) return;
    // Best effort: a full channel or an unreachable layer must not throw here.
    this.layer
      .send('websocket.disconnect', {
        reply_channel: this.replyChannel,
        path: this.path,
        order: ++this.order,
        code,
      })
      .catch(() => undefined);
  }
}

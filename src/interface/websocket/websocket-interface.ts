import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ChannelLayer } from '../../layers/channel-layer';
import { splitTarget } from '../common/request-fields';
import { websocketConnectMessage } from './connect-message';
import type { ResolvedWebsocketInterfaceOptions } from './websocket-options';
import { ReplyDispatcher } from '../common/reply-dispatcher';
import { WebsocketConnection } from './websocket-connection';

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** How often keepalive and lifetime limits are checked. */
const SWEEP_MS = 1000;
/** The close code when the layer lost its state ("Service Restart": try again). */
const SERVICE_RESTART = 1012;

/**
 * Turns WebSocket upgrades on an HTTP server into channel messages, and replies into frames.
 * Every connection's reply channel is served by one receive loop (the ReplyDispatcher).
 */
export class WebsocketInterface {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<WebsocketConnection>();
  private readonly sweeper: NodeJS.Timeout;
  /** Our listener on each server, and the upgrade listeners that were there before (for other paths). */
  private readonly attached = new Map<Server, { listener: UpgradeListener; others: UpgradeListener[] }>();

  private readonly dispatcher: ReplyDispatcher;
  /** Whether close() stops the reply loop: only one this interface made itself. */
  private readonly ownsDispatcher: boolean;
  private readonly stopWatchingState: () => void;

  constructor(
    private readonly layer: ChannelLayer,
    private readonly options: ResolvedWebsocketInterfaceOptions,
    /** The process's reply loop (shared with HTTP); one of its own when not given. */
    dispatcher?: ReplyDispatcher,
  ) {
    this.dispatcher = dispatcher ?? new ReplyDispatcher(layer, 'websocket');
    this.ownsDispatcher = dispatcher === undefined;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxFrameSize,
      // The first protocol the client offers that the server speaks: the client's order wins.
      handleProtocols: (offered) => {
        for (const protocol of offered) if (options.subprotocols.includes(protocol)) return protocol;
        return false;
      },
    });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    // Group memberships died with the layer's state: closing makes clients reconnect and join again.
    this.stopWatchingState = layer.onStateLost?.(() => this.closeAll(SERVICE_RESTART)) ?? (() => undefined);
  }

  /** Closes every open socket with `code`; handshakes in progress are left to their timeout. */
  closeAll(code: number): void {
    for (const connection of this.connections) if (connection.state === 'open') connection.close(code);
  }

  /** Open connections (handshakes in progress included). */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Takes the server's upgrades. Listeners already there (a Nest WsAdapter, say, which destroys
   * sockets on paths it does not serve) are moved behind this one and only see the upgrades whose
   * paths are not ours.
   */
  attach(server: Server): void {
    const others = server.listeners('upgrade') as UpgradeListener[];
    server.removeAllListeners('upgrade');
    const listener: UpgradeListener = (request, socket, head) => this.onUpgrade(server, others, request, socket, head);
    this.attached.set(server, { listener, others });
    server.on('upgrade', listener);
  }

  /** Closes every socket (1001, going away) and stops the reply loop. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.stopWatchingState();
    for (const [server, { listener, others }] of this.attached) {
      server.off('upgrade', listener);
      for (const other of others) server.on('upgrade', other);
    }
    this.attached.clear();
    for (const connection of [...this.connections]) {
      if (connection.state === 'open') connection.close(1001);
      else connection.terminate();
    }
    if (this.ownsDispatcher) await this.dispatcher.stop();
    this.wss.close();
  }

  private onUpgrade(
    server: Server,
    others: readonly UpgradeListener[],
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): void {
    const { path } = splitTarget(request.url ?? '/');
    const ours = (request.headers.upgrade ?? '').toLowerCase() === 'websocket' && this.options.accepts(path);
    if (!ours) {
      // Another listener's (a Nest gateway's); with none at all, nobody would ever answer: close it.
      if (others.length === 0 && server.listenerCount('upgrade') === 1) socket.destroy();
      for (const other of others) other(request, socket, head);
      return;
    }
    const replyChannel = this.dispatcher.open();
    const connection = new WebsocketConnection(
      replyChannel,
      path,
      request,
      socket,
      head,
      this.wss,
      this.layer,
      this.onConnectionClosed,
    );
    this.dispatcher.attach(replyChannel, connection);
    this.connections.add(connection);
    void connection.connect(
      websocketConnectMessage(request, replyChannel, this.options.proxyHeaders),
      this.options.connectTimeoutMs,
    );
  }

  private readonly onConnectionClosed = (closed: WebsocketConnection): void => {
    this.connections.delete(closed);
    this.dispatcher.close(closed.replyChannel);
  };

  private sweep(): void {
    const now = Date.now();
    const { pingIntervalMs, pingTimeoutMs, websocketTimeoutMs, idleTimeoutMs } = this.options;
    for (const connection of this.connections) {
      if (connection.state !== 'open') continue;
      if (now - connection.openedAt > websocketTimeoutMs || now - connection.lastData > idleTimeoutMs) {
        connection.close(1000);
      } else if (connection.pingSentAt !== undefined && now - connection.pingSentAt > pingTimeoutMs)
        connection.terminate();
      else if (connection.pingSentAt === undefined && now - connection.lastActivity > pingIntervalMs) connection.ping();
    }
  }
}

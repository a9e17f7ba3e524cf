import { Logger } from '@nestjs/common';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ChannelLayer } from '../../layers/channel-layer';
import { BurstLogger } from '../../logging/burst-logger';
import { printable } from '../../logging/printable';
import { FairSender } from '../common/fair-sender';
import { InterfaceStatistics } from '../common/interface-statistics';
import { ReplyDispatcher } from '../common/reply-dispatcher';
import { splitTarget } from '../common/request-fields';
import { websocketConnectMessage } from './connect-message';
import { refuse, WebsocketConnection, type WebsocketContext } from './websocket-connection';
import type { ResolvedWebsocketInterfaceOptions } from './websocket-options';

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** How often keepalive and lifetime limits are checked. */
const SWEEP_MS = 1000;
/** The close code when the layer lost its state ("Service Restart": try again). */
const SERVICE_RESTART = 1012;
/** At shutdown: how long sockets get to finish their closing handshake, and their disconnects to be sent. */
const CLOSE_GRACE_MS = 1000;
const DRAIN_GRACE_MS = 2000;
const logger = new Logger('WebsocketInterface');

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
  /** Whether close() stops the reply loop and the sender: only ones this interface made itself. */
  private readonly ownsDispatcher: boolean;
  private readonly ownsSender: boolean;
  private readonly context: WebsocketContext;
  private readonly refusedLog = new BurstLogger(logger, 'handshakes refused: maxConnections reached');
  private readonly stopWatchingState: () => void;

  constructor(
    layer: ChannelLayer,
    private readonly options: ResolvedWebsocketInterfaceOptions,
    /** The process's reply loop (shared with HTTP); one of its own when not given. */
    dispatcher?: ReplyDispatcher,
    /** The process's fair sender to the layer (shared with HTTP); one of its own when not given. */
    sender?: FairSender,
    /** Where refusals, closes and losses are counted. */
    readonly statistics = new InterfaceStatistics(),
    /**
     * Whether the app consumes `websocket.disconnect`; when it has routes and none for it, no
     * disconnect is sent (it would only wait in a channel nobody reads). Default: it does.
     */
    sendsDisconnect = true,
  ) {
    const fair = sender ?? new FairSender(layer);
    this.dispatcher = dispatcher ?? new ReplyDispatcher(layer, 'websocket', () => fair.nudge());
    this.ownsDispatcher = dispatcher === undefined;
    this.ownsSender = sender === undefined;
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
    this.context = {
      wss: this.wss,
      layer,
      sender: fair,
      options,
      statistics: this.statistics,
      sendsDisconnect,
      closedLog: new BurstLogger(logger, 'WebSockets closed alone for load (1013) or size (1009)'),
      disconnectLog: new BurstLogger(logger, 'websocket.disconnect messages not sent'),
      onClosed: (closed) => this.onConnectionClosed(closed),
    };
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

  /**
   * Closes every socket (1001, going away), gives them a moment to finish and their disconnects
   * time to reach the layer, then stops the reply loop.
   */
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
    const deadline = Date.now() + CLOSE_GRACE_MS;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of [...this.connections]) connection.terminate();
    await this.context.sender.whenIdle(DRAIN_GRACE_MS);
    if (this.ownsSender) this.context.sender.stop();
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
    if (this.connections.size >= this.options.maxConnections) {
      this.statistics.websocketHandshakesRefused++;
      this.refusedLog.event(
        `Refused a WebSocket on ${printable(path)} with 503: ${this.options.maxConnections} sockets are open (maxConnections)`,
      );
      refuse(socket, 503, 'Service Unavailable');
      return;
    }
    const replyChannel = this.dispatcher.open();
    const connection = new WebsocketConnection(replyChannel, path, request, socket, head, this.context);
    this.dispatcher.attach(replyChannel, connection);
    this.connections.add(connection);
    void connection.connect(
      websocketConnectMessage(request, replyChannel, this.options.proxyHeaders, this.options.rootPath),
      this.options.connectTimeoutMs,
    );
  }

  private onConnectionClosed(closed: WebsocketConnection): void {
    this.connections.delete(closed);
    this.dispatcher.close(closed.replyChannel);
  }

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

import { Group } from '../channels/group';
import type { Message } from '../channels/message';
import type { ChannelMessage } from '../layers/channel-message';
import type { RouteKwargs } from '../routing/filters';
import type { ConsumerSessionFlags } from '../sessions/session-decorators';
import { BaseConsumer } from './base-consumer';

/** A frame from the client: text or bytes. */
export interface WebsocketFrame {
  text?: string;
  bytes?: Buffer;
}

/** A frame to the client: text or bytes, and/or a close (true, or a code). */
export interface WebsocketReply extends WebsocketFrame {
  close?: boolean | number;
}

/** Builds the reply message: text wins over bytes; at least one of text, bytes or close. */
export function websocketReply({ text, bytes, close }: WebsocketReply): ChannelMessage {
  const reply: ChannelMessage = {};
  if (text !== undefined) reply.text = text;
  else if (bytes !== undefined) reply.bytes = bytes;
  if (close !== undefined && close !== false) reply.close = close;
  if (Object.keys(reply).length === 0) throw new TypeError('A WebSocket send needs text, bytes or close');
  return reply;
}

const CONNECT = 'websocket.connect';

/**
 * A WebSocket consumer (Channels' `WebsocketConsumer`): override `connect`, `receive` and
 * `disconnect`; `connectionGroups` are joined on connect and left on disconnect. `send`,
 * `close` and `groupSend` answer; `path`, `message` and `kwargs` are set for every hook.
 */
export class WebsocketConsumer<In = WebsocketFrame, Out = WebsocketReply> extends BaseConsumer {
  static override methodMapping: Readonly<Record<string, string>> = {
    'websocket.connect': 'rawConnect',
    'websocket.receive': 'rawReceive',
    'websocket.disconnect': 'rawDisconnect',
  };
  /** The user from the login session: on connect from the HTTP session, then from the channel session. */
  static httpUser = false;
  /** `httpUser`, and the HTTP session on every message (kept in the channel session). */
  static httpUserAndSession = false;
  /** Run each connection's messages in `order` (`@EnforceOrdering()` on every hook). */
  static strictOrdering = false;
  /** Groups every connection joins (see `connectionGroups`). */
  static groups: readonly string[] = [];

  /** The connection's path. */
  path = '';
  /** Set when `close()` is called while handling `websocket.connect`: the handshake is refused. */
  protected refused = false;

  static override sessionFlags(channel: string): ConsumerSessionFlags {
    const flags = super.sessionFlags(channel);
    if (this.httpUser || this.httpUserAndSession) {
      if (channel === CONNECT) flags.channelSessionUserFromHttp = true;
      else flags.channelSessionUser = true;
    }
    if (this.httpUserAndSession) flags.channelAndHttpSession = true;
    if (this.strictOrdering) flags.enforceOrdering = true;
    return flags;
  }

  override async dispatch(message: Message, kwargs: RouteKwargs): Promise<unknown> {
    if (typeof message.content.path === 'string') this.path = message.content.path;
    return super.dispatch(message, kwargs);
  }

  /** The groups this connection joins on connect and leaves on disconnect: `groups` by default. */
  connectionGroups(_kwargs: RouteKwargs): readonly string[] {
    return (this.constructor as typeof WebsocketConsumer).groups;
  }

  /**
   * Runs `connect`, then joins the `connectionGroups` unless `connect` refused. (Channels joined
   * first: a group frame reaching a handshake that was about to be refused would open it, since a
   * data frame accepts.)
   */
  async rawConnect(message: Message, kwargs: RouteKwargs): Promise<void> {
    await this.connect(message, kwargs);
    if (this.refused) return;
    for (const group of this.connectionGroups(kwargs)) {
      await new Group(group, message.channelLayer).add(this.replyChannelOf(message));
    }
  }

  async rawReceive(message: Message, kwargs: RouteKwargs): Promise<void> {
    const { text, bytes } = message.content;
    if (typeof text === 'string') return this.receive({ text } as In, kwargs);
    if (Buffer.isBuffer(bytes)) return this.receive({ bytes } as In, kwargs);
    throw new TypeError(`A websocket.receive message needs text or bytes (on ${this.path || 'no path'})`);
  }

  async rawDisconnect(message: Message, kwargs: RouteKwargs): Promise<void> {
    for (const group of this.connectionGroups(kwargs)) {
      await new Group(group, message.channelLayer).discard(this.replyChannelOf(message));
    }
    await this.disconnect(message, kwargs);
  }

  /** Accepts the connection by default; send `close()` (or nothing) to refuse it. */
  async connect(_message: Message, _kwargs: RouteKwargs): Promise<void> {
    await this.accept();
  }

  /** A frame from the client; does nothing by default. */
  async receive(_frame: In, _kwargs: RouteKwargs): Promise<void> {}

  /** The connection closed; does nothing by default (groups are left already). */
  async disconnect(_message: Message, _kwargs: RouteKwargs): Promise<void> {}

  async accept(): Promise<void> {
    await this.replyChannelOf(this.message).send({ accept: true });
  }

  /** Sends text or bytes (and/or a close) to this connection; held until the consumer ends. */
  async send(reply: Out): Promise<void> {
    await this.replyChannelOf(this.message).send(websocketReply(reply as WebsocketReply));
  }

  /** Closes the connection (refuses it, on connect): `true` or a close code. */
  async close(code: boolean | number = true): Promise<void> {
    if (this.message.channel.name === CONNECT) this.refused = true;
    await this.replyChannelOf(this.message).send({ close: code });
  }

  /** Sends a frame to every connection in `group`, on this message's layer. */
  async groupSend(group: string, reply: Out): Promise<void> {
    await new Group(group, this.message.channelLayer).send(websocketReply(reply as WebsocketReply));
  }

  protected replyChannelOf(message: Message): NonNullable<Message['replyChannel']> {
    if (!message.replyChannel)
      throw new TypeError(`A WebSocket message without reply_channel on ${message.channel.name}`);
    return message.replyChannel;
  }
}

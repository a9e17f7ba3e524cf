import { Inject, Injectable } from '@nestjs/common';
import {
  AllowedHostsOnly,
  Channel,
  ChannelSession,
  Consumer,
  encodeHttpResponse,
  Group,
  type Message,
  type RouteKwargs,
} from '../src';
import { HistoryStore } from './history.store';

const ROOM = /^\/chat\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;
/** Where the connection's username is kept in its channel session. */
const USERNAME = 'username';

function username(message: Message): string | null {
  const query = new URLSearchParams(Buffer.from((message.content.query_string as Uint8Array) ?? []).toString('latin1'));
  const name = query.get('username')?.trim().slice(0, 50);
  return name ? name : null;
}

/**
 * The chat of the Channels manual's Getting Started and "Persisting Data":
 * `/chat/<room>/?username=<name>`, nobody logs in. The username is kept in the connection's
 * channel session (any worker process reads it from there); every text frame goes to everyone in
 * the room as `{"text", "username"}`, to the room's long-pollers, and onto the `chat-messages`
 * channel for the history. Handshakes from pages of other sites are refused (`@AllowedHostsOnly()`).
 */
@Injectable()
export class ChatConsumers {
  constructor(@Inject(HistoryStore) private readonly history: HistoryStore) {}

  @Consumer('websocket.connect', { path: ROOM })
  @AllowedHostsOnly()
  @ChannelSession()
  async connect(message: Message, { room }: RouteKwargs): Promise<void> {
    const name = username(message);
    if (!name) {
      await message.replyChannel!.send({ close: true }); // no username: refused (403)
      return;
    }
    // Saved when the consumer ends, before its accept goes out: the first frame finds it.
    message.channelSession!.set(USERNAME, name);
    await new Group(`chat-${room}`).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: ROOM })
  @ChannelSession()
  async receive(message: Message, { room }: RouteKwargs): Promise<void> {
    const name = message.channelSession!.get<string>(USERNAME) ?? 'anonymous';
    const line = { text: String(message.content.text ?? '').slice(0, 2000), username: name };
    await new Group(`chat-${room}`).send({ text: JSON.stringify(line) });
    await new Channel('chat-messages').send({ room: room as string, ...line });
    // Long-pollers of the room get it as their HTTP response (each one it answers leaves the group).
    const pollers = new Group(`poll-${room}`);
    const response = encodeHttpResponse({ body: line });
    for (const member of await pollers.channels()) {
      await pollers.discard(member);
      for (const part of response) await new Channel(member).send(part);
    }
  }

  @Consumer('websocket.disconnect', { path: ROOM })
  @ChannelSession()
  async disconnect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).discard(message.replyChannel!);
    message.channelSession!.flush(); // the connection is over: its session goes from the store
  }

  /** Stores every chat line (a background consumer: it never blocks the chat). */
  @Consumer('chat-messages')
  async store(message: Message): Promise<void> {
    await this.history.add(String(message.content.room), {
      username: String(message.content.username),
      text: String(message.content.text),
    });
  }
}

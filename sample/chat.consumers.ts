import { Inject, Injectable } from '@nestjs/common';
import { AllowedHostsOnly, Channel, Consumer, encodeHttpResponse, Group, type Message, type RouteKwargs } from '../src';
import { ChatJsonConsumer, MAX_TEXT, MAX_USERNAME, type ChatFrame } from './chat-json.consumer';
import { HistoryStore, type ChatLine } from './history.store';

const ROOM = /^\/chat\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;
/** Where the connection's username is kept in its channel session. */
const USERNAME = 'username';

/** The `?username=` of the handshake, trimmed and cut to 50 characters; null when there is none. */
function username(message: Message): string | null {
  const query = new URLSearchParams(Buffer.from((message.content.query_string as Uint8Array) ?? []).toString('latin1'));
  const name = query.get('username')?.trim().slice(0, MAX_USERNAME);
  return name ? name : null;
}

/**
 * The chat of the Channels manual's Getting Started and "Persisting Data", as a generic consumer:
 * `/chat/<room>/?username=<name>`, nobody logs in. A handshake without a username is refused; the
 * username is kept in the connection's channel session (any worker process reads it from there).
 * Every frame, raw text or `{"text": ...}` JSON (see `ChatJsonConsumer`), goes to everyone in the
 * room as `{"text", "username"}`, to the room's long-pollers, and onto the `chat-messages` channel
 * for the history. Handshakes from pages of other sites are refused (`@AllowedHostsOnly()`: on the
 * class, it guards every channel, and acts on `websocket.connect` only).
 */
@Consumer({ path: ROOM })
@AllowedHostsOnly()
export class ChatConsumer extends ChatJsonConsumer {
  static override channelSession = true;

  /** Joined on connect, left on disconnect. */
  override connectionGroups({ room }: RouteKwargs): string[] {
    return [`chat-${room}`];
  }

  override async connect(message: Message): Promise<void> {
    const name = username(message);
    // No username: refused (403), before the room's group is joined (that comes after connect).
    if (!name) return this.close();
    // Saved when the consumer ends, before its accept goes out: the first frame finds it.
    message.channelSession!.set(USERNAME, name);
    await this.accept();
  }

  override async receive(content: ChatFrame, { room }: RouteKwargs): Promise<void> {
    const name = this.message.channelSession!.get<string>(USERNAME) ?? 'anonymous';
    const line: ChatLine = { text: String(content.text).slice(0, MAX_TEXT), username: name };
    await this.groupSend(`chat-${room}`, line);
    const layer = this.message.channelLayer;
    await new Channel('chat-messages', layer).send({ room: room as string, ...line });
    // Long-pollers of the room get it as their HTTP response (each one it answers leaves the group).
    const pollers = new Group(`poll-${room}`, layer);
    const response = encodeHttpResponse({ body: line });
    for (const member of await pollers.channels()) {
      await pollers.discard(member);
      for (const part of response) await new Channel(member, layer).send(part);
    }
  }
}

/** Stores every chat line (a background consumer of `chat-messages`: it never blocks the chat). */
@Injectable()
export class ChatHistoryConsumers {
  constructor(@Inject(HistoryStore) private readonly history: HistoryStore) {}

  @Consumer('chat-messages')
  async store(message: Message): Promise<void> {
    await this.history.add(String(message.content.room), {
      username: String(message.content.username),
      text: String(message.content.text),
    });
  }
}

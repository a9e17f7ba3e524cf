import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AllowedHostsOnly,
  Channel,
  Consumer,
  encodeHttpResponse,
  Group,
  type ChannelMessage,
  type Message,
  type RouteKwargs,
} from '../src';
import { ChatJsonConsumer, MAX_TEXT, MAX_USERNAME, type ChatFrame } from './chat-json.consumer';
import { handshakeUsername, USERNAME_KEY } from './handshake-username';
import { HistoryStore, type ChatLine } from './history.store';

const ROOM = /^\/chat\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;
/** A room name, as in the chat's paths. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,50}$/;
/** Where chat lines go to be stored (by `ChatHistoryConsumers`): only `ChatConsumer` sends there. */
const HISTORY_CHANNEL = 'chat-messages';
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
    const name = handshakeUsername(message);
    // No username: refused (403), before the room's group is joined (that comes after connect).
    if (!name) return this.close();
    // Saved when the consumer ends, before its accept goes out: the first frame finds it.
    message.channelSession!.set(USERNAME_KEY, name);
    await this.accept();
  }

  override async receive(content: ChatFrame, { room }: RouteKwargs): Promise<void> {
    const name = this.message.channelSession!.get<string>(USERNAME_KEY) ?? 'anonymous';
    const line: ChatLine = { text: String(content.text).slice(0, MAX_TEXT), username: name };
    await this.groupSend(`chat-${room}`, line);
    const layer = this.message.channelLayer;
    await new Channel(HISTORY_CHANNEL, layer).send({ room: room as string, ...line });
    // Long-pollers of the room get it as their HTTP response (each one it answers leaves the group).
    const pollers = new Group(`poll-${room}`, layer);
    const response = encodeHttpResponse({ body: line });
    for (const member of await pollers.channels()) {
      await pollers.discard(member);
      for (const part of response) await new Channel(member, layer).send(part);
    }
  }
}

/** `{room, username, text}` as `ChatConsumer` sends it (room from its route, username from its channel session); null otherwise. */
function historyLine(content: ChannelMessage): { room: string; line: ChatLine } | null {
  const { room, username, text } = content;
  if (typeof room !== 'string' || !ROOM_NAME.test(room)) return null;
  if (typeof username !== 'string' || username.length === 0 || username.length > MAX_USERNAME) return null;
  if (typeof text !== 'string' || text.length > MAX_TEXT) return null;
  return { room, line: { username, text } };
}

/** Stores every chat line (a background consumer of `chat-messages`: it never blocks the chat). */
@Injectable()
export class ChatHistoryConsumers {
  private readonly logger = new Logger(ChatHistoryConsumers.name);

  constructor(@Inject(HistoryStore) private readonly history: HistoryStore) {}

  @Consumer(HISTORY_CHANNEL)
  async store(message: Message): Promise<void> {
    const entry = historyLine(message.content);
    if (!entry) return this.logger.warn('A malformed chat line was not stored');
    await this.history.add(entry.room, entry.line);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { Channel, Consumer, encodeHttpResponse, Group, type Message, type RouteKwargs } from '../src';
import { HistoryStore } from './history.store';
import { UsernamesStore } from './usernames.store';

const ROOM = /^\/chat\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;

function username(message: Message): string | null {
  const query = new URLSearchParams(Buffer.from((message.content.query_string as Uint8Array) ?? []).toString('latin1'));
  const name = query.get('username')?.trim().slice(0, 50);
  return name ? name : null;
}

/**
 * The chat of the Channels manual's Getting Started: `/chat/<room>/?username=<name>`; every text
 * frame goes to everyone in the room as `{"text", "username"}`, to the room's long-pollers, and
 * onto the `chat-messages` channel for the history.
 */
@Injectable()
export class ChatConsumers {
  constructor(
    @Inject(HistoryStore) private readonly history: HistoryStore,
    @Inject(UsernamesStore) private readonly usernames: UsernamesStore,
  ) {}

  @Consumer('websocket.connect', { path: ROOM })
  async connect(message: Message, { room }: RouteKwargs): Promise<void> {
    const name = username(message);
    if (!name) {
      await message.replyChannel!.send({ close: true }); // no username: refused (403)
      return;
    }
    await this.usernames.set(message.replyChannel!.name, name);
    await new Group(`chat-${room}`).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: ROOM })
  async receive(message: Message, { room }: RouteKwargs): Promise<void> {
    const name = (await this.usernames.get(message.replyChannel!.name)) ?? 'anonymous';
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
  async disconnect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).discard(message.replyChannel!);
    await this.usernames.forget(message.replyChannel!.name);
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

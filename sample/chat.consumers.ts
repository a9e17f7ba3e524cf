import { Injectable } from '@nestjs/common';
import { Consumer, Group, type Message, type RouteKwargs } from '../src';

const ROOM = /^\/chat\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;

/** The chat of the Channels manual's Getting Started: a group per room, everyone hears everyone. */
@Injectable()
export class ChatConsumers {
  @Consumer('websocket.connect', { path: ROOM })
  async connect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: ROOM })
  async receive(message: Message, { room }: RouteKwargs): Promise<void> {
    let incoming: { username?: unknown; text?: unknown };
    try {
      incoming = JSON.parse(String(message.content.text ?? '')) as typeof incoming;
    } catch {
      await message.replyChannel!.send({
        text: JSON.stringify({ error: 'send JSON: {"username": "...", "text": "..."}' }),
      });
      return;
    }
    const username = String(incoming.username ?? 'anonymous').slice(0, 50);
    const text = String(incoming.text ?? '').slice(0, 2000);
    await new Group(`chat-${room}`).send({ text: JSON.stringify({ room, username, text }) });
  }

  @Consumer('websocket.disconnect', { path: ROOM })
  async disconnect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).discard(message.replyChannel!);
  }
}

import { Injectable } from '@nestjs/common';
import {
  AllowedHostsOnly,
  ChannelSessionUser,
  ChannelSessionUserFromHttp,
  Consumer,
  Group,
  isAnonymous,
  type Message,
  type RouteKwargs,
} from '../src';
import type { SampleUser } from './users.store';

/** Same room names as /chat/. */
const ROOM = /^\/private\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;

/** The logged-in user of a message (`message.user`), or null for AnonymousUser. */
export function loggedIn(message: Message): SampleUser | null {
  const user = message.user as SampleUser | undefined;
  return user && !isAnonymous(user) && typeof user.username === 'string' ? user : null;
}

/**
 * The chat for logged-in users: WebSocket `/private/<room>/`. The handshake carries the browser's
 * session cookie (log in at `/login`); the user is read from the HTTP session on connect and kept
 * in the channel session for the frames that follow, so every line is signed with the name of
 * whoever logged in, never with anything the client says. Anonymous users and pages of other
 * sites are refused (403).
 */
@Injectable()
export class PrivateChatConsumers {
  @Consumer('websocket.connect', { path: ROOM })
  @AllowedHostsOnly()
  @ChannelSessionUserFromHttp()
  async connect(message: Message, { room }: RouteKwargs): Promise<void> {
    if (!loggedIn(message)) {
      await message.replyChannel!.send({ close: true }); // nobody logged in: refused (403)
      return;
    }
    await new Group(`private-${room}`).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: ROOM })
  @ChannelSessionUser()
  async receive(message: Message, { room }: RouteKwargs): Promise<void> {
    const user = loggedIn(message);
    if (!user) {
      // The channel session expired or is gone: nobody to speak for, so the socket is closed.
      await message.replyChannel!.send({ close: true });
      return;
    }
    const line = { text: String(message.content.text ?? '').slice(0, 2000), username: user.username };
    await new Group(`private-${room}`).send({ text: JSON.stringify(line) });
  }

  @Consumer('websocket.disconnect', { path: ROOM })
  @ChannelSessionUser()
  async disconnect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`private-${room}`).discard(message.replyChannel!);
    message.channelSession!.flush();
  }
}

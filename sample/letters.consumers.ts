import { Injectable } from '@nestjs/common';
import {
  AllowedHostsOnly,
  ChannelSessionUser,
  ChannelSessionUserFromHttp,
  Consumer,
  Group,
  type Message,
} from '../src';
import { loggedIn } from './private-chat.consumers';

const LETTERS = /^\/letters\/$/;

/** `letter-<first letter of the username, lower-case>` (a character group names cannot hold is written as its code point). */
function letterGroup(username: string): Group {
  const first = [...username][0]?.toLowerCase() ?? '';
  const letter = /^[a-z0-9]$/.test(first) ? first : `u${first.codePointAt(0)?.toString(16) ?? ''}`;
  return new Group(`letter-${letter}`);
}

/**
 * The Channels manual's Authentication example, WebSocket `/letters/`: logged-in users chat only
 * with people whose username has the same first letter. Frames go to the group as they came.
 */
@Injectable()
export class LettersConsumers {
  @Consumer('websocket.connect', { path: LETTERS })
  @AllowedHostsOnly()
  @ChannelSessionUserFromHttp()
  async connect(message: Message): Promise<void> {
    const user = loggedIn(message);
    if (!user) {
      await message.replyChannel!.send({ close: true }); // nobody logged in: refused (403)
      return;
    }
    await letterGroup(user.username).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: LETTERS })
  @ChannelSessionUser()
  async receive(message: Message): Promise<void> {
    const user = loggedIn(message);
    if (!user) {
      await message.replyChannel!.send({ close: true });
      return;
    }
    const { text, bytes } = message.content;
    await letterGroup(user.username).send(bytes instanceof Uint8Array ? { bytes } : { text: String(text ?? '') });
  }

  @Consumer('websocket.disconnect', { path: LETTERS })
  @ChannelSessionUser()
  async disconnect(message: Message): Promise<void> {
    const user = loggedIn(message);
    if (user) await letterGroup(user.username).discard(message.replyChannel!);
    message.channelSession!.flush();
  }
}

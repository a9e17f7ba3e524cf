import { AllowedHostsOnly, Consumer, isAnonymous, type Message, type RouteKwargs } from '../src';
import { ChatJsonConsumer, MAX_TEXT, type ChatFrame } from './chat-json.consumer';
import type { SampleUser } from './users.store';

/** Same room names as /chat/. */
const ROOM = /^\/private\/(?<room>[A-Za-z0-9_-]{1,50})\/$/;

/** The logged-in user of a message (`message.user`), or null for AnonymousUser. */
export function loggedIn(message: Message): SampleUser | null {
  const user = message.user as SampleUser | undefined;
  return user && !isAnonymous(user) && typeof user.username === 'string' ? user : null;
}

/**
 * The chat for logged-in users: WebSocket `/private/<room>/`, a generic consumer. The handshake
 * carries the browser's session cookie (log in at `/login`); `httpUser` reads the user from the
 * HTTP session on connect and keeps it in the channel session for the frames that follow, so every
 * line is signed with the name of whoever logged in, never with anything the client says (a
 * `username` in a JSON frame is ignored). Frames are raw text or `{"text": ...}` (see
 * `ChatJsonConsumer`). Anonymous users and pages of other sites are refused (403).
 */
@Consumer({ path: ROOM })
@AllowedHostsOnly()
export class PrivateChatConsumer extends ChatJsonConsumer {
  static override httpUser = true;

  override connectionGroups({ room }: RouteKwargs): string[] {
    return [`private-${room}`];
  }

  /** Nobody logged in: refused (403). Else the inherited `connect` accepts. */
  /** Nobody logged in: refused (403), so the room's group is never joined. */
  override async connect(): Promise<void> {
    if (!loggedIn(this.message)) return this.close();
    await this.accept();
  }

  override async receive(content: ChatFrame, { room }: RouteKwargs): Promise<void> {
    const user = loggedIn(this.message);
    // The channel session expired or is gone: nobody to speak for, so the socket is closed.
    if (!user) return this.close();
    await this.groupSend(`private-${room}`, { text: String(content.text).slice(0, MAX_TEXT), username: user.username });
  }
}

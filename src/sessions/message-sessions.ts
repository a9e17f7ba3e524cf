import type { ChannelMessage } from '../layers/channel-message';
import type { ChannelSessionState } from './channel-session';
import type { HttpSessionData } from './http-session';

// The session decorators fill these in on the Message before the consumer runs. They are declared
// here, by the layer that sets them, and merged into the Message class below it (as passport
// declares `req.user` on Express' Request): channels/ stays free of any session type.
declare module '../channels/message' {
  // A merged declaration repeats the class's type parameters, used or not.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface Message<TContent extends ChannelMessage = ChannelMessage> {
    /** The connection's session, with `@ChannelSession()` (and the decorators that imply it). */
    channelSession?: ChannelSessionState;
    /** The browser's session, read-only, with `@HttpSession()` and friends: null when it has none. */
    httpSession?: HttpSessionData | null;
    /** The user, with the user decorators: yours, or `AnonymousUser`. */
    user?: unknown;
  }
}

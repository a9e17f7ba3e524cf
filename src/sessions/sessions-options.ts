import type { SessionStore } from './session-store';
import type { UserResolver } from './users';

/** `ChannelsModule.forRoot({ sessions })`: where sessions live and how users are found. */
export interface SessionsModuleOptions {
  /**
   * The express-session Store your app's `session()` middleware uses: `@HttpSession()` and the
   * user decorators read the browser's session from it. Needed for those decorators. Any object
   * with express-session's `get`/`set`/`destroy` callbacks fits (`SessionStore`).
   */
  store?: SessionStore;
  /** The secret(s) your express-session signs its cookie with (the first signs, all verify). */
  secret?: string | readonly string[];
  /** The session cookie's name. Default `connect.sid` (express-session's). */
  cookieName?: string;
  /**
   * Where channel sessions live. Default: `store` if given, else the memory of this process —
   * fine in one process; with several worker processes use a shared store (`RedisSessionStore`).
   */
  channelStore?: SessionStore;
  /** How long a channel session lives after its last save, in seconds. Default 86400 (a day). */
  channelSessionTtl?: number;
  /** How `message.user` is found. Default: passport's session layout, the serialized user as is. */
  userResolver?: UserResolver;
  /**
   * Authenticated WebSockets join their user's group on connect (`userGroupName`), so
   * `ChannelsService.closeUserSockets(user)` can close them on logout. Default true; false saves
   * one group add per authenticated connect and leaves revocation to you.
   */
  userGroups?: boolean;
}

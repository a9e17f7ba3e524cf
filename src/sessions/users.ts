import type { Message } from '../channels/message';
import type { ChannelSessionState } from './channel-session';
import type { HttpSessionData } from './http-session';

/** The user of a message nobody logged in: an explicit value, never undefined. */
export interface AnonymousUserType {
  readonly isAuthenticated: false;
  readonly isAnonymous: true;
}

export const AnonymousUser: AnonymousUserType = Object.freeze({ isAuthenticated: false, isAnonymous: true });

export function isAnonymous(user: unknown): user is AnonymousUserType {
  return user === AnonymousUser;
}

/**
 * Finds the user of a message. The default reads passport's session layout
 * (`session.passport.user`, the serialized user) and returns it as is; give `deserialize` (like
 * passport's `deserializeUser`) to turn it into your user object, or a resolver of your own for
 * token auth (a JWT in the query string or subprotocol, say).
 */
export interface UserResolver<User = unknown> {
  /**
   * The serialized user a connect or HTTP message carries: from its HTTP session (null when it
   * has none) or from anything else in the message. null or undefined: anonymous.
   */
  identify(message: Message, httpSession: HttpSessionData | null): unknown;
  /** The user from its serialized form; null or undefined when it no longer exists (anonymous). */
  deserialize(serialized: unknown): User | null | undefined | Promise<User | null | undefined>;
}

/** Key of the serialized user in a session, as passport writes it. */
const PASSPORT_KEY = 'passport';

function passportUser(session: Readonly<Record<string, unknown>> | null | undefined): unknown {
  const passport = session?.[PASSPORT_KEY];
  return typeof passport === 'object' && passport !== null ? (passport as { user?: unknown }).user : undefined;
}

/** Passport's session layout; `deserialize` defaults to the serialized value itself. */
export function passportUserResolver<User = unknown>(
  deserialize: (serialized: unknown) => User | null | undefined | Promise<User | null | undefined> = (serialized) =>
    serialized as User,
): UserResolver<User> {
  return { identify: (_message, httpSession) => passportUser(httpSession), deserialize };
}

/**
 * Where `transferUser` keeps the serialized user in a channel session: its own key, not passport's
 * layout, and only the serialized value the resolver turns into the user (an id), never the user.
 */
export const CHANNEL_SESSION_USER_KEY = '_auth_user';

/** The serialized user stored in a channel session (by `transferUser`). */
export function channelSessionSerializedUser(session: ChannelSessionState): unknown {
  return session.get(CHANNEL_SESSION_USER_KEY);
}

/**
 * Copies the login from an HTTP session (or a serialized user) into the channel session, so
 * receive and disconnect consumers, which carry no cookies, know the user. Nothing is copied
 * when there is no user.
 */
export function transferUser(from: HttpSessionData | { serialized: unknown } | null, to: ChannelSessionState): void {
  const serialized = from && 'serialized' in from ? from.serialized : passportUser(from);
  if (serialized === undefined || serialized === null) return;
  to.set(CHANNEL_SESSION_USER_KEY, structuredClone(serialized));
}

/** The user of a serialized value: deserialized, or AnonymousUser. */
export async function userFrom<User>(
  resolver: UserResolver<User>,
  serialized: unknown,
): Promise<User | AnonymousUserType> {
  if (serialized === undefined || serialized === null) return AnonymousUser;
  return (await resolver.deserialize(serialized)) ?? AnonymousUser;
}

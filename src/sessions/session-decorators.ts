import type { ChannelSessionState } from './channel-session';

export const CONSUMER_SESSIONS_METADATA = 'nestjs-channels:sessions';

/** What a consumer asked for with the session, user and ordering decorators. */
export interface ConsumerSessionFlags {
  channelSession?: boolean;
  httpSession?: boolean;
  channelAndHttpSession?: boolean;
  httpSessionUser?: boolean;
  channelSessionUser?: boolean;
  channelSessionUserFromHttp?: boolean;
  enforceOrdering?: boolean;
}

function flag(name: keyof ConsumerSessionFlags): MethodDecorator & ClassDecorator {
  return ((target: object, key?: string | symbol) => {
    const existing = (
      key === undefined
        ? Reflect.getMetadata(CONSUMER_SESSIONS_METADATA, target)
        : Reflect.getMetadata(CONSUMER_SESSIONS_METADATA, target, key)
    ) as ConsumerSessionFlags | undefined;
    const flags: ConsumerSessionFlags = { ...existing, [name]: true };
    if (key === undefined) Reflect.defineMetadata(CONSUMER_SESSIONS_METADATA, flags, target);
    else Reflect.defineMetadata(CONSUMER_SESSIONS_METADATA, flags, target, key);
  }) as MethodDecorator & ClassDecorator;
}

/** The flags of a consumer method, or of a class-based consumer (set on the class). */
export function sessionFlagsOf(target: object, key?: string | symbol): ConsumerSessionFlags {
  const flags = (
    key === undefined
      ? Reflect.getMetadata(CONSUMER_SESSIONS_METADATA, target)
      : Reflect.getMetadata(CONSUMER_SESSIONS_METADATA, target, key)
  ) as ConsumerSessionFlags | undefined;
  return flags ?? {};
}

// The decorators below go on a consumer method or a class-based consumer, in any order and
// combination: they always run in one documented order (HTTP session, channel session, the
// HTTP-key hand-over, the user, ordering), so stacking them cannot change what they do.

/** The type of `message.channelSession` (the decorator below has the same name). */
export type ChannelSession = ChannelSessionState;

/** `message.channelSession`: a session per connection (reply channel), saved after the consumer when modified. */
export const ChannelSession = (): MethodDecorator & ClassDecorator => flag('channelSession');

/** `message.httpSession`: the browser's express-session, read-only, or null when there is none. */
export const HttpSession = (): MethodDecorator & ClassDecorator => flag('httpSession');

/**
 * Both sessions; on the first message with a cookie (connect) the HTTP session key is kept in
 * the channel session, and later messages (which carry no cookies) get `httpSession` from it.
 */
export const ChannelAndHttpSession = (): MethodDecorator & ClassDecorator => flag('channelAndHttpSession');

/** `message.user` from the HTTP session (or the user resolver), AnonymousUser when nobody is logged in. */
export const HttpSessionUser = (): MethodDecorator & ClassDecorator => flag('httpSessionUser');

/** `message.user` from the channel session (where `@ChannelSessionUserFromHttp` put it on connect). */
export const ChannelSessionUser = (): MethodDecorator & ClassDecorator => flag('channelSessionUser');

/**
 * For connect consumers: `message.user` from the HTTP session, also copied into the channel
 * session so later `@ChannelSessionUser()` consumers of the connection have it.
 */
export const ChannelSessionUserFromHttp = (): MethodDecorator & ClassDecorator => flag('channelSessionUserFromHttp');

/**
 * Runs a connection's messages in `order`: one that arrives early waits on a wait channel and
 * runs when its turn comes. Implies `@ChannelSession()` (the next order is kept there).
 */
export const EnforceOrdering = (): MethodDecorator & ClassDecorator => flag('enforceOrdering');

export { CHANNEL_SESSION_FIELD, ChannelSessionState } from './channel-session';
// Declares message.channelSession, message.httpSession and message.user on Message.
export * from './message-sessions';
export { channelSessionKey } from './session-key';
export { ConsumerSessions, HTTP_SESSION_ID_KEY } from './consumer-sessions';
export { NEXT_ORDER_KEY, waitChannelOf } from './enforce-ordering';
export { sessionIdOf, unsignSessionId, type HttpSessionData } from './http-session';
export { RedisSessionStore, type RedisSessionStoreOptions } from './redis-session-store';
export type { SessionStore } from './session-store';
export {
  ChannelAndHttpSession,
  ChannelSession,
  ChannelSessionUser,
  ChannelSessionUserFromHttp,
  EnforceOrdering,
  HttpSession,
  HttpSessionUser,
  type ConsumerSessionFlags,
} from './session-decorators';
export type { SessionsModuleOptions } from './sessions-options';
export {
  AnonymousUser,
  CHANNEL_SESSION_USER_KEY,
  isAnonymous,
  passportUserResolver,
  transferUser,
  type AnonymousUserType,
  type UserResolver,
} from './users';

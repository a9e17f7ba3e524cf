import { createHash } from 'node:crypto';

/**
 * The group every authenticated WebSocket of a user is in (joined on connect by the session
 * decorators that resolve a user, left on disconnect): `channels-user.` + a hash of the serialized
 * user (what passport keeps at `session.passport.user`, or what your `UserResolver.identify`
 * returns). Hashed so user ids never appear in layer keys; server code sends to it, clients never
 * name it. `ChannelsService.closeUserSockets` closes them all, on logout or when a user is banned.
 */
export function userGroupName(serializedUser: unknown): string {
  if (serializedUser === undefined || serializedUser === null)
    throw new TypeError('userGroupName needs the serialized user (passport.user), got ' + String(serializedUser));
  const digest = createHash('sha256').update(JSON.stringify(serializedUser)).digest('hex');
  return `channels-user.${digest.slice(0, 40)}`;
}

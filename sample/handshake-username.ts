import { queryParams, type Message } from '../src';
import { MAX_USERNAME } from './chat-json.consumer';

/** Where a guest chat keeps the connection's username in its channel session. */
export const USERNAME_KEY = 'username';

/**
 * The `?username=` of a WebSocket handshake, trimmed and cut to 50 characters; null when there is
 * none. Read once, on connect, and kept in the channel session: frames never name their sender.
 */
export function handshakeUsername(message: Message): string | null {
  const name = queryParams(message).get('username')?.trim().slice(0, MAX_USERNAME);
  return name ? name : null;
}

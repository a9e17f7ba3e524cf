/**
 * The `newChannel` pattern of request body channels: the interface makes each one as this plus a
 * random suffix (`layer.newChannel(HTTP_BODY_CHANNEL_PATTERN)`), and `readHttpRequest` follows a
 * message's `body_channel` only when it has this shape.
 */
export const HTTP_BODY_CHANNEL_PATTERN = 'http.request.body?';

const BODY_CHANNEL = new RegExp(`^${HTTP_BODY_CHANNEL_PATTERN.replace(/[.?]/g, '\\$&')}[A-Za-z0-9_.-]+$`);

/**
 * Whether `name` is a body channel the interface could have made: the pattern and a non-empty
 * suffix of channel-name characters, at most 99 characters in all (ASGI's name limit).
 */
export function isHttpBodyChannel(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 99 && BODY_CHANNEL.test(name);
}

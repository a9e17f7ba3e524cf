import type { ChannelMessage } from '../layers/channel-message';

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  return undefined;
};

/**
 * The headers of an `http.request` or `websocket.connect` message as `[name, value]` text pairs
 * (latin1), in order: from ASGI's list of byte pairs, or from a plain `{ name: value }` object
 * (as Channels' test clients wrote them).
 */
export function headerPairs(content: ChannelMessage): Array<[string, string]> {
  const headers = content.headers;
  const pairs: Array<[string, string]> = [];
  if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length < 2) continue;
      const [name, value] = [text(pair[0]), text(pair[1])];
      if (name !== undefined && value !== undefined) pairs.push([name, value]);
    }
  } else if (typeof headers === 'object' && headers !== null && !(headers instanceof Uint8Array)) {
    for (const [name, raw] of Object.entries(headers)) {
      const value = text(raw);
      if (value !== undefined) pairs.push([name, value]);
    }
  }
  return pairs;
}

/** Every value of a request header of a message (either header form); names match any case. */
export function headerValues(content: ChannelMessage, name: string): string[] {
  const wanted = name.toLowerCase();
  return headerPairs(content)
    .filter(([key]) => key.toLowerCase() === wanted)
    .map(([, value]) => value);
}

/**
 * The query string of an `http.request` or `websocket.connect` message (bytes in ASGI) as
 * `URLSearchParams`: `queryParams(message).get('username')`. Takes a `Message` or its content.
 */
export function queryParams(message: ChannelMessage | { readonly content: ChannelMessage }): URLSearchParams {
  const content = 'content' in message && isContent(message.content) ? message.content : (message as ChannelMessage);
  return new URLSearchParams(text(content.query_string) ?? '');
}

function isContent(value: unknown): value is ChannelMessage {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value);
}

/** The first value of a query-string parameter of the message, or undefined. */
export function queryParameter(content: ChannelMessage, name: string): string | undefined {
  return queryParams(content).get(name) ?? undefined;
}

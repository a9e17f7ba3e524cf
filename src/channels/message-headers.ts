import type { ChannelMessage } from '../layers/channel-message';

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  return undefined;
};

/**
 * Every value of a request header in an `http.request` or `websocket.connect` message: ASGI's
 * list of `[name, value]` byte pairs, or a plain `{ name: value }` object; names match any case.
 */
export function headerValues(content: ChannelMessage, name: string): string[] {
  const wanted = name.toLowerCase();
  const headers = content.headers;
  const values: string[] = [];
  if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length < 2) continue;
      if (text(pair[0])?.toLowerCase() === wanted) {
        const value = text(pair[1]);
        if (value !== undefined) values.push(value);
      }
    }
  } else if (typeof headers === 'object' && headers !== null && !(headers instanceof Uint8Array)) {
    for (const [key, raw] of Object.entries(headers)) {
      const value = key.toLowerCase() === wanted ? text(raw) : undefined;
      if (value !== undefined) values.push(value);
    }
  }
  return values;
}

/** The first value of a query-string parameter of the message, or undefined. */
export function queryParameter(content: ChannelMessage, name: string): string | undefined {
  const query = text(content.query_string) ?? '';
  return new URLSearchParams(query).get(name) ?? undefined;
}

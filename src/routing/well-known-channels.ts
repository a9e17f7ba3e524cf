// The channels the interface servers send on (ASGI 1), and the keys of their messages: what a
// route on them can listen to and filter on.

const WEBSOCKET_KEYS = ['reply_channel', 'path', 'order'];
const HTTP_REQUEST_KEYS = [
  'reply_channel',
  'http_version',
  'method',
  'scheme',
  'path',
  'query_string',
  'root_path',
  'headers',
  'body',
  'body_channel',
  'client',
  'server',
];

/** Channel → the keys its messages carry. */
export const WELL_KNOWN_CHANNELS: Readonly<Record<string, readonly string[]>> = {
  'websocket.connect': [...WEBSOCKET_KEYS, 'scheme', 'query_string', 'root_path', 'headers', 'client', 'server'],
  'websocket.receive': [...WEBSOCKET_KEYS, 'text', 'bytes'],
  'websocket.disconnect': [...WEBSOCKET_KEYS, 'code'],
  'http.request': HTTP_REQUEST_KEYS,
  'http.disconnect': ['reply_channel', 'path'],
};

/** The namespaces ASGI reserves for the interface servers' channels. */
const RESERVED_PREFIXES = ['websocket.', 'http.'];

/** Levenshtein distance, for "did you mean" (short strings only). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The closest of `candidates` to `value` within `max` edits, if any. */
export function closest(value: string, candidates: readonly string[], max = 3): string | undefined {
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const candidate of candidates) {
    const d = distance(value, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Whether `channel` is in a namespace only the interface servers send on. */
export function isReservedChannel(channel: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => channel.startsWith(prefix));
}

/** A custom channel name one or two edits from a well-known one (`websocket_receive`): the one it resembles. */
export function resemblesWellKnown(channel: string): string | undefined {
  if (channel in WELL_KNOWN_CHANNELS) return undefined;
  return closest(channel, Object.keys(WELL_KNOWN_CHANNELS), 2);
}

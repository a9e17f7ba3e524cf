import type { IncomingMessage } from 'node:http';

/**
 * Request headers as ASGI wants them: `[name, value]` bytes, names lowercased, names with `_`
 * dropped, and `omit` (a proxy header the interface consumed) left out.
 */
export function asgiHeaders(request: IncomingMessage, omit?: string): Buffer[][] {
  const headers: Buffer[][] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name.includes('_') || name === omit) continue; // `_`: they could spoof dash-named headers behind a proxy
    headers.push([Buffer.from(name, 'latin1'), Buffer.from(raw[i + 1], 'latin1')]);
  }
  return headers;
}

/** Path (percent-decoded) and raw query string of a request. */
export function splitTarget(url: string): { path: string; rawPath: string; query: Buffer } {
  const question = url.indexOf('?');
  const rawPath = question === -1 ? url : url.slice(0, question);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  return { path, rawPath, query: Buffer.from(question === -1 ? '' : url.slice(question + 1), 'latin1') };
}

/**
 * Request headers with each name once, as Daphne gave `websocket.connect` (its WebSocket library
 * re-read the handshake): names lowercased, repeated values joined with `,` in order (`; ` for
 * `cookie`, whose values `,` would corrupt).
 */
export function mergedAsgiHeaders(request: IncomingMessage, omit?: string): Buffer[][] {
  const merged = new Map<string, string[]>();
  for (const [name, value] of asgiHeaders(request, omit)) {
    const key = name.toString('latin1');
    const values = merged.get(key) ?? [];
    values.push(value.toString('latin1'));
    merged.set(key, values);
  }
  return [...merged].map(([name, values]) => [
    Buffer.from(name, 'latin1'),
    Buffer.from(values.join(name === 'cookie' ? '; ' : ','), 'latin1'),
  ]);
}

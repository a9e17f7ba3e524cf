import type { Message } from '../channels/message';

/** An `http.request` message as a request-like object. */
export interface ChannelsHttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  cookies: Record<string, string>;
  /** The whole body (chunks from the body channel included). */
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

/** Reads an `http.request` message, following its body channel when the body came in chunks. */
export async function readHttpRequest(message: Message, timeoutSeconds = 30): Promise<ChannelsHttpRequest> {
  const content = message.content;
  const chunks = [Buffer.from((content.body as Uint8Array | undefined) ?? [])];
  if (typeof content.body_channel === 'string') {
    for (;;) {
      const [, chunk] = await message.channelLayer.receive([content.body_channel], {
        block: true,
        timeout: timeoutSeconds,
      });
      if (!chunk) throw new Error('the request body did not arrive in time');
      if (chunk.closed) throw new Error('the client went away before the whole body arrived');
      if (chunk.content instanceof Uint8Array) chunks.push(Buffer.from(chunk.content));
      if (!chunk.more_content) break;
    }
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of (content.headers ?? []) as Uint8Array[][]) {
    const key = Buffer.from(name).toString('latin1');
    const text = Buffer.from(value).toString('latin1');
    headers[key] = headers[key] === undefined ? text : `${headers[key]}, ${text}`;
  }
  const body = Buffer.concat(chunks);
  return {
    method: String(content.method),
    path: String(content.path),
    query: new URLSearchParams(Buffer.from((content.query_string as Uint8Array | undefined) ?? []).toString('latin1')),
    headers,
    cookies: parseCookies(headers.cookie),
    body,
    text: () => body.toString('utf8'),
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  };
}

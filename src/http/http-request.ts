import type { Message } from '../channels/message';
import { HTTP_BODY_CHANNEL_PATTERN, isHttpBodyChannel } from './body-channel';
import { RequestAborted, RequestTimeout } from './request-exceptions';
import { headerPairs } from '../channels/message-headers';

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

/** A refused value as the error shows it: JSON (so control characters are escaped), shortened. */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = `a ${typeof value}`;
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Reads an `http.request` message, following its body channel when the body came in chunks:
 * `RequestTimeout` (answered 408) when a chunk does not come within `timeoutSeconds`,
 * `RequestAborted` (nothing to answer) when the client went away mid-body. Only a
 * body channel the interface made is followed (`http.request.body?` and a random suffix): any other
 * `body_channel` is a `TypeError`, before anything is read, so a forged message cannot drain
 * another channel.
 */
export async function readHttpRequest(message: Message, timeoutSeconds = 30): Promise<ChannelsHttpRequest> {
  const content = message.content;
  const bodyChannel = content.body_channel ?? undefined;
  if (bodyChannel !== undefined && !isHttpBodyChannel(bodyChannel)) {
    throw new TypeError(
      `Refusing to read the request body from body_channel ${shown(bodyChannel)}: only a channel the ` +
        `interface made ("${HTTP_BODY_CHANNEL_PATTERN}" and a random suffix) is followed`,
    );
  }
  const chunks = [Buffer.from((content.body as Uint8Array | undefined) ?? [])];
  if (bodyChannel !== undefined) {
    for (;;) {
      const [, chunk] = await message.channelLayer.receive([bodyChannel], {
        block: true,
        timeout: timeoutSeconds,
      });
      if (!chunk) throw new RequestTimeout(timeoutSeconds);
      if (chunk.closed) throw new RequestAborted();
      if (chunk.content instanceof Uint8Array) chunks.push(Buffer.from(chunk.content));
      if (!chunk.more_content) break;
    }
  }
  const headers: Record<string, string> = {};
  for (const [name, text] of headerPairs(content)) {
    const key = name.toLowerCase();
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

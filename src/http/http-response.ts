import type { Message } from '../channels/message';
import type { ChannelMessage } from '../layers/channel-message';
import { BODY_CHUNK } from './body-chunk';

export interface ChannelsHttpResponse {
  status?: number;
  headers?: Record<string, string | readonly string[]>;
  /** A string (sent as UTF-8), bytes, an object (sent as JSON), or a stream of bytes (sent as it comes). */
  body?: string | Uint8Array | object | AsyncIterable<Uint8Array | string>;
}

function isStream(body: unknown): body is AsyncIterable<Uint8Array | string> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/** Encodes a response into `http.response` messages (chunked above 512 KiB). */
export function encodeHttpResponse(response: ChannelsHttpResponse): ChannelMessage[] {
  const headers: Record<string, string | readonly string[]> = { ...response.headers };
  let body: Buffer;
  if (response.body === undefined) body = Buffer.alloc(0);
  else if (typeof response.body === 'string') body = Buffer.from(response.body, 'utf8');
  else if (response.body instanceof Uint8Array) body = Buffer.from(response.body);
  else {
    body = Buffer.from(JSON.stringify(response.body));
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json; charset=utf-8';
    }
  }
  const pairs: Buffer[][] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of typeof value === 'string' ? [value] : value) {
      // The name as given, as Channels' encode_response kept it (HTTP names are case-insensitive).
      pairs.push([Buffer.from(name, 'latin1'), Buffer.from(one, 'latin1')]);
    }
  }
  const messages: ChannelMessage[] = [];
  for (let offset = 0; offset === 0 || offset < body.length; offset += BODY_CHUNK) {
    const content = body.subarray(offset, offset + BODY_CHUNK);
    const more = offset + BODY_CHUNK < body.length;
    messages.push(
      offset === 0
        ? { status: response.status ?? 200, headers: pairs, content, more_content: more }
        : { content, more_content: more },
    );
  }
  return messages;
}

/** A part of a streamed body cut into layer-sized chunks; an empty part is one empty chunk, as Channels did. */
function* chunksOf(part: Buffer): Generator<Buffer> {
  if (part.length === 0) yield part;
  for (let offset = 0; offset < part.length; offset += BODY_CHUNK) yield part.subarray(offset, offset + BODY_CHUNK);
}

/**
 * Sends a response to an `http.request` message's reply channel. A stream body is sent part by
 * part as it is read (at once, not held until the consumer ends), so the client sees it as it
 * comes, framed as Channels framed it: the status and headers travel with the first part, every
 * part goes with `more_content: true`, and a last `{ more_content: false }` ends it (N parts, N + 1
 * messages; an empty stream is one message, the status and headers).
 */
export async function sendHttpResponse(message: Message, response: ChannelsHttpResponse): Promise<void> {
  const reply = message.replyChannel;
  if (!reply) throw new TypeError('this message has no reply_channel to answer on');
  if (!isStream(response.body)) {
    for (const part of encodeHttpResponse(response as Omit<ChannelsHttpResponse, 'body'> & { body?: object })) {
      await reply.send(part);
    }
    return;
  }
  const [{ status, headers }] = encodeHttpResponse({ status: response.status, headers: response.headers });
  let head: ChannelMessage | undefined = { status, headers };
  for await (const part of response.body) {
    for (const content of chunksOf(typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))) {
      await reply.send({ ...head, content, more_content: true }, { immediately: true });
      head = undefined;
    }
  }
  await reply.send({ ...head, more_content: false }, { immediately: true });
}

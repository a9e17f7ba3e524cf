// Port of channels 1.1.8 tests/test_handler.py (HandlerTests): AsgiHandler turning a Django response
// into `http.response` messages → sendHttpResponse / encodeHttpResponse.
//
// Translation notes, for every test here:
// - The original's FakeAsgiHandler returned a premade Django response for the request message and
//   collected the reply messages. Here the premade response is given to `sendHttpResponse(message,
//   response)` for the request message, and the reply messages are read back from its reply
//   channel ("test", as in the original: the request's own channel).
// - Django's response classes become the package's response object: `HttpResponse(body,
//   content_type=...)` → `{ headers: { 'Content-Type': ... }, body }`, `StreamingHttpResponse(parts)` /
//   `FileResponse(file)` → a stream body (an async iterable, e.g. a Node Readable).
// - FakeAsgiHandler set `chunk_size = 30`; the package's response chunk is fixed at Channels' default
//   `chunk_size` (512 KiB, README "HTTP over channels": "chunked above 512 KiB"), so the chunking
//   tests use bodies sized around 512 KiB instead of 30 bytes.
import { sign } from 'cookie-signature';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestingModule } from '@nestjs/testing';
import {
  Channel,
  encodeHttpResponse,
  Message,
  sendHttpResponse,
  type ChannelLayer,
  type ChannelMessage,
  type ChannelsHttpResponse,
} from '../../../src';
import { getNextMessage } from '../../../src/testing';
import { layerOf, startChannelsApp } from './support';

/** AsgiHandler.chunk_size's default, the package's response chunk. */
const CHUNK_SIZE = 512 * 1024;

const REQUEST: ChannelMessage = {
  reply_channel: 'test',
  http_version: '1.1',
  method: 'GET',
  path: Buffer.from('/test/'),
};

/** The reply's headers as a dict of latin-1 strings, as `dict(reply["headers"])`. */
function headerDict(reply: ChannelMessage): Record<string, string> {
  const pairs = reply.headers as Buffer[][];
  return Object.fromEntries(pairs.map(([name, value]) => [name.toString('latin1'), value.toString('latin1')]));
}

/** `reply.get("content", b"")` */
const contentOf = (reply: ChannelMessage): Buffer => (reply.content as Buffer | undefined) ?? Buffer.alloc(0);
/** `reply.get("more_content", False)` */
const moreContentOf = (reply: ChannelMessage): boolean => (reply.more_content as boolean | undefined) ?? false;

/** Byte equality for bodies of 512 KiB (Jest's toEqual walks them byte by byte, slowly). */
function expectBytes(actual: unknown, expected: Buffer): void {
  expect(Buffer.isBuffer(actual)).toBe(true);
  expect((actual as Buffer).length).toBe(expected.length);
  expect((actual as Buffer).equals(expected)).toBe(true);
}

async function* parts(...items: string[]): AsyncGenerator<string> {
  for (const item of items) yield item;
}

describe('HandlerTests (channels 1.1.8 tests/test_handler.py)', () => {
  let app: TestingModule;
  let layer: ChannelLayer;

  beforeEach(async () => {
    app = await startChannelsApp();
    layer = layerOf(app);
  });
  afterEach(() => app.close());

  /** Sends the stub request, answers it with `response` and returns every reply message. */
  async function handle(response: ChannelsHttpResponse): Promise<ChannelMessage[]> {
    await new Channel('test').send(REQUEST);
    const request = await getNextMessage(layer, 'test', { require: true });
    await sendHttpResponse(new Message(request!.content, request!.channel, layer), response);
    const replies: ChannelMessage[] = [];
    for (;;) {
      const next = await getNextMessage(layer, 'test');
      if (next === null) return replies;
      replies.push(next.content);
    }
  }

  it('test_basic: a simple request gets one message with content, status and headers', async () => {
    const replies = await handle({ headers: { 'Content-Type': 'text/plain' }, body: Buffer.from('Hi there!') });
    // Make sure we got the right number of messages
    expect(replies).toHaveLength(1);
    const reply = replies[0];
    // Make sure the message looks correct
    expect(reply.content).toEqual(Buffer.from('Hi there!'));
    expect(reply.status).toBe(200);
    expect(moreContentOf(reply)).toBe(false);
    expect(reply.headers).toEqual([[Buffer.from('Content-Type'), Buffer.from('text/plain')]]);
  });

  it('test_cookies: a cookie set on the response is the second header', async () => {
    // response.set_signed_cookie('foo', '1', expires=datetime.now()): a Set-Cookie header signed
    // with cookie-signature (express's signed cookies) in place of Django's signer.
    const replies = await handle({
      headers: {
        'Content-Type': 'text/plain',
        'Set-Cookie': `foo=${encodeURIComponent(`s:${sign('1', 'cat')}`)}; Expires=${new Date().toUTCString()}; Path=/`,
      },
      body: Buffer.from('Hi there!'),
    });
    expect(replies).toHaveLength(1);
    const reply = replies[0];
    expect(reply.content).toEqual(Buffer.from('Hi there!'));
    expect(reply.status).toBe(200);
    expect(moreContentOf(reply)).toBe(false);
    const headers = reply.headers as Buffer[][];
    expect(headers[0]).toEqual([Buffer.from('Content-Type'), Buffer.from('text/plain')]);
    expect(headers[1][1].toString()).toContain('foo=');
  });

  it('test_headers: set headers are sent and deleted ones are not', async () => {
    const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
    headers.foo = String(1);
    headers.bar = String(1);
    delete headers.bar;
    delete headers.nonexistant_key;
    const replies = await handle({ headers, body: Buffer.from('Hi there!') });
    expect(replies).toHaveLength(1);
    expect(replies[0].content).toEqual(Buffer.from('Hi there!'));
    const header_dict = headerDict(replies[0]);
    expect(header_dict.foo).toBe('1');
    expect(header_dict).not.toHaveProperty('bar');
  });

  it('test_large: a large response is chunked', async () => {
    // "Thefirstthirtybytesisrighthere" + "andhereistherest" with chunk_size 30, scaled to 512 KiB.
    const first = Buffer.alloc(CHUNK_SIZE, 'Thefirstthirtybytesisrighthere');
    const rest = Buffer.from('andhereistherest');
    const replies = await handle({ body: Buffer.concat([first, rest]) });
    // Make sure we got the right number of messages
    expect(replies).toHaveLength(2);
    // Make sure the messages look correct
    expectBytes(replies[0].content, first);
    expect(replies[0].status).toBe(200);
    expect(replies[0].more_content).toBe(true);
    expect(replies[1].content).toEqual(rest);
    expect(moreContentOf(replies[1])).toBe(false);
  });

  it('test_empty: an empty response is one message', async () => {
    const replies = await handle({ status: 304, body: Buffer.from('') });
    expect(replies).toHaveLength(1);
    expect(contentOf(replies[0])).toEqual(Buffer.alloc(0));
    expect(replies[0].status).toBe(304);
    expect(replies[0].more_content).toBe(false);
  });

  it('test_empty_streaming: an empty streaming response is one message', async () => {
    // StreamingHttpResponse([], status=304)
    const replies = await handle({ status: 304, body: parts() });
    expect(replies).toHaveLength(1);
    expect(contentOf(replies[0])).toEqual(Buffer.alloc(0));
    expect(replies[0].status).toBe(304);
    expect(replies[0].more_content).toBe(false);
  });

  it('test_chunk_bytes: chunk boundaries (empty, below, exactly, just above the chunk size)', () => {
    // FakeAsgiHandler.chunk_bytes(data) yields (chunk, is_last); it is not public here, so the
    // chunks are those encodeHttpResponse cuts a body into, and is_last is `not more_content`.
    const chunkBytes = (data: Buffer): Array<[Buffer, boolean]> =>
      encodeHttpResponse({ body: data }).map((message) => [message.content as Buffer, !message.more_content]);
    // Empty string should still return one chunk
    let result = chunkBytes(Buffer.from(''));
    expect(result).toHaveLength(1);
    expect(result[0][0]).toEqual(Buffer.from(''));
    expect(result[0][1]).toBe(true);
    // Below chunk size
    const below = Buffer.alloc(CHUNK_SIZE - 1, '1234567890');
    result = chunkBytes(below);
    expect(result).toHaveLength(1);
    expectBytes(result[0][0], below);
    expect(result[0][1]).toBe(true);
    // Exactly chunk size
    const exactly = Buffer.alloc(CHUNK_SIZE, '1234567890');
    result = chunkBytes(exactly);
    expect(result).toHaveLength(1);
    expectBytes(result[0][0], exactly);
    expect(result[0][1]).toBe(true);
    // Just above chunk size
    result = chunkBytes(Buffer.concat([exactly, Buffer.from('a')]));
    expect(result).toHaveLength(2);
    expectBytes(result[0][0], exactly);
    expect(result[0][1]).toBe(false);
    expect(result[1][0]).toEqual(Buffer.from('a'));
    expect(result[1][1]).toBe(true);
  });

  it('test_streaming_data: every streamed part is a message, then one to end the response', async () => {
    // StreamingHttpResponse('Line: %s' % i for i in range(10))
    const lines = Array.from({ length: 10 }, (_, i) => `Line: ${i}`);
    const replies = await handle({ body: parts(...lines) });
    expect(replies).toHaveLength(11);
    expect(replies[0].content).toEqual(Buffer.from('Line: 0'));
    expect(replies[9].content).toEqual(Buffer.from('Line: 9'));
  });

  it('test_real_file_response: a response streaming a real file', async () => {
    // FileResponse(open('a_file', 'rb')): the original's tests/a_file, read as a Node stream.
    const replies = await handle({ body: createReadStream(join(__dirname, 'a_file')) });
    expect(replies).toHaveLength(2);
    // response.getvalue() == b'' (the Django response was consumed): no counterpart.
  });

  it('test_bytes_file_response: a response streaming an in-memory file of bytes', async () => {
    // FileResponse(BytesIO(b'sadfdasfsdfsadf')): a stream over the bytes.
    const replies = await handle({ body: Readable.from(Buffer.from('sadfdasfsdfsadf')) });
    expect(replies).toHaveLength(2);
  });

  it('test_string_file_response: a response streaming a string, part by part', async () => {
    // FileResponse('abcd'): Python iterates a str character by character, so the response has
    // four parts; the same parts as a stream here.
    const replies = await handle({ body: parts(...'abcd') });
    expect(replies).toHaveLength(5);
  });

  it('test_unclosable_filelike_object: a stream that cannot be closed and gives nothing', async () => {
    // A readable object that cannot be closed: an async iterator without `return`, which reads nothing.
    const unclosable: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }),
    };
    const replies = await handle({ body: unclosable });
    expect(replies.slice(0, 5)).toHaveLength(1);
  });

  it('test_json_response: a JSON response body', async () => {
    // JsonResponse({'foo': (1, 2)}) → an object body (a tuple is a list in JSON). The original's
    // b'{"foo": [1, 2]}' is Python's json.dumps spacing; JSON.stringify writes no spaces, so the
    // body is compared as JSON.
    const replies = await handle({ body: { foo: [1, 2] } });
    expect(replies).toHaveLength(1);
    expect(JSON.parse((replies[0].content as Buffer).toString())).toEqual({ foo: [1, 2] });
  });

  it('test_redirect: a redirect keeps its Location verbatim', async () => {
    for (const redirectTo of ['/', '..', 'https://example.com']) {
      // HttpResponseRedirect(redirect_to)
      const replies = await handle({ status: 302, headers: { Location: redirectTo } });
      expect(replies[0].status).toBe(302);
      const header_dict = headerDict(replies[0]);
      expect(header_dict.Location).toBe(redirectTo);
    }
  });
});

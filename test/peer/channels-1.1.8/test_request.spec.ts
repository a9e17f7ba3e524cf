// Port of channels 1.1.8 tests/test_request.py (RequestTests): AsgiRequest → readHttpRequest.
//
// Translation notes, for every test here:
// - `AsgiRequest(message)` is `readHttpRequest(message)`, whose result has `method`, `path`,
//   `query` (URLSearchParams), `headers` (lowercased names), `cookies` and `body` (a Buffer).
//   Django's `request.META["HTTP_HOST"]` is `headers.host`, `CONTENT_TYPE` is `headers["content-type"]`,
//   `GET` is `query`, `COOKIES` is `cookies`. Django's `POST` (a parsed urlencoded form) has no
//   counterpart: the form is decoded from the body with URLSearchParams, the platform's parser.
// - `REMOTE_ADDR`/`REMOTE_HOST`/`REMOTE_PORT`/`SERVER_NAME`/`SERVER_PORT` come from the message's
//   `client` and `server`, which readHttpRequest does not expose: those assertions have nothing to
//   check here and are left as comments.
// - The original's body channel is named "test-input"; readHttpRequest follows only body channels
//   of the interface's shape (README, "HTTP over channels"), so the port makes one with
//   `newChannel(HTTP_BODY_CHANNEL_PATTERN)`. The body chunks are the original's.
// - The headers are sent as the original sent them: the legacy dict form ({"host": b"..."}), which
//   Channels' AsgiRequest converted to the list form.
import type { TestingModule } from '@nestjs/testing';
import {
  Channel,
  HTTP_BODY_CHANNEL_PATTERN,
  Message,
  readHttpRequest,
  RequestAborted,
  RequestTimeout,
  type ChannelLayer,
} from '../../../src';
import { getNextMessage } from '../../../src/testing';
import { layerOf, startChannelsApp } from './support';

describe('RequestTests (channels 1.1.8 tests/test_request.py)', () => {
  let app: TestingModule;
  let layer: ChannelLayer;

  beforeEach(async () => {
    app = await startChannelsApp();
    layer = layerOf(app);
  });
  afterEach(() => app.close());

  /** ChannelTestCase.get_next_message(channel, require=True), as a Message. */
  async function nextMessage(channel: string): Promise<Message> {
    const next = await getNextMessage(layer, channel, { require: true });
    return new Message(next!.content, next!.channel, layer);
  }

  it('test_basic: the most basic request message, with all optional fields omitted', async () => {
    await new Channel('test').send(
      { reply_channel: 'test-reply', http_version: '1.1', method: 'GET', path: '/test/' },
      { immediately: true },
    );
    const request = await readHttpRequest(await nextMessage('test'));
    expect(request.path).toBe('/test/');
    expect(request.method).toBe('GET');
    expect(request.body.length).toBe(0);
    expect(request.headers.host).toBeUndefined(); // "HTTP_HOST" not in META
    // assertNotIn REMOTE_ADDR / REMOTE_HOST / REMOTE_PORT, assertIn SERVER_NAME / SERVER_PORT: no counterpart.
    expect([...request.query]).toEqual([]); // GET is empty
    expect([...new URLSearchParams(request.text())]).toEqual([]); // POST is empty
    expect(request.cookies).toEqual({}); // COOKIES is empty
  });

  it('test_extended: a more fully-featured GET request', async () => {
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'GET',
        path: '/test2/',
        query_string: Buffer.from('x=1&y=%26foo+bar%2Bbaz'),
        headers: {
          host: Buffer.from('example.com'),
          cookie: Buffer.from('test-time=1448995585123; test-value=yeah'),
        },
        client: ['10.0.0.1', 1234],
        server: ['10.0.0.2', 80],
      },
      { immediately: true },
    );
    const request = await readHttpRequest(await nextMessage('test'));
    expect(request.path).toBe('/test2/');
    expect(request.method).toBe('GET');
    expect(request.body.length).toBe(0);
    expect(request.headers.host).toBe('example.com');
    // REMOTE_ADDR == REMOTE_HOST == "10.0.0.1", REMOTE_PORT == 1234, SERVER_NAME == "10.0.0.2",
    // SERVER_PORT == "80": no counterpart on the request readHttpRequest gives.
    expect(request.query.get('x')).toBe('1');
    expect(request.query.get('y')).toBe('&foo bar+baz');
    expect(request.cookies['test-time']).toBe('1448995585123');
    expect(request.cookies['test-value']).toBe('yeah');
    expect([...new URLSearchParams(request.text())]).toEqual([]); // POST is empty
  });

  it('test_post_single: a POST body contained within a single message', async () => {
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'POST',
        path: '/test2/',
        query_string: 'django=great',
        body: Buffer.from('ponies=are+awesome'),
        headers: {
          host: Buffer.from('example.com'),
          'content-type': Buffer.from('application/x-www-form-urlencoded'),
          'content-length': Buffer.from('18'),
        },
      },
      { immediately: true },
    );
    const request = await readHttpRequest(await nextMessage('test'));
    expect(request.path).toBe('/test2/');
    expect(request.method).toBe('POST');
    expect(request.body).toEqual(Buffer.from('ponies=are+awesome'));
    expect(request.headers.host).toBe('example.com');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.query.get('django')).toBe('great');
    const post = new URLSearchParams(request.text());
    expect(post.get('ponies')).toBe('are awesome');
    expect(post.get('django')).toBeNull(); // KeyError
    expect(request.query.get('ponies')).toBeNull(); // KeyError
  });

  it("test_post_multiple: a POST body across multiple messages (first part in 'body')", async () => {
    const bodyChannel = await layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'POST',
        path: '/test/',
        body: Buffer.from('there_a'),
        body_channel: bodyChannel,
        headers: {
          host: Buffer.from('example.com'),
          'content-type': Buffer.from('application/x-www-form-urlencoded'),
          'content-length': Buffer.from('21'),
        },
      },
      { immediately: true },
    );
    await new Channel(bodyChannel).send({ content: Buffer.from('re=fou'), more_content: true }, { immediately: true });
    await new Channel(bodyChannel).send({ content: Buffer.from('r+lights') }, { immediately: true });
    const request = await readHttpRequest(await nextMessage('test'));
    expect(request.method).toBe('POST');
    expect(request.body).toEqual(Buffer.from('there_are=four+lights'));
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(request.text()).get('there_are')).toBe('four lights');
  });

  it('test_post_files: multipart form data over multiple messages, with no body in the initial message', async () => {
    const body = Buffer.concat(
      [
        '--BOUNDARY\r\n',
        'Content-Disposition: form-data; name="title"\r\n\r\n',
        'My First Book\r\n',
        '--BOUNDARY\r\n',
        'Content-Disposition: form-data; name="pdf"; filename="book.pdf"\r\n\r\n',
        'FAKEPDFBYTESGOHERE',
        '--BOUNDARY--',
      ].map((part) => Buffer.from(part)),
    );
    const bodyChannel = await layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'POST',
        path: '/test/',
        body_channel: bodyChannel,
        headers: {
          'content-type': Buffer.from('multipart/form-data; boundary=BOUNDARY'),
          'content-length': Buffer.from(String(body.length), 'ascii'),
        },
      },
      { immediately: true },
    );
    await new Channel(bodyChannel).send({ content: body.subarray(0, 20), more_content: true }, { immediately: true });
    await new Channel(bodyChannel).send({ content: body.subarray(20) }, { immediately: true });
    const request = await readHttpRequest(await nextMessage('test'));
    expect(request.method).toBe('POST');
    expect(request.body.length).toBe(body.length);
    expect(request.headers['content-type'].startsWith('multipart/form-data')).toBe(true);
    // `_post_parse_error` is False, POST["title"] == "My First Book", FILES["pdf"] holds
    // b"FAKEPDFBYTESGOHERE": Django's multipart parser, which has no counterpart in the package.
    // The whole body must have come through unchanged for it:
    expect(request.body).toEqual(body);
  });

  it('test_stream: the body read as a stream', async () => {
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'PUT',
        path: '/',
        body: Buffer.from('onetwothree'),
        headers: { host: Buffer.from('example.com'), 'content-length': Buffer.from('11') },
      },
      { immediately: true },
    );
    const request = await readHttpRequest(await nextMessage('test'));
    expect(request.method).toBe('PUT');
    // request.read(3) == b"one", then request.read() == b"twothree": the package gives the body
    // as one Buffer (no file-like stream), so its two parts are checked on it.
    expect(request.body.subarray(0, 3)).toEqual(Buffer.from('one'));
    expect(request.body.subarray(3)).toEqual(Buffer.from('twothree'));
  });

  it('test_request_timeout: reading gives up after the request body read timeout', async () => {
    const bodyChannel = await layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'POST',
        path: '/test/',
        body: Buffer.from('there_a'),
        body_channel: bodyChannel,
        headers: {
          host: Buffer.from('example.com'),
          'content-type': Buffer.from('application/x-www-form-urlencoded'),
          'content-length': Buffer.from('21'),
        },
      },
      { immediately: true },
    );
    // Say there's more content, but never provide it!
    await new Channel(bodyChannel).send({ content: Buffer.from('re=fou'), more_content: true }, { immediately: true });
    // VeryImpatientRequest (body_receive_timeout = 0) → readHttpRequest's timeout argument.
    await expect(readHttpRequest(await nextMessage('test'), 0)).rejects.toBeInstanceOf(RequestTimeout);
  });

  it('test_request_abort: reading aborts when a request-body close is sent', async () => {
    const bodyChannel = await layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    await new Channel('test').send(
      {
        reply_channel: 'test',
        http_version: '1.1',
        method: 'POST',
        path: '/test/',
        body: Buffer.from('there_a'),
        body_channel: bodyChannel,
        headers: {
          host: Buffer.from('example.com'),
          'content-type': Buffer.from('application/x-www-form-urlencoded'),
          'content-length': Buffer.from('21'),
        },
      },
      { immediately: true },
    );
    await new Channel(bodyChannel).send({ closed: true }, { immediately: true });
    await expect(readHttpRequest(await nextMessage('test'))).rejects.toBeInstanceOf(RequestAborted);
  });
});

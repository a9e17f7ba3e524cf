/**
 * Daphne 1.4.2, daphne/tests/test_http_response.py: the HTTP response section of the ASGI spec.
 * The test takes a request's `http.request` off the app's layer, sends a response message on its
 * `reply_channel` and reads the raw bytes the client gets.
 *
 * Response header pairs are sent as bytes (Buffers): the original passed text pairs, which Daphne
 * encoded as latin-1; ASGI 1 says bytes, and so does this package's `encodeHttpResponse`.
 */
import type { ChannelMessage } from '../../../src';
import { ADAPTERS, DaphneApp, httpResponseLength, responseForMessage, type AdapterName } from './factories';
import { forAll, headers, httpBody, type Headers } from './http-strategies';
import { assertValidHttpResponseMessage } from './testcases';

/** Examples per property (Hypothesis ran 100 by default). */
const EXAMPLES = 30;

/** `[(name.lower(), value) for name, value in headers]`, as byte pairs. */
const lowercased = (pairs: Headers): Buffer[][] =>
  pairs.map(([name, value]) => [Buffer.from(name.toLowerCase(), 'latin1'), Buffer.from(value, 'latin1')]);

describe.each(ADAPTERS)('Daphne 1.4.2 test_http_response (%s)', (adapter: AdapterName) => {
  let app: DaphneApp;

  beforeAll(async () => {
    app = await DaphneApp.start(adapter);
  });
  afterAll(async () => {
    await app?.close();
  });

  describe('TestHTTPResponseSpec', () => {
    it('test_minimal_response', async () => {
      const message: ChannelMessage = { status: 200 };
      const response = await responseForMessage(app, message);
      assertValidHttpResponseMessage(message, response);
      expect(response.toString('latin1')).toContain('200 OK');
      // The response is the last of the chunks: with no Content-Length, Daphne (Twisted) sent it
      // with Transfer-Encoding: chunked.
      expect(response.toString('latin1').endsWith('0\r\n\r\n')).toBe(true);
    });

    it('test_status_code_required', async () => {
      // Daphne's dispatch_reply raised ValueError for a response without 'status'. Here the reply
      // goes through the layer, so no exception reaches the sender; the translation is that the
      // message is refused: no response comes of it. Checked without waiting: a valid response
      // sent after it is the first (and only) one the client gets.
      const client = await app.open();
      try {
        client.write(Buffer.from('GET / HTTP/1.1\r\n\r\n', 'latin1'));
        const request = await app.receive('http.request', client);
        await app.reply(request.reply_channel, {});
        await app.reply(request.reply_channel, { status: 201 });
        const response = await client.take(httpResponseLength);
        expect(response.toString('latin1')).toMatch(/^HTTP\/1\.1 201 /);
      } finally {
        client.destroy();
      }
    });

    it('test_status_code_is_transmitted', async () => {
      // Not 204 and the like: Twisted (and Node) drop the body of some statuses.
      const message: ChannelMessage = { status: 201 }; // Created
      const response = await responseForMessage(app, message);
      assertValidHttpResponseMessage(message, response);
      expect(response.toString('latin1')).toContain('201 Created');
    });

    it('test_body_is_transmitted', async () => {
      await forAll(EXAMPLES, httpBody, async (body) => {
        const message: ChannelMessage = { status: 200, content: Buffer.from(body, 'latin1') };
        const response = await responseForMessage(app, message);
        assertValidHttpResponseMessage(message, response);
      });
    });

    it('test_headers', async () => {
      await forAll(EXAMPLES, headers, async (pairs) => {
        // ASGI asks for lowercased header names.
        const message: ChannelMessage = { status: 200, headers: lowercased(pairs) };
        const response = await responseForMessage(app, message);
        assertValidHttpResponseMessage(message, response);
      });
    });

    it('test_kitchen_sink', async () => {
      await forAll(
        EXAMPLES,
        (draw) => ({ pairs: headers(draw), body: httpBody(draw) }),
        async ({ pairs, body }) => {
          const message: ChannelMessage = {
            status: 202, // Accepted
            headers: lowercased(pairs),
            content: Buffer.from(body, 'latin1'),
          };
          const response = await responseForMessage(app, message);
          assertValidHttpResponseMessage(message, response);
        },
      );
    });
  });

  describe('TestHTTPResponse', () => {
    it('test_http_disconnect_sets_path_key', async () => {
      // http.disconnect has the path key set (Channels' ASGI doc, "Disconnect").
      // Translation choice (README, "Decisions where the spec leaves a choice"): Daphne 1.4 also
      // sent http.disconnect after every finished response, which the original relied on by
      // answering first; this package sends it only when the client leaves before its answer. So
      // the client leaves instead of being answered, and the disconnect must carry the same path.
      const client = await app.open();
      client.write(Buffer.from('GET /te%20st-%C3%A0/?foo=bar HTTP/1.1\r\nHost: anywhere.com\r\n\r\n', 'latin1'));
      await app.receive('http.request', client);
      client.destroy();
      const [, disconnect] = await app.layer.receive(['http.disconnect'], { block: true, timeout: 3 });
      expect(disconnect?.path).toBe('/te st-à/');
    });
  });
});

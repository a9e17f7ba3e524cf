/**
 * Daphne 1.4.2, daphne/tests/test_http_request.py: the HTTP request section of the ASGI spec, and
 * proxy handling. Each request is raw bytes on a TCP socket to a running Nest app; the test takes
 * the `http.request` message off the app's layer (its worker is off) and checks it.
 */
import type { ChannelValue } from '../../../src';
import {
  ADAPTERS,
  contentLengthHeader,
  DaphneApp,
  httpResponseLength,
  messageForRequest,
  type AdapterName,
  type RawConnection,
} from './factories';
import { forAll, headers, httpBody, httpMethod, httpPath, queryParams, quote, type Headers } from './http-strategies';
import { assertValidHttpRequestMessage } from './testcases';

/** Examples per property (Hypothesis ran 100 by default). */
const EXAMPLES = 30;

/** Ends a request the test took: a bare 200, read, then the socket closed. */
async function answer(app: DaphneApp, client: RawConnection, replyChannel: ChannelValue): Promise<void> {
  await app.reply(replyChannel, { status: 200 });
  await client.take(httpResponseLength);
  client.destroy();
}

describe.each(ADAPTERS)('Daphne 1.4.2 test_http_request (%s)', (adapter: AdapterName) => {
  let app: DaphneApp;
  /** Daphne's `proxy_forwarded_*_header` settings set: the package's `proxyHeaders`. */
  let proxied: DaphneApp;

  beforeAll(async () => {
    app = await DaphneApp.start(adapter);
    proxied = await DaphneApp.start(adapter, { proxyHeaders: true });
  });
  afterAll(async () => {
    await app?.close();
    await proxied?.close();
  });

  describe('TestHTTPRequestSpec', () => {
    it('test_minimal_request', async () => {
      const [requestMethod, requestPath] = ['GET', '/'];
      const message = await messageForRequest(app, requestMethod, requestPath);
      assertValidHttpRequestMessage(message, requestMethod, requestPath);
    });

    it('test_get_request', async () => {
      await forAll(
        EXAMPLES,
        (draw) => ({ requestPath: httpPath(draw), requestParams: queryParams(draw) }),
        async ({ requestPath, requestParams }) => {
          const requestMethod = 'GET';
          const message = await messageForRequest(app, requestMethod, requestPath, requestParams);
          assertValidHttpRequestMessage(message, requestMethod, requestPath, requestParams);
        },
      );
    });

    it('test_post_request', async () => {
      await forAll(
        EXAMPLES,
        (draw) => ({ requestPath: httpPath(draw), requestBody: httpBody(draw) }),
        async ({ requestPath, requestBody }) => {
          const requestMethod = 'POST';
          const requestHeaders: Headers = [contentLengthHeader(requestBody)];
          const message = await messageForRequest(app, requestMethod, requestPath, null, requestHeaders, requestBody);
          assertValidHttpRequestMessage(message, requestMethod, requestPath, null, requestHeaders, requestBody);
        },
      );
    });

    it('test_headers', async () => {
      await forAll(EXAMPLES, headers, async (requestHeaders) => {
        const [requestMethod, requestPath] = ['OPTIONS', '/te st-à/'];
        const message = await messageForRequest(app, requestMethod, requestPath, null, requestHeaders);
        assertValidHttpRequestMessage(message, requestMethod, requestPath, null, requestHeaders);
      });
    });

    it('test_duplicate_headers', async () => {
      await forAll(
        EXAMPLES,
        headers,
        async (requestHeaders) => {
          // Every header field gets the first one's name.
          const headerName = requestHeaders[0][0];
          const duplicatedHeaders: Headers = requestHeaders.map(([, value]) => [headerName, value]);
          const [requestMethod, requestPath] = ['OPTIONS', '/te st-à/'];
          const message = await messageForRequest(app, requestMethod, requestPath, null, duplicatedHeaders);
          assertValidHttpRequestMessage(message, requestMethod, requestPath, null, duplicatedHeaders);
        },
        (requestHeaders) => requestHeaders.length >= 2, // assume(len(request_headers) >= 2)
      );
    });

    it('test_kitchen_sink', async () => {
      await forAll(
        EXAMPLES,
        (draw) => ({
          requestMethod: httpMethod(draw),
          requestPath: httpPath(draw),
          requestParams: queryParams(draw),
          requestHeaders: headers(draw),
          requestBody: httpBody(draw),
        }),
        async ({ requestMethod, requestPath, requestParams, requestHeaders, requestBody }) => {
          const allHeaders: Headers = [...requestHeaders, contentLengthHeader(requestBody)];
          const message = await messageForRequest(
            app,
            requestMethod,
            requestPath,
            requestParams,
            allHeaders,
            requestBody,
          );
          assertValidHttpRequestMessage(message, requestMethod, requestPath, requestParams, allHeaders, requestBody);
        },
      );
    });

    it('test_headers_are_lowercased_and_stripped', async () => {
      const [requestMethod, requestPath] = ['GET', '/'];
      const requestHeaders: Headers = [['MYCUSTOMHEADER', '   foobar    ']];
      const message = await messageForRequest(app, requestMethod, requestPath, null, requestHeaders);
      assertValidHttpRequestMessage(message, requestMethod, requestPath, null, requestHeaders);
      // Daphne gave a list of tuples; here a list of [name, value] Buffer pairs.
      expect(message.headers).toEqual([[Buffer.from('mycustomheader'), Buffer.from('foobar')]]);
    });

    it('test_root_path_header', async () => {
      // Daphne 1.4.2 honoured Daphne-Root-Path on every request. This package takes it (and drops
      // it from `headers`) as a proxy header, so this runs on the app with proxyHeaders on; the
      // expectations are the original's.
      await forAll(EXAMPLES, httpPath, async (daphnePath) => {
        const [requestMethod, requestPath] = ['GET', '/'];
        // Daphne-Root-Path must be URL-encoded when sent as a header field.
        const requestHeaders: Headers = [['Daphne-Root-Path', quote(daphnePath)]];
        const message = await messageForRequest(proxied, requestMethod, requestPath, null, requestHeaders);
        // Daphne-Root-Path is not in the message's headers: none are expected.
        assertValidHttpRequestMessage(message, requestMethod, requestPath, null, []);
        // root_path is text in http.request (ASGI 1 §10.2).
        expect(message.root_path).toBe(daphnePath);
      });
    });
  });

  describe('TestProxyHandling', () => {
    const request = Buffer.from(
      'GET /te%20st-%C3%A0/?foo=+bar HTTP/1.1\r\n' +
        'Host: somewhere.com\r\n' +
        'X-Forwarded-For: 10.1.2.3\r\n' +
        'X-Forwarded-Port: 80\r\n' +
        '\r\n',
      'latin1',
    );

    it('test_x_forwarded_for_ignored', async () => {
      const client = await app.open();
      client.write(request);
      const message = await app.receive('http.request', client);
      // The original expects ['192.168.1.1', 54321]: the peer of Twisted's StringTransport. Over a
      // real socket the peer is this test's own end of the connection.
      expect(message.client).toEqual(['127.0.0.1', client.localPort]);
      await answer(app, client, message.reply_channel);
    });

    it('test_x_forwarded_for_parsed', async () => {
      const client = await proxied.open();
      client.write(request);
      const message = await proxied.receive('http.request', client);
      expect(message.client).toEqual(['10.1.2.3', 80]);
      await answer(proxied, client, message.reply_channel);
    });

    it('test_x_forwarded_for_port_missing', async () => {
      const client = await proxied.open();
      client.write(
        Buffer.from(
          'GET /te%20st-%C3%A0/?foo=+bar HTTP/1.1\r\n' +
            'Host: somewhere.com\r\n' +
            'X-Forwarded-For: 10.1.2.3\r\n' +
            '\r\n',
          'latin1',
        ),
      );
      const message = await proxied.receive('http.request', client);
      expect(message.client).toEqual(['10.1.2.3', 0]);
      await answer(proxied, client, message.reply_channel);
    });
  });
});

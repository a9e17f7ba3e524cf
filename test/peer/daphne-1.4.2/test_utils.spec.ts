/**
 * Daphne 1.4.2, daphne/tests/test_utils.py: `parse_x_forwarded_for` on Twisted headers (HTTP) and
 * on dict headers (WebSockets). This package has no such utility to call: the parsing lives inside
 * its interface and is switched on with `proxyHeaders`. So each case sends its headers to a
 * running app with `proxyHeaders` on and checks what the utility returned where Daphne put it:
 * the address as the message's `client`, the scheme as its `scheme`.
 *
 * - `original_addr` is the connection's own peer (the test's end of the socket, 127.0.0.1);
 *   `original_scheme` is the connection's own scheme (`http`: plain TCP).
 * - A result's scheme of `None` means "no scheme from the headers": the message keeps the
 *   connection's own. Daphne 1.4.2 sent no `scheme` for WebSockets, so the WebSocket cases check
 *   the address only.
 */
import type { ChannelMessage } from '../../../src';
import { ADAPTERS, buildWebsocketUpgrade, DaphneApp, messageForRequest, type AdapterName } from './factories';
import type { Headers } from './http-strategies';

describe.each(ADAPTERS)('Daphne 1.4.2 test_utils (%s)', (adapter: AdapterName) => {
  let app: DaphneApp;

  beforeAll(async () => {
    app = await DaphneApp.start(adapter, { proxyHeaders: true });
  });
  afterAll(async () => {
    await app?.close();
  });

  /** The `http.request` a `GET /` with these headers becomes. */
  async function httpMessage(headers: Headers): Promise<ChannelMessage> {
    return messageForRequest(app, 'GET', '/', null, headers);
  }

  /** The `websocket.connect` a handshake with these headers becomes, and the client's local port. */
  async function websocketMessage(headers: Headers): Promise<{ message: ChannelMessage; localPort: number }> {
    const client = await app.open();
    try {
      client.write(buildWebsocketUpgrade('/', null, headers));
      const message = await app.receive('websocket.connect', client);
      return { message, localPort: client.localPort };
    } finally {
      client.destroy();
    }
  }

  describe('TestXForwardedForHttpParsing', () => {
    it('test_basic', async () => {
      const message = await httpMessage([
        ['X-Forwarded-For', '10.1.2.3'],
        ['X-Forwarded-Port', '1234'],
        ['X-Forwarded-Proto', 'https'],
      ]);
      // (['10.1.2.3', 1234], 'https'), the address and the scheme text.
      expect(message.client).toEqual(['10.1.2.3', 1234]);
      expect(message.scheme).toBe('https');
      expect(typeof (message.client as string[])[0]).toBe('string');
      expect(typeof message.scheme).toBe('string');
    });

    it('test_address_only', async () => {
      const message = await httpMessage([['X-Forwarded-For', '10.1.2.3']]);
      // (['10.1.2.3', 0], None)
      expect(message.client).toEqual(['10.1.2.3', 0]);
      expect(message.scheme).toBe('http');
    });

    it('test_v6_address', async () => {
      const message = await httpMessage([['X-Forwarded-For', '1043::a321:0001, 10.0.5.6']]);
      // (['1043::a321:0001', 0], None)
      expect(message.client).toEqual(['1043::a321:0001', 0]);
      expect(message.scheme).toBe('http');
    });

    it('test_multiple_proxys', async () => {
      const message = await httpMessage([['X-Forwarded-For', '10.1.2.3, 10.1.2.4']]);
      // (['10.1.2.3', 0], None)
      expect(message.client).toEqual(['10.1.2.3', 0]);
      expect(message.scheme).toBe('http');
    });

    it('test_original_addr', async () => {
      // No proxy headers: the original address comes back (the original passed ['127.0.0.1', 80];
      // here it is the real peer, 127.0.0.1 and the client socket's port).
      const client = await app.open();
      try {
        client.write(Buffer.from('GET / HTTP/1.1\r\n\r\n', 'latin1'));
        const message = await app.receive('http.request', client);
        expect(message.client).toEqual(['127.0.0.1', client.localPort]);
        await app.reply(message.reply_channel, { status: 200 });
        await client.take((data) => (data.length > 0 ? data.length : undefined));
      } finally {
        client.destroy();
      }
    });

    it('test_original_proto', async () => {
      // No proxy headers: the original scheme comes back ('http').
      const message = await httpMessage([]);
      expect(message.scheme).toBe('http');
    });

    it('test_address_and_proto', async () => {
      const message = await httpMessage([
        ['X-Forwarded-For', '10.1.2.3'],
        ['X-Forwarded-Proto', 'https'],
      ]);
      // (['10.1.2.3', 0], 'https')
      expect(message.client).toEqual(['10.1.2.3', 0]);
      expect(message.scheme).toBe('https');
    });
  });

  describe('TestXForwardedForWsParsing', () => {
    it('test_basic', async () => {
      const { message } = await websocketMessage([
        ['X-Forwarded-For', '10.1.2.3'],
        ['X-Forwarded-Port', '1234'],
      ]);
      expect(message.client).toEqual(['10.1.2.3', 1234]);
    });

    it('test_address_only', async () => {
      const { message } = await websocketMessage([['X-Forwarded-For', '10.1.2.3']]);
      expect(message.client).toEqual(['10.1.2.3', 0]);
    });

    it('test_v6_address', async () => {
      // The original gave this one as a list of values; on the wire it is one header field.
      const { message } = await websocketMessage([['X-Forwarded-For', '1043::a321:0001, 10.0.5.6']]);
      expect(message.client).toEqual(['1043::a321:0001', 0]);
    });

    it('test_multiple_proxys', async () => {
      const { message } = await websocketMessage([['X-Forwarded-For', '10.1.2.3, 10.1.2.4']]);
      expect(message.client).toEqual(['10.1.2.3', 0]);
    });

    it('test_original', async () => {
      // No proxy headers: the original address (the real peer) comes back.
      const { message, localPort } = await websocketMessage([]);
      expect(message.client).toEqual(['127.0.0.1', localPort]);
    });
  });
});

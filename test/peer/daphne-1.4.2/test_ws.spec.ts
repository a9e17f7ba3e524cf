/**
 * Daphne 1.4.2, daphne/tests/test_ws.py: the WebSocket handshake and the send/close/accept
 * section of the ASGI spec. As the original, the handshake is raw bytes on a socket (a real TCP
 * socket to a running Nest app here); the test takes `websocket.connect` off the app's layer,
 * answers on its `reply_channel` and reads the raw bytes the client gets.
 */
import type { ChannelMessage } from '../../../src';
import {
  ADAPTERS,
  buildWebsocketUpgrade,
  DaphneApp,
  upgradeResponse,
  websocketFrames,
  type AdapterName,
  type RawConnection,
} from './factories';
import {
  binaryPayload,
  forAll,
  headers,
  httpBody,
  httpPath,
  positiveInteger,
  queryParams,
  type Headers,
  type QueryParams,
} from './http-strategies';
import { assertValidWebsocketConnectMessage, assertWebsocketDenied, assertWebsocketUpgrade } from './testcases';

/** Examples per property (Hypothesis ran 100 by default). */
const EXAMPLES = 30;

/** What the client should get for a reply, so the test knows when all of it is there. */
type Expect = { denied: true } | { upgrade: boolean; frames: number };

/**
 * The original's `WebSocketConnection` helper: one client connection, the last `websocket.connect`
 * taken off the layer, and `send` to answer it and return what the client got since the last send.
 */
class WebSocketConnection {
  lastMessage: ChannelMessage | undefined;
  private client: RawConnection | undefined;
  private upgraded = false;

  constructor(private readonly app: DaphneApp) {}

  /** Lets the app handle the request bytes; returns the `websocket.connect` it sent. */
  async receive(request: Buffer): Promise<ChannelMessage> {
    this.client ??= await this.app.open();
    this.client.write(request);
    this.lastMessage = await this.app.receive('websocket.connect', this.client);
    return this.lastMessage;
  }

  /**
   * Answers with a channel message and returns the client's bytes. Daphne's StringTransport had
   * them all at once; over a socket the test reads until what `expect` describes is complete:
   * the handshake answer and its frames, or (refused) everything until the server closes.
   */
  async send(content: ChannelMessage, expect: Expect): Promise<Buffer> {
    if (this.lastMessage === undefined) await this.connect(); // auto-connect, as the original
    await this.app.reply(this.lastMessage!.reply_channel, content);
    const client = this.client!;
    if ('denied' in expect) return client.takeUntilClosed();
    const frames = expect.frames;
    const response = await client.take(
      expect.upgrade && !this.upgraded ? upgradeResponse(frames) : websocketFrames(frames),
    );
    this.upgraded ||= expect.upgrade;
    return response;
  }

  /** The handshake, high level. */
  async connect(path = '/', params?: QueryParams | null, requestHeaders?: Headers | null): Promise<ChannelMessage> {
    return this.receive(buildWebsocketUpgrade(path, params, requestHeaders ?? []));
  }

  close(): void {
    this.client?.destroy();
  }
}

/** Frames a reply brings: one per non-empty text or bytes, one for a close. */
const frames = (content: ChannelMessage, close = false): number =>
  (typeof content.text === 'string' && content.text !== '' ? 1 : 0) +
  (Buffer.isBuffer(content.bytes) && content.bytes.length > 0 ? 1 : 0) +
  (close ? 1 : 0);

describe.each(ADAPTERS)('Daphne 1.4.2 test_ws (%s)', (adapter: AdapterName) => {
  let app: DaphneApp;
  const connections: WebSocketConnection[] = [];
  const connection = (): WebSocketConnection => {
    const made = new WebSocketConnection(app);
    connections.push(made);
    return made;
  };

  beforeAll(async () => {
    app = await DaphneApp.start(adapter);
  });
  afterEach(() => {
    for (const made of connections.splice(0)) made.close();
  });
  afterAll(async () => {
    await app?.close();
  });

  /** One fresh connection answered with `content`. */
  async function sendOnNew(content: ChannelMessage, expect: Expect): Promise<Buffer> {
    const made = connection();
    try {
      return await made.send(content, expect);
    } finally {
      made.close();
    }
  }

  describe('TestHandshake', () => {
    it('test_minimal', async () => {
      const message = await connection().connect();
      assertValidWebsocketConnectMessage(message);
    });

    it('test_connection', async () => {
      await forAll(
        EXAMPLES,
        (draw) => ({ path: httpPath(draw), params: queryParams(draw), requestHeaders: headers(draw) }),
        async ({ path, params, requestHeaders }) => {
          const made = connection();
          try {
            const message = await made.connect(path, params, requestHeaders);
            assertValidWebsocketConnectMessage(message, path, params, requestHeaders);
          } finally {
            made.close();
          }
        },
      );
    });
  });

  describe('TestSendCloseAccept', () => {
    it('test_empty_accept', async () => {
      const response = await sendOnNew({ accept: true }, { upgrade: true, frames: 0 });
      assertWebsocketUpgrade(response);
    });

    it('test_accept_and_text', async () => {
      await forAll(EXAMPLES, httpBody, async (text) => {
        const content = { accept: true, text };
        const response = await sendOnNew(content, { upgrade: true, frames: frames(content) });
        assertWebsocketUpgrade(response, Buffer.from(text, 'latin1'));
      });
    });

    it('test_accept_and_bytes', async () => {
      await forAll(EXAMPLES, binaryPayload, async (data) => {
        const content = { accept: true, bytes: data };
        const response = await sendOnNew(content, { upgrade: true, frames: frames(content) });
        assertWebsocketUpgrade(response, data);
      });
    });

    it('test_accept_false', async () => {
      const response = await sendOnNew({ accept: false }, { denied: true });
      assertWebsocketDenied(response);
    });

    it('test_accept_false_with_text', async () => {
      // Even with text, the connection is denied (and the text never sent).
      const text = 'foobar';
      const response = await sendOnNew({ accept: false, text }, { denied: true });
      assertWebsocketDenied(response);
      expect(response.includes(Buffer.from(text))).toBe(false);
    });

    it('test_accept_false_with_bytes', async () => {
      const data = Buffer.from('foobar');
      const response = await sendOnNew({ accept: false, bytes: data }, { denied: true });
      assertWebsocketDenied(response);
      expect(response.includes(data)).toBe(false);
    });

    it('test_just_text', async () => {
      await forAll(
        EXAMPLES,
        httpBody,
        async (text) => {
          // Content implies accept: true.
          const content = { text };
          const response = await sendOnNew(content, { upgrade: true, frames: frames(content) });
          assertWebsocketUpgrade(response, Buffer.from(text, 'latin1'));
        },
        (text) => text.length > 0,
      );
    });

    it('test_just_bytes', async () => {
      await forAll(
        EXAMPLES,
        binaryPayload,
        async (data) => {
          const content = { bytes: data };
          const response = await sendOnNew(content, { upgrade: true, frames: frames(content) });
          assertWebsocketUpgrade(response, data);
        },
        (data) => data.length > 0,
      );
    });

    it('test_close_boolean', async () => {
      const response = await sendOnNew({ close: true }, { denied: true });
      assertWebsocketDenied(response);
    });

    it('test_close_integer', async () => {
      await forAll(EXAMPLES, positiveInteger, async (number) => {
        const response = await sendOnNew({ close: number }, { denied: true });
        assertWebsocketDenied(response);
      });
    });

    it('test_close_with_text', async () => {
      await forAll(
        EXAMPLES,
        httpBody,
        async (text) => {
          const content = { close: true, text };
          const response = await sendOnNew(content, { upgrade: true, frames: frames(content, true) });
          assertWebsocketUpgrade(response, Buffer.from(text, 'latin1'), true);
        },
        (text) => text.length > 0,
      );
    });

    it('test_close_with_data', async () => {
      await forAll(
        EXAMPLES,
        binaryPayload,
        async (data) => {
          const content = { close: true, bytes: data };
          const response = await sendOnNew(content, { upgrade: true, frames: frames(content, true) });
          assertWebsocketUpgrade(response, data, true);
        },
        (data) => data.length > 0,
      );
    });
  });

  describe('TestWebSocketProtocol', () => {
    const handshake = (origin: string | null): Buffer =>
      Buffer.from(
        'GET /chat HTTP/1.1\r\n' +
          'Host: somewhere.com\r\n' +
          'Upgrade: websocket\r\n' +
          'Connection: Upgrade\r\n' +
          'Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n' +
          'Sec-WebSocket-Protocol: chat, superchat\r\n' +
          'Sec-WebSocket-Version: 13\r\n' +
          (origin === null ? '' : `Origin: ${origin}\r\n`) +
          '\r\n',
        'latin1',
      );

    /** `(name, value)` header pairs of a message, as latin-1 strings. */
    const headerPairs = (message: ChannelMessage): [string, string][] =>
      (message.headers as Buffer[][]).map(([name, value]) => [name.toString('latin1'), value.toString('latin1')]);

    it('test_basic', async () => {
      const made = connection();
      const message = await made.receive(handshake('http://example.com'));
      expect(message.path).toBe('/chat');
      expect(message.query_string).toEqual(Buffer.from(''));
      expect(headerPairs(message).sort()).toEqual([
        ['connection', 'Upgrade'],
        ['host', 'somewhere.com'],
        ['origin', 'http://example.com'],
        ['sec-websocket-key', 'x3JJHMbDL1EzLkh9GBhXDw=='],
        ['sec-websocket-protocol', 'chat, superchat'],
        ['sec-websocket-version', '13'],
        ['upgrade', 'websocket'],
      ]);
      assertValidWebsocketConnectMessage(message, '/chat');

      // Accept the connection.
      assertWebsocketUpgrade(await made.send({ accept: true }, { upgrade: true, frames: 0 }));

      // Some text.
      const text = await made.send({ text: 'Hello World!' }, { upgrade: true, frames: 1 });
      expect(text).toEqual(Buffer.from('\x81\x0cHello World!', 'latin1'));

      // Some bytes.
      const bytes = await made.send({ bytes: Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]) }, { upgrade: true, frames: 1 });
      expect(bytes).toEqual(Buffer.from([0x82, 0x04, 0xaa, 0xbb, 0xcc, 0xdd]));

      // Close the connection.
      const close = await made.send({ close: true }, { upgrade: true, frames: 1 });
      expect(close).toEqual(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    });

    it('test_connection_with_file_origin_is_accepted', async () => {
      const made = connection();
      const message = await made.receive(handshake('file://'));
      expect(headerPairs(message)).toContainEqual(['origin', 'file://']);
      assertValidWebsocketConnectMessage(message, '/chat');
      assertWebsocketUpgrade(await made.send({ accept: true }, { upgrade: true, frames: 0 }));
    });

    it('test_connection_with_no_origin_is_accepted', async () => {
      const made = connection();
      const message = await made.receive(handshake(null));
      expect(headerPairs(message).map(([name]) => name)).not.toContain('origin');
      assertValidWebsocketConnectMessage(message, '/chat');
      assertWebsocketUpgrade(await made.send({ accept: true }, { upgrade: true, frames: 0 }));
    });
  });
});

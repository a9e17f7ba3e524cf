import { EventEmitter, once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { createWebsocketBridgeMiddleware, WEBSOCKET_BRIDGE_PATH } from '../../src/client/websocket-bridge-script';
import { buildClient } from './build-client';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// The test page loads the IIFE bundle from the app (as a Channels 1.x page would) and records what the bridges see.
// Page code is passed as strings, so this Node project needs no DOM types.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>bridge</title>
<script src="${WEBSOCKET_BRIDGE_PATH}"></script>
<script>
  window.events = [];
  window.record = (kind) => (data, stream) => window.events.push({ kind, data, stream });
  // Small delays so that reconnects are quick in the tests.
  window.fast = { minReconnectionDelay: 50, maxReconnectionDelay: 200, connectionTimeout: 1000 };
</script>
</head><body>bridge test page</body></html>`;

interface Connection {
  ws: WebSocket;
  /** The request path and query the bridge connected to. */
  path: string;
  /** The text frames received from the page. */
  received: string[];
}

/** The app: serves the page and the bridge script over HTTP, and runs a plain `ws` server on the same port. */
class Backend {
  readonly connections: Connection[] = [];
  private readonly events = new EventEmitter();
  private readonly server: Server;
  private readonly wss: WebSocketServer;

  private constructor() {
    const serveScript = createWebsocketBridgeMiddleware();
    this.server = createServer((req, res) =>
      serveScript(req, res, () => {
        if (req.url === '/app/index.html') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(PAGE);
        } else {
          res.writeHead(404);
          res.end();
        }
      }),
    );
    this.wss = new WebSocketServer({ server: this.server });
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      const connection: Connection = { ws, path: req.url ?? '', received: [] };
      ws.on('message', (data, isBinary) => {
        if (!isBinary) connection.received.push(data.toString());
        this.events.emit('message');
      });
      this.connections.push(connection);
      this.events.emit('connection', connection);
    });
  }

  static async start(port = 0): Promise<Backend> {
    const backend = new Backend();
    backend.server.listen(port, '127.0.0.1');
    await once(backend.server, 'listening');
    return backend;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves with the next WebSocket connection (call it before making the page connect). */
  nextConnection(): Promise<Connection> {
    return new Promise((resolve) => this.events.once('connection', resolve));
  }

  /** Waits until `connection` has received `count` frames, and returns them parsed. */
  async receive(connection: Connection, count: number): Promise<unknown[]> {
    const deadline = Date.now() + 5000;
    while (connection.received.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} frames, got ${connection.received.length}`);
      await once(this.events, 'message');
    }
    return connection.received.map((text) => JSON.parse(text) as unknown);
  }

  /** Stops everything: WebSocket connections, keep-alive HTTP connections, the listening socket. */
  async stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('WebSocketBridge in a real browser', () => {
  let browser: Browser;
  let context: BrowserContext;
  let backend: Backend;
  let page: Page;
  let origin: string;
  let warnings: string[];
  let pageErrors: string[];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    }
    await buildClient();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    context = await browser.newContext();
  });
  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    backend = await Backend.start();
    origin = `http://127.0.0.1:${backend.port}`;
    page = await context.newPage();
    page.setDefaultTimeout(5000);
    warnings = [];
    pageErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${origin}/app/index.html`);
  });
  afterEach(async () => {
    await page?.close();
    await backend?.stop();
  });

  /** Events the page recorded, once there are at least `count`. */
  async function pageEvents(count: number): Promise<unknown[]> {
    await page.waitForFunction(`window.events.length >= ${count}`);
    return (await page.evaluate('window.events')) as unknown[];
  }

  it('is served by the app and sets the global `channels`', async () => {
    expect(await page.evaluate('Object.keys(window.channels)')).toEqual(['WebSocketBridge']);
    expect(await page.evaluate('typeof channels.WebSocketBridge')).toBe('function');
  });

  it('resolves no url, absolute paths, relative paths (against the page URL), http(s):// and ws(s):// urls', async () => {
    const host = `127.0.0.1:${backend.port}`;
    const cases: Array<[string | undefined, string]> = [
      [undefined, '/'],
      ['/ws/', '/ws/'],
      ['chat/', '/app/chat/'],
      ['../up/?room=1', '/up/?room=1'],
      [`${origin}/from-http/`, '/from-http/'],
      [`ws://${host}/as-given/`, '/as-given/'],
    ];
    for (const [url, path] of cases) {
      const next = backend.nextConnection();
      const arg = url === undefined ? '' : JSON.stringify(url);
      await page.evaluate(`window.bridge = new channels.WebSocketBridge(); bridge.connect(${arg});`);
      expect((await next).path).toBe(path);
      await page.waitForFunction('bridge.socket.readyState === 1');
      expect(await page.evaluate('bridge.socket.url')).toBe(`ws://${host}${path}`);
      await page.evaluate('bridge.close()');
    }
  });

  it('calls the listen() callback with (message, null), and demultiplex() handlers with (payload, stream)', async () => {
    const next = backend.nextConnection();
    await page.evaluate(`
      window.bridge = new channels.WebSocketBridge();
      bridge.connect('/ws/');
      bridge.listen(record('default'));
      bridge.demultiplex('chat', record('first chat handler'));
      bridge.demultiplex('chat', record('chat')); // replaces the first one
      bridge.demultiplex('news', record('news'));
      bridge.demultiplex('boom', () => { throw new Error('handler failed'); });
    `);
    const { ws } = await next;
    ws.send(JSON.stringify({ hello: 'world' }));
    ws.send(JSON.stringify({ stream: 'chat', payload: { text: 'hi' } }));
    ws.send(JSON.stringify({ stream: 'news', payload: [1, 2] }));
    ws.send(JSON.stringify({ stream: 'unregistered', payload: 7 })); // goes to the default callback
    ws.send('this is not JSON');
    ws.send(JSON.stringify({ stream: 'boom', payload: null }));
    ws.send(JSON.stringify(['after', 'the', 'bad', 'frames']));
    expect(await pageEvents(5)).toEqual([
      { kind: 'default', data: { hello: 'world' }, stream: null },
      { kind: 'chat', data: { text: 'hi' }, stream: 'chat' },
      { kind: 'news', data: [1, 2], stream: 'news' },
      { kind: 'default', data: { stream: 'unregistered', payload: 7 }, stream: null },
      { kind: 'default', data: ['after', 'the', 'bad', 'frames'], stream: null },
    ]);
    expect(warnings).toEqual([expect.stringContaining('not JSON: this is not JSON')]);
    // A throwing handler is reported as an uncaught error but does not stop the bridge.
    await until(() => pageErrors.length > 0);
    expect(pageErrors).toEqual(['handler failed']);
  });

  it('queues send() and stream().send() before the socket is open, then sends them in order', async () => {
    const next = backend.nextConnection();
    const stateWhenSent = await page.evaluate(`
      window.bridge = new channels.WebSocketBridge();
      bridge.connect('/ws/');
      const state = bridge.socket.readyState;
      bridge.send({ first: 1 });
      bridge.stream('chat').send({ text: 'queued' });
      state;
    `);
    expect(stateWhenSent).toBe(0); // CONNECTING
    const connection = await next;
    await page.waitForFunction('bridge.socket.readyState === 1');
    await page.evaluate(`bridge.send('open now'); bridge.stream('news').send([1]);`);
    expect(await backend.receive(connection, 4)).toEqual([
      { first: 1 },
      { stream: 'chat', payload: { text: 'queued' } },
      'open now',
      { stream: 'news', payload: [1] },
    ]);
    expect(connection.received[1]).toBe('{"stream":"chat","payload":{"text":"queued"}}');
  });

  it('bounds the queue, dropping the oldest message with a warning', async () => {
    const next = backend.nextConnection();
    await page.evaluate(`
      window.bridge = new channels.WebSocketBridge({ maxQueuedMessages: 2 });
      bridge.connect('/ws/');
      bridge.send(1); bridge.send(2); bridge.send(3);
    `);
    expect(await backend.receive(await next, 2)).toEqual([2, 3]);
    expect(warnings).toEqual([expect.stringContaining('the oldest was dropped')]);
  });

  it('reconnects after the server restarts, and messages flow again (including ones sent while down)', async () => {
    const port = backend.port;
    const first = backend.nextConnection();
    await page.evaluate(`
      window.opens = 0;
      window.bridge = new channels.WebSocketBridge(fast);
      bridge.connect('/ws/');
      bridge.socket.addEventListener('open', () => { window.opens += 1; });
      bridge.listen(record('default'));
    `);
    (await first).ws.send(JSON.stringify({ n: 1 }));
    await pageEvents(1);

    await backend.stop();
    await page.waitForFunction('bridge.socket.readyState !== 1');
    await page.evaluate(`bridge.send({ sent: 'while down' })`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few failed attempts against the closed port

    backend = await Backend.start(port);
    const second = await backend.nextConnection();
    expect(second.path).toBe('/ws/');
    second.ws.send(JSON.stringify({ n: 2 }));
    expect(await pageEvents(2)).toEqual([
      { kind: 'default', data: { n: 1 }, stream: null },
      { kind: 'default', data: { n: 2 }, stream: null },
    ]);
    await page.evaluate(`bridge.send({ n: 3 })`);
    expect(await backend.receive(second, 2)).toEqual([{ sent: 'while down' }, { n: 3 }]);
    expect(await page.evaluate('window.opens')).toBe(2); // listeners added to bridge.socket survive reconnects
  });

  it('close() closes for good: no reconnect, and later sends are dropped with a warning', async () => {
    const first = backend.nextConnection();
    await page.evaluate(`window.bridge = new channels.WebSocketBridge(fast); bridge.connect('/ws/');`);
    const { ws } = await first;
    await page.waitForFunction('bridge.socket.readyState === 1');
    const closed = once(ws, 'close');
    await page.evaluate('bridge.close(1000, "bye")');
    const [code, reason] = (await closed) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([1000, 'bye']);
    await new Promise((resolve) => setTimeout(resolve, 400)); // longer than the reconnect delays
    expect(backend.connections).toHaveLength(1);
    await page.evaluate('bridge.send("too late")');
    expect(warnings).toEqual([expect.stringContaining('closed')]);
  });
});

import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createWebsocketBridgeMiddleware,
  serveWebsocketBridge,
  websocketBridgeResponse,
  websocketBridgeScript,
  websocketBridgeScriptCandidates,
  type WebsocketBridgeMiddleware,
} from '../../src/client/websocket-bridge-script';
import { resolveWebSocketUrl } from '../../src/client/websocket-bridge';
import { buildClient, REPO } from './build-client';

const BUILT = join(REPO, 'dist', 'client', 'websocketbridge.js');

async function serve(middleware: WebsocketBridgeMiddleware): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) =>
    middleware(req, res, () => {
      res.writeHead(404, { 'x-fell-through': 'yes' });
      res.end();
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the served WebSocketBridge script', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    await buildClient();
    ({ server, url } = await serve(createWebsocketBridgeMiddleware()));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('finds the built file from src/client/ and reads it with a content-hash ETag', () => {
    expect(websocketBridgeScriptCandidates()).toContain(BUILT);
    const script = websocketBridgeScript();
    expect(script.file).toBe(BUILT);
    expect(script.body.equals(readFileSync(BUILT))).toBe(true);
    expect(script.etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(websocketBridgeScript()).toBe(script); // cached
  });

  it('answers GET with the bytes, the content type, an ETag and cache-control', async () => {
    const response = await fetch(`${url}/channels/websocketbridge.js?v=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(response.headers.get('etag')).toBe(websocketBridgeScript().etag);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.equals(readFileSync(BUILT))).toBe(true);
    expect(Number(response.headers.get('content-length'))).toBe(body.length);
    expect(body.toString()).toContain('var channels=');
  });

  it('answers 304 to a matching If-None-Match (strong, weak, in a list, or *), and 200 otherwise', async () => {
    const { etag } = websocketBridgeScript();
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await fetch(`${url}/channels/websocketbridge.js`, { headers: { 'if-none-match': ifNoneMatch } });
      expect([ifNoneMatch, response.status]).toEqual([ifNoneMatch, 304]);
      expect(response.headers.get('etag')).toBe(etag);
      expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
    const stale = await fetch(`${url}/channels/websocketbridge.js`, { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it('answers HEAD without a body, and passes other paths and methods to next()', async () => {
    const head = await fetch(`${url}/channels/websocketbridge.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(websocketBridgeScript().body.length));
    for (const [path, method] of [
      ['/channels/websocketbridge.js', 'POST'],
      ['/channels/other.js', 'GET'],
      ['/channels/websocketbridge.js/x', 'GET'],
    ]) {
      const response = await fetch(`${url}${path}`, { method });
      expect([path, method, response.status, response.headers.get('x-fell-through')]).toEqual([
        path,
        method,
        404,
        'yes',
      ]);
    }
  });

  it('serves at a configured path, and serveWebsocketBridge() at the default one', async () => {
    const custom = await serve(createWebsocketBridgeMiddleware({ path: '/static/bridge.js' }));
    const defaults = await serve(serveWebsocketBridge);
    try {
      expect((await fetch(`${custom.url}/static/bridge.js`)).status).toBe(200);
      expect((await fetch(`${custom.url}/channels/websocketbridge.js`)).status).toBe(404);
      expect((await fetch(`${defaults.url}/channels/websocketbridge.js`)).status).toBe(200);
    } finally {
      for (const { server: s } of [custom, defaults]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });

  it('gives a framework-neutral answer (for Fastify routes)', () => {
    const script = websocketBridgeScript();
    expect(websocketBridgeResponse({ method: 'GET', headers: { 'if-none-match': script.etag } })).toEqual({
      status: 304,
      headers: { etag: script.etag, 'cache-control': 'public, max-age=3600' },
      body: null,
    });
    const ok = websocketBridgeResponse({ method: 'GET', headers: {} });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe(script.body);
  });

  it('fails clearly, naming the build command, when the file is missing', () => {
    expect(() => websocketBridgeScript({ file: join(REPO, 'no-such-dir', 'websocketbridge.js') })).toThrow(
      /WebSocketBridge browser script was not found .*node scripts\/build-client\.mjs/,
    );
    expect(() => createWebsocketBridgeMiddleware({ file: '/no/such/file.js' })).toThrow(/build-client/);
  });

  it('also built the ESM bundle and its declarations', async () => {
    // .d.mts: the bundle is an ES module in a CommonJS package.
    expect(existsSync(join(REPO, 'dist', 'client', 'index.d.mts'))).toBe(true);
    expect(existsSync(join(REPO, 'dist', 'client', 'websocket-bridge.d.mts'))).toBe(true);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('./dist/client/index.mjs'); console.log(Object.keys(m).sort().join())",
      ],
      { cwd: REPO },
    );
    expect(stdout.trim()).toBe('DEFAULT_MAX_QUEUED_MESSAGES,WebSocketBridge,resolveWebSocketUrl');
  });
});

describe('resolveWebSocketUrl', () => {
  const pages = {
    http: { protocol: 'http:', host: 'example.com:8000', href: 'http://example.com:8000/app/page?x=1#top' },
    https: { protocol: 'https:', host: 'example.com', href: 'https://example.com/app/' },
  };

  it.each([
    [undefined, 'http', 'ws://example.com:8000/'],
    ['', 'https', 'wss://example.com/'],
    ['/ws/', 'http', 'ws://example.com:8000/ws/'],
    ['/ws/?room=1', 'https', 'wss://example.com/ws/?room=1'],
    ['chat/', 'http', 'ws://example.com:8000/app/chat/'],
    ['chat/', 'https', 'wss://example.com/app/chat/'],
    ['../x', 'https', 'wss://example.com/x'],
    ['//other.org/ws/', 'https', 'wss://other.org/ws/'],
    ['http://other.org/ws/', 'https', 'ws://other.org/ws/'],
    ['HTTPS://other.org/ws/', 'http', 'wss://other.org/ws/'],
    ['ws://other.org/ws/', 'https', 'ws://other.org/ws/'],
    ['wss://other.org/ws/', 'http', 'wss://other.org/ws/'],
  ] as const)('%p on the %s page → %s', (url, page, expected) => {
    expect(resolveWebSocketUrl(url, pages[page])).toBe(expected);
  });

  it('needs no page for ws(s):// urls, and rejects other schemes', () => {
    expect(resolveWebSocketUrl('wss://h/')).toBe('wss://h/');
    expect(() => resolveWebSocketUrl('/ws/')).toThrow(/no page location/);
    expect(() => resolveWebSocketUrl('localhost:8000/ws/', pages.http)).toThrow(
      /cannot connect to "localhost:8000\/ws\/"/,
    );
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { InMemoryChannelLayer, type ChannelMessage } from '../../src';
import {
  resolveWebsocketInterfaceOptions,
  type WebsocketInterfaceOptions,
} from '../../src/interface/websocket/websocket-options';
import { WebsocketInterface } from '../../src/interface/websocket/websocket-interface';

interface Harness {
  layer: InMemoryChannelLayer;
  server: Server;
  url: string;
  next(channel: string): Promise<ChannelMessage>;
  close(): Promise<void>;
}

async function start(options: WebsocketInterfaceOptions = {}, layerOptions = {}): Promise<Harness> {
  const layer = new InMemoryChannelLayer(layerOptions);
  const server: Server = createServer();
  const iface = new WebsocketInterface(layer, resolveWebsocketInterfaceOptions(options, layer.groupExpiry));
  iface.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    layer,
    server,
    url: `ws://127.0.0.1:${port}`,
    async next(channel) {
      const [name, message] = await layer.receive([channel], { block: true, timeout: 3 });
      if (name === null) throw new Error(`nothing arrived on ${channel}`);
      return message;
    },
    async close() {
      await iface.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await layer.close();
    },
  };
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function refused(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    ws.once('open', () => reject(new Error('the handshake should not have opened')));
    ws.on('error', () => undefined);
  });
}

const closed = (ws: WebSocket): Promise<number> => new Promise((resolve) => ws.once('close', (code) => resolve(code)));
const nextFrame = (ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  new Promise((resolve) => ws.once('message', (data: Buffer, isBinary) => resolve({ data, isBinary })));

describe('the WebSocket interface server', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('holds the handshake, sends websocket.connect with every key, and opens on accept', async () => {
    h = await start();
    const ws = new WebSocket(`${h.url}/chat/lobby/?user=ann&x=%20`, {
      headers: { 'X-Custom': 'yes', Some_Thing: 'no' },
    });
    let open = false;
    ws.once('open', () => (open = true));
    const connect = await h.next('websocket.connect');
    expect(open).toBe(false);
    expect(connect.path).toBe('/chat/lobby/');
    expect(connect.query_string).toEqual(Buffer.from('user=ann&x=%20'));
    expect(connect.order).toBe(0);
    expect(connect.scheme).toBe('ws');
    expect(String(connect.reply_channel)).toMatch(/^websocket\.[A-Za-z]{10}![A-Za-z]{10}$/);
    const headers = (connect.headers as Buffer[][]).map(([name, value]) => [name.toString(), value.toString()]);
    expect(headers).toContainEqual(['x-custom', 'yes']);
    expect(headers.some(([name]) => name.includes('_'))).toBe(false);
    expect((connect.client as [string, number])[0]).toBe('127.0.0.1');
    expect((connect.server as [string, number])[1]).toBeGreaterThan(0);
    await h.layer.send(String(connect.reply_channel), { accept: true });
    await opened(ws);
    ws.close();
  });

  it('turns frames into websocket.receive in order and replies into frames', async () => {
    h = await start();
    const ws = new WebSocket(`${h.url}/echo/`);
    const connect = await h.next('websocket.connect');
    const reply = String(connect.reply_channel);
    await h.layer.send(reply, { accept: true });
    await opened(ws);
    ws.send('hello');
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const first = await h.next('websocket.receive');
    const second = await h.next('websocket.receive');
    expect(first).toEqual({ reply_channel: reply, path: '/echo/', order: 1, text: 'hello' });
    expect(second).toEqual({ reply_channel: reply, path: '/echo/', order: 2, bytes: Buffer.from([1, 2, 3]) });
    const text = nextFrame(ws);
    await h.layer.send(reply, { text: 'back' });
    expect((await text).data.toString()).toBe('back');
    const bytes = nextFrame(ws);
    await h.layer.send(reply, { bytes: Buffer.from([9]) });
    expect(await bytes).toEqual({ data: Buffer.from([9]), isBinary: true });
    const code = closed(ws);
    ws.close(4005);
    expect(await code).toBe(4005);
    expect(await h.next('websocket.disconnect')).toEqual({
      reply_channel: reply,
      path: '/echo/',
      order: 3,
      code: 4005,
    });
  });

  it('accepts implicitly on a data reply, then closes with the code it is given', async () => {
    h = await start();
    const ws = new WebSocket(`${h.url}/x`);
    const frame = nextFrame(ws);
    const code = closed(ws);
    const connect = await h.next('websocket.connect');
    await h.layer.send(String(connect.reply_channel), { text: 'hi', close: 4001 });
    expect((await frame).data.toString()).toBe('hi');
    expect(await code).toBe(4001);
  });

  it('refuses with 403 on close or accept:false before opening, and when nobody answers in time', async () => {
    h = await start({ connectTimeout: 0.3 });
    const answers: ChannelMessage[] = [{ close: true }, { accept: false, text: 'ignored' }];
    for (const answer of answers) {
      const ws = new WebSocket(`${h.url}/deny`);
      const status = refused(ws);
      const connect = await h.next('websocket.connect');
      await h.layer.send(String(connect.reply_channel), answer);
      expect(await status).toBe(403);
      expect((await h.next('websocket.disconnect')).code).toBe(1006);
    }
    const ws = new WebSocket(`${h.url}/nobody`);
    expect(await refused(ws)).toBe(403);
  });

  it('refuses with 503 when websocket.connect is full, and closes with 1013 when websocket.receive stays full', async () => {
    h = await start({ backpressureTimeout: 0.3 }, { capacity: 1 });
    const first = new WebSocket(`${h.url}/a`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = new WebSocket(`${h.url}/b`);
    expect(await refused(second)).toBe(503);
    const connect = await h.next('websocket.connect');
    await h.layer.send(String(connect.reply_channel), { accept: true });
    await opened(first);
    const code = closed(first);
    first.send('one');
    first.send('two'); // websocket.receive holds one message: this one waits, and nobody consumes
    expect(await code).toBe(1013);
    // Its disconnect waits for room too: the frame it did send stays, and nothing else got in.
    expect((await h.next('websocket.receive')).text).toBe('one');
  });

  it('chooses the first offered subprotocol it speaks, and closes oversize frames with 1009', async () => {
    h = await start({ subprotocols: ['v2.chat', 'v1.chat'], maxFrameSize: 16 });
    const ws = new WebSocket(`${h.url}/p`, ['other', 'v1.chat', 'v2.chat']);
    const connect = await h.next('websocket.connect');
    await h.layer.send(String(connect.reply_channel), { accept: true });
    await opened(ws);
    expect(ws.protocol).toBe('v1.chat');
    const code = closed(ws);
    ws.send('x'.repeat(100));
    expect(await code).toBe(1009);
  });

  it('takes the client address from proxy headers when told to', async () => {
    h = await start({ proxyHeaders: true });
    const ws = new WebSocket(`${h.url}/p`, {
      headers: { 'X-Forwarded-For': '10.1.2.3, 10.0.0.1', 'X-Forwarded-Port': '443' },
    });
    ws.on('error', () => undefined);
    const connect = await h.next('websocket.connect');
    expect(connect.client).toEqual(['10.1.2.3', 443]);
    ws.terminate();
  });

  it('leaves paths it does not serve to other upgrade listeners', async () => {
    h = await start({ paths: /^\/ws\// });
    // Another listener (a Nest gateway, say) owns the other paths; here it just refuses them.
    let others = 0;
    h.server.on('upgrade', (request, socket) => {
      if (request.url?.startsWith('/ws/')) return;
      others++;
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    });
    expect(await refused(new WebSocket(`${h.url}/other`))).toBe(404);
    expect(others).toBe(1);
    expect(await h.layer.receive(['websocket.connect'])).toEqual([null, null]);
    const ours = new WebSocket(`${h.url}/ws/chat`);
    ours.on('error', () => undefined);
    expect((await h.next('websocket.connect')).path).toBe('/ws/chat');
    ours.terminate();
  });

  it('pings idle sockets and closes them at the end of their lifetime', async () => {
    h = await start({ pingInterval: 0.5, websocketTimeout: 2.5 });
    const ws = new WebSocket(`${h.url}/idle`);
    let pings = 0;
    ws.on('ping', () => pings++);
    const connect = await h.next('websocket.connect');
    await h.layer.send(String(connect.reply_channel), { accept: true });
    await opened(ws);
    expect(await closed(ws)).toBe(1000);
    expect(pings).toBeGreaterThanOrEqual(1);
  });

  it('closes a socket with no data frames for idleTimeout, though pings keep flowing', async () => {
    h = await start({ pingInterval: 0.3, idleTimeout: 1.5 });
    const ws = new WebSocket(`${h.url}/idle`);
    const connect = await h.next('websocket.connect');
    await h.layer.send(String(connect.reply_channel), { accept: true });
    await opened(ws);
    const started = Date.now();
    expect(await closed(ws)).toBe(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });
});

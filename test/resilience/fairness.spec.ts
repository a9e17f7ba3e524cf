import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import WebSocket from 'ws';
import {
  ChannelLayerRegistry,
  ChannelsInterfaceService,
  ChannelsModule,
  Consumer,
  sendHttpResponse,
  type ChannelsModuleOptions,
  type Message,
} from '../../src';
import { frameRoom } from '../../src/interface/websocket/websocket-options';
import { openSocket } from '../support/websocket';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the consumers saw, per path. */
const seen = {
  receives: new Map<string, string[]>(),
  disconnects: new Map<string, number>(),
  connects: [] as string[],
};

@Injectable()
class Consumers {
  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    seen.connects.push(String(message.content.reply_channel));
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive')
  async receive(message: Message): Promise<void> {
    const path = String(message.content.path);
    const text =
      typeof message.content.text === 'string'
        ? message.content.text
        : `<${(message.content.bytes as Buffer).length} bytes>`;
    seen.receives.set(path, [...(seen.receives.get(path) ?? []), text]);
    await message.replyChannel!.send({ text });
  }

  @Consumer('websocket.disconnect')
  disconnect(message: Message): void {
    seen.disconnects.set(String(message.content.path), Number(message.content.code));
  }

  /** Never reads its body and never answers: the worst consumer for memory. */
  @Consumer('http.request', { path: /^\/sink$/ })
  sink(): void {}

  @Consumer('http.request', { path: /^\/hello$/ })
  async hello(message: Message): Promise<void> {
    await sendHttpResponse(message, { body: 'hello' });
  }
}

async function start(options: ChannelsModuleOptions): Promise<{ app: INestApplication; port: number }> {
  const moduleRef = await Test.createTestingModule({
    imports: [ChannelsModule.forRoot(options)],
    providers: [Consumers],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as AddressInfo).port };
}

const statisticsOf = (app: INestApplication): Record<string, number> => app.get(ChannelsInterfaceService).statistics();

/** `count` one-byte text frames as a client writes them (masked, mask 0), in one buffer. */
function tinyFrames(count: number): Buffer {
  const frames = Buffer.alloc(count * 7);
  for (let i = 0; i < count; i++) frames.set([0x81, 0x81, 0, 0, 0, 0, 0x61 + (i % 26)], i * 7);
  return frames;
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('fairness: one WebSocket client never closes or starves the others', () => {
  let app: INestApplication;
  let port: number;
  beforeAll(async () => ({ app, port } = await start({})));
  afterAll(() => app.close());

  it('absorbs 3,000 frames written at once by one socket: it is slowed, 12 bystanders keep going, nothing is lost', async () => {
    const bystanders = await Promise.all(
      Array.from({ length: 12 }, (_, i) => openSocket(`ws://127.0.0.1:${port}/by/${i}/`)),
    );
    const closes = bystanders.map((ws) => {
      let code: number | undefined;
      ws.once('close', (c) => (code = c));
      return () => code;
    });
    const flooder = await openSocket(`ws://127.0.0.1:${port}/flood/`);
    let flooderClosed: number | undefined;
    flooder.once('close', (code) => (flooderClosed = code));
    let flooderEchoes = 0;
    flooder.on('message', () => flooderEchoes++);
    // 3,000 frames in one TCP write: far over websocket.receive's capacity of 100.
    (flooder as unknown as { _socket: Socket })._socket.write(tinyFrames(3000));
    // Every bystander, meanwhile, has its frames answered.
    await Promise.all(
      bystanders.map(async (ws, i) => {
        for (let n = 0; n < 5; n++) {
          const echo = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
          ws.send(`b${i}-${n}`);
          expect(await echo).toBe(`b${i}-${n}`);
        }
      }),
    );
    for (let i = 0; i < 100 && flooderEchoes < 3000; i++) await sleep(100);
    expect(closes.map((code) => code())).toEqual(bystanders.map(() => undefined));
    expect(flooderClosed).toBeUndefined();
    // The flood was held back, not dropped: every frame came through, in order.
    expect(flooderEchoes).toBe(3000);
    const flooded = seen.receives.get('/flood/')!;
    expect(flooded).toHaveLength(3000);
    expect(flooded.slice(0, 27).join('')).toBe('abcdefghijklmnopqrstuvwxyza');
    const statistics = statisticsOf(app);
    expect(statistics.websocketPauses).toBeGreaterThan(0);
    expect(statistics.websocketClosedBackpressure).toBe(0);
    for (const ws of [...bystanders, flooder]) ws.close();
  });

  it('closes a socket that keeps flooding past maxQueuedFrames alone, with 1013, and sends its disconnect', async () => {
    const { app: small, port: smallPort } = await start({
      interface: { websocket: { receiveAllowance: 4, maxQueuedFrames: 50 } },
    });
    try {
      const bystander = await openSocket(`ws://127.0.0.1:${smallPort}/calm/`);
      const flooder = await openSocket(`ws://127.0.0.1:${smallPort}/greedy/`);
      const code = closeCode(flooder);
      (flooder as unknown as { _socket: Socket })._socket.write(tinyFrames(3000));
      expect(await code).toBe(1013);
      for (let i = 0; i < 50 && !seen.disconnects.has('/greedy/'); i++) await sleep(50);
      expect(seen.disconnects.get('/greedy/')).toBe(1013);
      const echo = new Promise<string>((resolve) => bystander.once('message', (data) => resolve(String(data))));
      bystander.send('still here');
      expect(await echo).toBe('still here');
      const statistics = statisticsOf(small);
      expect(statistics.websocketClosedBackpressure).toBe(1);
      expect(statistics.websocketFramesDropped).toBeGreaterThan(0);
      bystander.close();
    } finally {
      await small.close();
    }
  });
});

describe('frame limits agree with the layer', () => {
  it('takes the largest frame the layer can carry, and closes the socket with 1009 (and a disconnect) one byte over', async () => {
    const maxMessageSize = 64 * 1024;
    const { app, port } = await start({ layers: { default: { options: { maxMessageSize } } } });
    try {
      const path = '/big/';
      const ws = await openSocket(`ws://127.0.0.1:${port}${path}`);
      const reply = seen.connects[seen.connects.length - 1];
      const room = frameRoom(maxMessageSize, reply, path);
      const echo = new Promise<Buffer>((resolve) => ws.once('message', (data) => resolve(data as Buffer)));
      ws.send(Buffer.alloc(room, 1));
      expect(String(await echo)).toBe(`<${room} bytes>`);
      const code = closeCode(ws);
      ws.send(Buffer.alloc(room + 1, 1));
      expect(await code).toBe(1009);
      for (let i = 0; i < 50 && !seen.disconnects.has(path); i++) await sleep(50);
      expect(seen.disconnects.get(path)).toBe(1009);
      expect(statisticsOf(app).websocketClosedTooLarge).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('refuses at bootstrap a maxFrameSize the layer cannot carry, naming both settings', async () => {
    await expect(
      start({
        layers: { default: { options: { maxMessageSize: 64 * 1024 } } },
        interface: { websocket: { maxFrameSize: 1024 * 1024 } },
      }),
    ).rejects.toThrow(/maxFrameSize 1048576 is more than the layer can carry.*maxMessageSize/);
  });
});

describe('caps and timeouts', () => {
  it('answers handshakes over websocket.maxConnections with 503, counted', async () => {
    const { app, port } = await start({ interface: { websocket: { maxConnections: 2 } } });
    try {
      const open = [await openSocket(`ws://127.0.0.1:${port}/a/`), await openSocket(`ws://127.0.0.1:${port}/b/`)];
      await expect(openSocket(`ws://127.0.0.1:${port}/c/`)).rejects.toThrow('refused with 503');
      expect(statisticsOf(app).websocketHandshakesRefused).toBe(1);
      open[0].close();
      await sleep(100);
      (await openSocket(`ws://127.0.0.1:${port}/d/`)).close();
      open[1].close();
    } finally {
      await app.close();
    }
  });

  it('answers a body that stalls longer than bodyTimeout with 408', async () => {
    const { app, port } = await start({ interface: { http: { bodyTimeout: 0.5 } } });
    try {
      const answer = await rawRequest(port, 'POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(statisticsOf(app).httpRefused408).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('answers headers that take longer than headersTimeout with 408 (Node would wait 60 s)', async () => {
    const { app, port } = await start({ interface: { http: { headersTimeout: 1 } } });
    try {
      const answer = await rawRequest(port, 'GET /hello HTTP/1.1\r\nHost: x\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await app.close();
    }
  });

  it('answers requests over http.maxRequests with 503', async () => {
    const { app, port } = await start({ interface: { http: { maxRequests: 2, timeout: 1 } } });
    try {
      const hanging = [fetch(`http://127.0.0.1:${port}/sink`), fetch(`http://127.0.0.1:${port}/sink`)];
      await sleep(100);
      const refused = await fetch(`http://127.0.0.1:${port}/hello`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await Promise.all(hanging)).map((r) => r.status)).toEqual([503, 503]);
      expect((await fetch(`http://127.0.0.1:${port}/hello`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('bounded body memory', () => {
  it('holds at most bodyBuffer bytes of bodies nobody reads, refuses past it, and leaves nothing in the layer', async () => {
    const MiB = 1024 * 1024;
    const { app, port } = await start({
      interface: { http: { bodyBuffer: 2 * MiB, bodyWindow: MiB, backpressureTimeout: 0.5, timeout: 2 } },
    });
    try {
      let highest = 0;
      const watch = setInterval(() => (highest = Math.max(highest, statisticsOf(app).httpBodyBytesHeld)), 5);
      const statuses = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          fetch(`http://127.0.0.1:${port}/sink`, {
            method: 'POST',
            body: Buffer.alloc(3 * MiB, i),
            headers: { 'x-forwarded-for': `10.0.0.${i}` },
          })
            .then((r) => r.status)
            .catch(() => 0),
        ),
      );
      clearInterval(watch);
      expect(highest).toBeGreaterThan(0);
      expect(highest).toBeLessThanOrEqual(2 * MiB);
      // Those that found room waited for an answer that never came (503 at `timeout`); the others
      // found no room (503 at `backpressureTimeout`): every one was answered.
      expect(statuses.every((status) => status === 503)).toBe(true);
      await sleep(100);
      expect(statisticsOf(app).httpBodyBytesHeld).toBe(0);
      expect(statisticsOf(app).httpRequestsOpen).toBe(0);
      // What the consumer never read was taken back out of the layer, not left there to expire.
      expect((await app.get(ChannelLayerRegistry).layer().globalStatistics!()).messages_pending).toBe(0);
    } finally {
      await app.close();
    }
  });
});

@Injectable()
class ConnectOnly {
  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }
}

describe('an app without a websocket.disconnect route', () => {
  it('is sent no disconnects: nothing waits in a channel nobody reads', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot()],
      providers: [ConnectOnly],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const port = (app.getHttpServer().address() as AddressInfo).port;
      for (let i = 0; i < 3; i++) {
        const ws = await openSocket(`ws://127.0.0.1:${port}/p${i}/`);
        const code = closeCode(ws);
        ws.close();
        await code;
      }
      await sleep(100);
      const layer = app.get(ChannelLayerRegistry).layer();
      expect((await layer.channelStatistics!('websocket.disconnect')).messages_count).toBe(0);
      expect(statisticsOf(app).messagesWaiting).toBe(0);
    } finally {
      await app.close();
    }
  });
});

/** Writes `text` on a raw TCP connection and resolves with what comes back before the server closes it. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (data) => (answer += String(data)));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 15_000).unref();
  });
}

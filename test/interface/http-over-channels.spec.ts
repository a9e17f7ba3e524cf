import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import {
  Channel,
  ChannelsModule,
  Consumer,
  Group,
  readHttpRequest,
  sendHttpResponse,
  encodeHttpResponse,
  getChannelLayerToken,
  type ChannelsModuleOptions,
  type GroupsChannelLayer,
  type Message,
} from '../../src';

const disconnected: string[] = [];
const streamReplies: string[] = [];

@Injectable()
class HttpConsumers {
  @Consumer('http.request', { path: /^\/api\/echo$/ })
  async echo(message: Message): Promise<void> {
    const req = await readHttpRequest(message);
    await sendHttpResponse(message, {
      status: 201,
      headers: { 'x-by': 'consumer' },
      body: { method: req.method, path: req.path, q: req.query.get('q'), size: req.body.length, cookie: req.cookies.a },
    });
  }

  @Consumer('http.request', { path: /^\/api\/big$/ })
  async big(message: Message): Promise<void> {
    await sendHttpResponse(message, { body: Buffer.alloc(1_200_000, 7) });
  }

  @Consumer('http.request', { path: /^\/api\/poll$/ })
  async poll(message: Message): Promise<void> {
    // Long poll: answer later, whenever something is published.
    await new Group('pollers').add(message.replyChannel!);
  }

  @Consumer('http.request', { path: /^\/api\/publish$/ })
  async publish(message: Message): Promise<void> {
    for (const part of encodeHttpResponse({ body: 'news' })) await new Group('pollers').send(part);
    await sendHttpResponse(message, { status: 204 });
  }

  @Consumer('http.request', { path: /^\/api\/stream$/ })
  async stream(message: Message): Promise<void> {
    // The first part now; the rest later, from the channel name alone (as a producer elsewhere would).
    streamReplies.push(message.replyChannel!.name);
    await message.replyChannel!.send({ status: 200, headers: [], content: Buffer.from('part 1;'), more_content: true });
  }

  @Consumer('http.request', { path: /^\/api\/ticks$/ })
  async ticks(message: Message): Promise<void> {
    async function* produce(): AsyncGenerator<string> {
      for (let i = 1; i <= 3; i++) {
        yield `tick ${i}\n`;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    await sendHttpResponse(message, { headers: { 'content-type': 'text/plain' }, body: produce() });
  }

  @Consumer('http.request', { path: /^\/api\/silent$/ })
  silent(): void {}

  @Consumer('http.disconnect')
  gone(message: Message): void {
    disconnected.push(String(message.content.path));
  }
}

@Controller()
class PlainController {
  @Get('plain')
  plain(): string {
    return 'from the controller';
  }
}

async function start(options: ChannelsModuleOptions): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: [ChannelsModule.forRoot(options)], providers: [HttpConsumers], controllers: [PlainController] })
  class HttpApp {}
  const moduleRef = await Test.createTestingModule({ imports: [HttpApp] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('HTTP over channels', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await start({ interface: { http: { timeout: 0.5 } } }));
  });
  afterAll(() => app.close());

  it('turns a routed request into http.request and streams the response back', async () => {
    const res = await fetch(`${url}/api/echo?q=hi`, { method: 'POST', body: 'abc', headers: { cookie: 'a=b%20c' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-by')).toBe('consumer');
    expect(await res.json()).toEqual({ method: 'POST', path: '/api/echo', q: 'hi', size: 3, cookie: 'b c' });
  });

  it('lets requests no http.request route takes fall through to Nest controllers', async () => {
    const res = await fetch(`${url}/plain`);
    expect(await res.text()).toBe('from the controller');
    expect((await fetch(`${url}/missing`)).status).toBe(404);
  });

  it('carries large bodies through a body channel and large responses in chunks', async () => {
    const res = await fetch(`${url}/api/echo`, { method: 'PUT', body: Buffer.alloc(1_500_000, 1) });
    expect(((await res.json()) as { size: number }).size).toBe(1_500_000);
    const big = Buffer.from(await (await fetch(`${url}/api/big`)).arrayBuffer());
    expect(big.length).toBe(1_200_000);
  });

  it('answers a long poll later, from another request', async () => {
    const waiting = fetch(`${url}/api/poll`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(`${url}/api/publish`, { method: 'POST' })).status).toBe(204);
    expect(await (await waiting).text()).toBe('news');
  });

  it('streams a body part by part as it is produced, past the HTTP timeout', async () => {
    const started = Date.now();
    const res = await fetch(`${url}/api/ticks`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    let text = Buffer.from(first.value!).toString();
    for (let part = await reader.read(); !part.done; part = await reader.read())
      text += Buffer.from(part.value).toString();
    expect(text).toBe('tick 1\ntick 2\ntick 3\n');
    // The first part arrived before the producer finished (3 × 250 ms), and the stream outlived the
    // 0.5 s HTTP timeout: a response that has started is never cut by the 503 timer.
    expect(firstAt).toBeLessThan(Date.now() - started);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('answers 503 when no response starts in time', async () => {
    expect((await fetch(`${url}/api/silent`)).status).toBe(503);
  });

  it('streams a response that started, and survives the client vanishing mid-response', async () => {
    const { port } = new URL(url);
    const received: string[] = [];
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/stream' }, (res) => {
      res.on('data', (chunk: Buffer) => {
        received.push(chunk.toString());
        req.destroy(); // the client goes away after the first part
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
    for (let i = 0; i < 50 && !disconnected.includes('/api/stream'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual(['part 1;']);
    expect(disconnected).toContain('/api/stream');
    // Later parts for the vanished client are dropped quietly, and the server goes on serving.
    const reply = streamReplies[streamReplies.length - 1];
    await new Channel(reply).send({ content: Buffer.from('part 2'), more_content: false });
    expect((await fetch(`${url}/plain`)).status).toBe(200);
  });

  it('sends http.disconnect when the client goes away before the answer', async () => {
    const { port } = new URL(url);
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/poll' });
    req.on('error', () => undefined);
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    for (let i = 0; i < 50 && !disconnected.includes('/api/poll'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(disconnected).toContain('/api/poll');
  });
});

describe('HTTP over channels with a full layer', () => {
  it('answers 503 when http.request stays full for backpressureTimeout', async () => {
    const { app, url } = await start({
      layers: { default: { options: { capacity: 1 } } },
      worker: { enabled: false },
      interface: { http: { timeout: 2, backpressureTimeout: 0.5 } },
    });
    const first = fetch(`${url}/api/echo`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    expect((await fetch(`${url}/api/echo`)).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await first).status).toBe(503);
    await app.close();
  });
});

/** An app with no `http.disconnect` consumer, as most are. */
@Injectable()
class NoDisconnectConsumers {
  @Consumer('http.request', { path: /^\/hang$/ })
  hang(): void {}

  @Consumer('http.request', { path: /^\/echo$/ })
  async echo(message: Message): Promise<void> {
    await sendHttpResponse(message, { body: 'ok' });
  }
}

async function startApp(
  consumers: Array<new () => unknown>,
  options: ChannelsModuleOptions,
): Promise<{ app: INestApplication; url: string; layer: GroupsChannelLayer }> {
  @Module({ imports: [ChannelsModule.forRoot(options)], providers: consumers })
  class LeavingApp {}
  const moduleRef = await Test.createTestingModule({ imports: [LeavingApp] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const layer = app.get<GroupsChannelLayer>(getChannelLayerToken());
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1'), layer };
}

/** Starts a GET and destroys it after `ms`, as a client that gives up (autocannon's end of run). */
async function abandon(url: string, path: string, ms: number): Promise<void> {
  const { port } = new URL(url);
  const req = httpRequest({ host: '127.0.0.1', port, path, agent: false });
  req.on('error', () => undefined);
  req.end();
  await new Promise((resolve) => setTimeout(resolve, ms));
  req.destroy();
}

describe('HTTP clients that leave', () => {
  it('sends no http.disconnect nobody consumes: later requests of the same client are not held behind them', async () => {
    // backpressureTimeout 1 s: a request held behind unread disconnects would be answered 503.
    const { app, url, layer } = await startApp([NoDisconnectConsumers], {
      interface: { http: { backpressureTimeout: 1, maxRequestsPerClient: 1000 } },
    });
    try {
      // More than the 32 messages a process may keep unread in one channel.
      await Promise.all(Array.from({ length: 60 }, () => abandon(url, '/hang', 150)));
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/echo`)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
      expect((await layer.channelStatistics('http.disconnect')).messages_pending ?? 0).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('takes back a request whose turn had not come: the app never sees it, nor its disconnect', async () => {
    const seen: string[] = [];
    @Injectable()
    class Recording {
      @Consumer('http.request', { path: /^\/slot$/ })
      slot(message: Message): void {
        seen.push(`request ${String(message.content.path)}`);
      }

      @Consumer('http.disconnect')
      gone(message: Message): void {
        seen.push(`disconnect ${String(message.content.path)}`);
      }
    }
    // Capacity 1 and no worker: the first request fills http.request, the second waits its turn.
    const { app, url, layer } = await startApp([Recording], {
      layers: { default: { options: { capacity: 1 } } },
      worker: { enabled: false },
      interface: { http: { backpressureTimeout: 5 } },
    });
    try {
      const first = abandon(url, '/slot', 300);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await abandon(url, '/slot', 100);
      await first;
      // Only the first request reached the layer; the second was withdrawn from its queue.
      const [channel, message] = await layer.receive(['http.request']);
      expect(channel).toBe('http.request');
      expect(message?.path).toBe('/slot');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await layer.receive(['http.request']))[0]).toBeNull();
      const disconnects = await layer.channelStatistics('http.disconnect');
      expect(disconnects.messages_pending).toBe(1);
      expect(seen).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  ChannelsWorkerService,
  InMemoryChannelLayer,
  Message,
  readHttpRequest,
  type ChannelLayer,
  type ChannelMessage,
} from '../../src';
import { HTTP_BODY_CHANNEL_PATTERN } from '../../src/http/body-channel';
import { controllerConsumer, isForwardedRequest } from '../../src/http/controllers-consumer';

/** What Express's `req` and Fastify's `request` have in common here. */
interface AnyRequest {
  ip?: string;
  protocol: string;
  hostname: string;
  url: string;
  raw?: IncomingMessage;
  socket: IncomingMessage['socket'];
  headers: IncomingMessage['headers'];
}

/** The Node request under either adapter's request object. */
function rawOf(req: AnyRequest): IncomingMessage {
  return req.raw ?? (req as unknown as IncomingMessage);
}

const LOCAL = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

@Injectable()
class LocalOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (!LOCAL.has(context.switchToHttp().getRequest<AnyRequest>().ip ?? '')) throw new ForbiddenException();
    return true;
  }
}

@Controller()
class WhoController {
  @Get('who')
  who(@Req() req: AnyRequest): Record<string, unknown> {
    return {
      ip: req.ip ?? null,
      port: req.socket.remotePort ?? null,
      protocol: req.protocol,
      hostname: req.hostname,
      url: req.url,
      userAgent: req.headers['user-agent'] ?? null,
      cookie: req.headers.cookie ?? null,
      forwarded: isForwardedRequest(rawOf(req)),
    };
  }

  @Get('local-only')
  @UseGuards(LocalOnlyGuard)
  localOnly(): { secret: string } {
    return { secret: 'for localhost' };
  }

  @Post('echo')
  echo(
    @Req() req: AnyRequest,
    @Body() body: { text?: string; filler?: string },
    @Query() query: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      method: rawOf(req).method,
      query,
      text: body.text,
      filler: body.filler?.length ?? 0,
      length: req.headers['content-length'],
    };
  }

  @Get('cookies')
  cookies(@Res({ passthrough: true }) res: { header?: (n: string, v: string) => void; setHeader?: unknown }): string {
    if (typeof res.setHeader === 'function') {
      (res.setHeader as (n: string, v: string[]) => void)('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
    } else {
      res.header!('set-cookie', 'a=1; Path=/');
      res.header!('set-cookie', 'b=2; HttpOnly');
    }
    return 'two cookies';
  }
}

type Adapter = 'express' | 'fastify';

async function start(adapter: Adapter, listen = true): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [ChannelsModule.forRoot({ interface: { http: { mode: 'all', timeout: 10 } } })],
    controllers: [WhoController],
    providers: [LocalOnlyGuard],
  })
  class AllOverChannelsApp {}
  const moduleRef = await Test.createTestingModule({ imports: [AllOverChannelsApp] }).compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] })
      : moduleRef.createNestApplication<NestExpressApplication>({ logger: ['error'] });
  // Express's JSON parser takes 100 kB by default, Fastify's 1 MiB: room for a body on a body channel.
  if (adapter === 'express') (app as NestExpressApplication).useBodyParser('json', { limit: '2mb' });
  if (!listen) {
    await app.init();
    return { app, url: '' };
  }
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1') };
}

/** A request over a real socket, with headers fetch would not send (Host, a forged forward mark). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function latin1Pairs(headers: [string, string][]): Buffer[][] {
  return headers.map(([name, value]) => [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')]);
}

/** A hand-made `http.request`: a GET of `/` from nowhere, unless `fields` say otherwise. */
function request(fields: ChannelMessage): ChannelMessage {
  return {
    http_version: '1.1',
    method: 'GET',
    scheme: 'http',
    path: '/',
    query_string: Buffer.alloc(0),
    root_path: '',
    headers: [],
    body: Buffer.alloc(0),
    client: null,
    server: null,
    ...fields,
  };
}

/** Sends a hand-made `http.request` to the app's worker and collects the whole `http.response`. */
async function craft(layer: ChannelLayer, fields: ChannelMessage): Promise<HttpReply> {
  const reply = await layer.newChannel('test.reply?');
  await layer.send('http.request', request({ reply_channel: reply, ...fields }));
  return collect(layer, reply);
}

interface HttpReply {
  status: number;
  headers: [string, string][];
  body: string;
}

/** The whole `http.response` on `reply`. */
async function collect(layer: ChannelLayer, reply: string): Promise<HttpReply> {
  const [, head] = await layer.receive([reply], { block: true, timeout: 5 });
  if (!head) throw new Error('no http.response');
  const chunks = [Buffer.from(head.content as Uint8Array)];
  for (let more = head.more_content; more;) {
    const [, part] = await layer.receive([reply], { block: true, timeout: 5 });
    if (!part) throw new Error('the http.response stopped');
    chunks.push(Buffer.from(part.content as Uint8Array));
    more = part.more_content;
  }
  return {
    status: head.status as number,
    headers: (head.headers as Uint8Array[][]).map(([n, v]) => [
      Buffer.from(n).toString('latin1'),
      Buffer.from(v).toString('latin1'),
    ]),
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

describe.each<Adapter>(['express', 'fastify'])(
  "http.mode 'all' on %s: the controllers see the original request",
  (adapter) => {
    let app: INestApplication;
    let url: string;
    let layer: ChannelLayer;
    const consumed: string[] = [];

    beforeAll(async () => {
      ({ app, url } = await start(adapter));
      layer = app.get(ChannelLayerRegistry).layer();
      app.get(ChannelsWorkerService).on('consumerFinished', (event) => consumed.push(event.consumer));
    });
    afterAll(() => app.close());
    beforeEach(() => (consumed.length = 0));

    it("sees the client's address, scheme and Host of a request through the interface", async () => {
      const { port } = new URL(url);
      const res = await get(`${url}/who?x=1`, { host: `shop.example:${port}`, cookie: 'a=1' });
      expect(res.status).toBe(200);
      const who = JSON.parse(res.body) as Record<string, unknown>;
      expect(LOCAL.has(who.ip as string)).toBe(true);
      expect(who).toMatchObject({ protocol: 'http', hostname: 'shop.example', url: '/who?x=1', cookie: 'a=1' });
      expect(who.port).toEqual(expect.any(Number));
      expect(who.forwarded).toBe(true);
      expect(who.userAgent).toBeNull(); // nothing added on the way
      expect(consumed).toEqual(['Nest controllers']); // it went over channels, through the worker
    });

    it('sees exactly the client, scheme and Host a message names', async () => {
      const res = await craft(layer, {
        path: '/who',
        scheme: 'https',
        headers: latin1Pairs([['host', 'example.com']]),
        client: ['203.0.113.9', 5555],
        server: ['10.0.0.2', 443],
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({
        ip: '203.0.113.9',
        port: 5555,
        protocol: 'https',
        hostname: 'example.com',
        url: '/who',
        userAgent: null,
        cookie: null,
        forwarded: true,
      });
    });

    it('keeps a localhost-only guard closed to other clients, and to a message without a client', async () => {
      expect((await fetch(`${url}/local-only`)).status).toBe(200);
      const local = await craft(layer, { path: '/local-only', client: ['127.0.0.1', 4000] });
      expect(local.status).toBe(200);
      const remote = await craft(layer, { path: '/local-only', client: ['203.0.113.9', 5555] });
      expect(remote.status).toBe(403);
      const nobody = await craft(layer, { path: '/local-only' }); // no loopback address by default
      expect(nobody.status).toBe(403);
      const who = await craft(layer, { path: '/who' });
      expect(JSON.parse(who.body)).toMatchObject({ ip: null });
    });

    it('lets no request from the network pass as forwarded, whatever its headers', async () => {
      const res = await get(`${url}/who`, {
        'x-nestjs-channels-forwarded': 'a guess',
        forwarded: 'for=127.0.0.1',
        'x-forwarded-for': '127.0.0.1',
      });
      expect(res.status).toBe(200);
      expect(consumed).toEqual(['Nest controllers']); // over channels like any other request
    });

    it('keeps the method, query string, whole body, status and repeated response headers', async () => {
      const filler = 'x'.repeat(700 * 1024); // past one chunk: the rest comes on a body channel
      const res = await fetch(`${url}/echo?x=1&x=2&y=a%20b`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'héllo', filler }),
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { length: string };
      expect(body).toMatchObject({
        method: 'POST',
        query: { x: ['1', '2'], y: 'a b' },
        text: 'héllo',
        filler: filler.length,
      });
      expect(Number(body.length)).toBe(Buffer.byteLength(JSON.stringify({ text: 'héllo', filler })));

      const cookies = await fetch(`${url}/cookies`);
      expect(await cookies.text()).toBe('two cookies');
      // Both values leave the worker as two `set-cookie` pairs of the `http.response`.
      const crafted = await craft(layer, { path: '/cookies' });
      expect(crafted.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value)).toEqual([
        'a=1; Path=/',
        'b=2; HttpOnly',
      ]);
      expect(crafted.headers.map(([name]) => name)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^(connection|keep-alive|transfer-encoding)$/)]),
      );
      expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
    });

    it('runs the controllers of an app that was initialised but never listened (a worker process)', async () => {
      const { app: worker } = await start(adapter, false);
      const own = new InMemoryChannelLayer();
      try {
        // Fastify builds its routes in ready(), which only listen() calls: the consumer awaits it first.
        const fastify = worker.getHttpAdapter().getInstance() as { ready(): PromiseLike<unknown> };
        const consume = controllerConsumer(
          worker.getHttpServer() as Server,
          adapter === 'fastify' ? () => fastify.ready() : undefined,
        );
        const reply = await own.newChannel('test.reply?');
        const message = new Message(
          request({
            reply_channel: reply,
            path: '/who',
            headers: latin1Pairs([['host', 'example.com']]),
            client: ['198.51.100.7', 1234],
          }),
          'http.request',
          own,
        );
        await consume(message);
        const res = await collect(own, reply);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toMatchObject({ ip: '198.51.100.7', hostname: 'example.com', protocol: 'http' });
        if (adapter === 'express') {
          // Through the module's own worker too (Fastify's needs the interface to pass ready: see the report).
          const through = await craft(worker.get(ChannelLayerRegistry).layer(), { path: '/who' });
          expect(through.status).toBe(200);
        }
      } finally {
        await own.close();
        await worker.close();
      }
    });
  },
);

describe('isForwardedRequest', () => {
  it('is false for a request from a socket, whatever headers it carries', async () => {
    const seen: boolean[] = [];
    const server = createServer((req, res) => {
      seen.push(isForwardedRequest(req));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await get(`http://127.0.0.1:${port}/`, { 'x-nestjs-channels-forwarded': 'anything' });
      expect(seen).toEqual([false]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('readHttpRequest and body_channel', () => {
  let layer: InMemoryChannelLayer;
  beforeEach(() => (layer = new InMemoryChannelLayer()));
  afterEach(() => layer.close());

  function withBodyChannel(bodyChannel: unknown): Message {
    return new Message(
      {
        reply_channel: 'test.reply?abc',
        method: 'POST',
        path: '/',
        headers: [],
        body: Buffer.from('first;'),
        body_channel: bodyChannel as string,
      },
      'http.request',
      layer,
    );
  }

  it.each([
    ['another channel', 'websocket.receive', 'websocket.receive', '"websocket.receive"'],
    ['a process channel', 'interface.abc!def', 'interface.abc!', '"interface.abc!def"'],
    ['a name like the pattern', 'http.request.body.abc', 'http.request.body.abc', '"http.request.body.abc"'],
  ])('refuses %s without reading from it', async (_what, name, receiveOn, shown) => {
    await layer.send(name, { content: Buffer.from('not yours'), more_content: false });
    await expect(readHttpRequest(withBodyChannel(name))).rejects.toThrow(TypeError);
    await expect(readHttpRequest(withBodyChannel(name))).rejects.toThrow(`body_channel ${shown}`);
    const [got, left] = await layer.receive([receiveOn]);
    expect(got).toBe(name);
    expect(Buffer.from(left!.content as Uint8Array).toString()).toBe('not yours');
  });

  it.each([
    ['the bare pattern', HTTP_BODY_CHANNEL_PATTERN, '"http.request.body?"'],
    ['a number', 42, '42'],
    ['an object', { name: 'websocket.receive' }, '{"name":"websocket.receive"}'],
    ['a pattern with a control character', 'http.request.body?a\nb', '"http.request.body?a\\nb"'],
  ])('refuses %s, naming it', async (_what, value, shown) => {
    await expect(readHttpRequest(withBodyChannel(value))).rejects.toThrow(
      new TypeError(
        `Refusing to read the request body from body_channel ${shown}: only a channel the interface made ` +
          '("http.request.body?" and a random suffix) is followed',
      ),
    );
  });

  it('follows a body channel the interface made', async () => {
    const channel = await layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    await layer.send(channel, { content: Buffer.from('second;'), more_content: true, closed: false });
    await layer.send(channel, { content: Buffer.from('third'), more_content: false, closed: false });
    expect((await readHttpRequest(withBodyChannel(channel))).text()).toBe('first;second;third');
  });

  it('reads the body alone when there is no body channel (absent or null)', async () => {
    expect((await readHttpRequest(withBodyChannel(undefined))).text()).toBe('first;');
    expect((await readHttpRequest(withBodyChannel(null))).text()).toBe('first;');
  });
});

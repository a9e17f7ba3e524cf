// The request and response details Channels and Daphne got right (issue 15): `/` and every method
// (CONNECT included) reach consumers, multi-value response headers stay separate lines, root_path,
// and the framing of streamed responses. On Express and on Fastify.
import { Controller, Get, Injectable, Module, Res, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Response } from 'express';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import {
  ChannelsModule,
  Consumer,
  InMemoryChannelLayer,
  Message,
  sendHttpResponse,
  type ChannelMessage,
  type ChannelsModuleOptions,
} from '../../src';

const seen: ChannelMessage[] = [];

@Injectable()
class ProtocolConsumers {
  @Consumer('http.request', { path: /^\/(?:app\/)?$|^\/methods$|^example\.com:443$/ })
  async anything(message: Message): Promise<void> {
    seen.push(message.content);
    await sendHttpResponse(message, {
      // Two spellings of one name: one header, two lines (the first spelling is written).
      headers: { 'Set-Cookie': 'a=1; Path=/', 'set-cookie': 'b=2; Path=/', 'X-Multi': ['one', 'two'] },
      body: `${String(message.content.method)} ${String(message.content.path)}`,
    });
  }

  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    seen.push(message.content);
    await message.replyChannel!.send({ accept: true });
  }
}

@Controller()
class CookieController {
  @Get('controller-cookies')
  cookies(@Res() res: Response): void {
    res.cookie('c', '3').cookie('d', '4').send('two cookies');
  }
}

/** The raw response bytes to `request`, written on a plain socket. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      // One response is enough: its head and (with Content-Length) its body.
      const head = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (head !== -1 && length !== undefined && text.length >= head + 4 + Number(length)) socket.end();
    });
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

const headerLines = (response: string, name: string): string[] =>
  response
    .slice(0, response.indexOf('\r\n\r\n'))
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith(`${name}:`));

async function start(
  adapter: 'express' | 'fastify',
  options: ChannelsModuleOptions = {},
): Promise<{ app: INestApplication; port: number }> {
  @Module({
    imports: [ChannelsModule.forRoot(options)],
    providers: [ProtocolConsumers],
    controllers: adapter === 'express' ? [CookieController] : [],
  })
  class ProtocolApp {}
  const moduleRef = await Test.createTestingModule({ imports: [ProtocolApp] }).compile();
  const app =
    adapter === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: ['error'] })
      : moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  return { app, port: Number(new URL((await app.getUrl()).replace('[::1]', '127.0.0.1')).port) };
}

describe.each(['express', 'fastify'] as const)('HTTP details on %s', (adapter) => {
  let app: INestApplication;
  let port: number;
  beforeAll(async () => {
    ({ app, port } = await start(adapter));
  });
  afterAll(() => app.close());
  beforeEach(() => {
    seen.length = 0;
  });

  it('takes / and /?a=1 to an http.request consumer', async () => {
    const root = await fetch(`http://127.0.0.1:${port}/`);
    expect([root.status, await root.text()]).toEqual([200, 'GET /']);
    const query = await fetch(`http://127.0.0.1:${port}/?a=1`);
    expect(await query.text()).toBe('GET /');
    expect(Buffer.from(seen[1].query_string as Uint8Array).toString()).toBe('a=1');
  });

  it('takes every method to a consumer, CONNECT included', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(`http://127.0.0.1:${port}/methods`, { method });
      expect([method, await response.text()]).toEqual([method, `${method} /methods`]);
    }
    const head = await raw(port, 'HEAD /methods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    const trace = await raw(port, 'TRACE /methods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // Bodies come chunked (no Content-Length): the body is the line between the chunk sizes.
    expect(trace).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\n\r\ne\r\nTRACE \/methods\r\n0\r\n\r\n$/);
    const connectRequest = await raw(port, 'CONNECT /methods HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(connectRequest).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\nCONNECT \/methods\r\n/);
    const authority = await raw(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(authority).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\nCONNECT example\.com:443\r\n/);
    expect(seen.map((message) => message.method)).toEqual(
      expect.arrayContaining(['HEAD', 'TRACE', 'CONNECT', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']),
    );
  });

  it('sends a header given several values as several lines, Set-Cookie included', async () => {
    const response = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(headerLines(response, 'set-cookie')).toEqual(['Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2; Path=/']);
    expect(headerLines(response, 'x-multi')).toEqual(['X-Multi: one', 'X-Multi: two']);
  });

  it('gives root_path "" by default, and leaves a Daphne-Root-Path header alone without proxy headers', async () => {
    await fetch(`http://127.0.0.1:${port}/`, { headers: { 'daphne-root-path': '/evil' } });
    expect(seen[0].root_path).toBe('');
    const names = (seen[0].headers as Uint8Array[][]).map(([name]) => Buffer.from(name).toString());
    expect(names).toContain('daphne-root-path');
  });
});

describe.each(['express', 'fastify'] as const)('root_path on %s', (adapter) => {
  let app: INestApplication;
  let port: number;
  beforeAll(async () => {
    ({ app, port } = await start(adapter, {
      interface: {
        http: { rootPath: '/app', proxyHeaders: true },
        websocket: { rootPath: '/app', proxyHeaders: true },
      },
    }));
  });
  afterAll(() => app.close());
  beforeEach(() => {
    seen.length = 0;
  });

  it('fills root_path from the rootPath option, and from a trusted Daphne-Root-Path header, which it strips', async () => {
    await fetch(`http://127.0.0.1:${port}/app/`);
    expect(seen[0]).toMatchObject({ root_path: '/app', path: '/app/' });
    await fetch(`http://127.0.0.1:${port}/app/`, { headers: { 'Daphne-Root-Path': '/mounted%20here' } });
    expect(seen[1].root_path).toBe('/mounted here');
    const names = (seen[1].headers as Uint8Array[][]).map(([name]) => Buffer.from(name).toString());
    expect(names).not.toContain('daphne-root-path');

    // WebSockets: text, like http.request's (the README's Decisions).
    for (const headers of [{}, { 'daphne-root-path': '/ws%2Droot' }]) {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/app/`, { headers });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.close();
    }
    expect(seen.slice(2).map((message) => message.root_path)).toEqual(['/app', '/ws-root']);
  });
});

describe('the rootPath option', () => {
  it.each(['app', '/app/', 7])('refuses %p at bootstrap', async (rootPath) => {
    await expect(start('express', { interface: { http: { rootPath: rootPath as string } } })).rejects.toThrow(
      /interface\.http\.rootPath must be '' or a path like '\/app'/,
    );
  });
});

describe("HTTP mode 'all'", () => {
  it('keeps the cookies a controller sets as separate Set-Cookie lines', async () => {
    const { app, port } = await start('express', { interface: { http: { mode: 'all' } } });
    try {
      const response = await raw(port, 'GET /controller-cookies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(headerLines(response, 'set-cookie')).toEqual(['set-cookie: c=3; Path=/', 'set-cookie: d=4; Path=/']);
    } finally {
      await app.close();
    }
  });
});

describe('streamed response framing (as Channels)', () => {
  const layer = new InMemoryChannelLayer();
  afterAll(() => layer.close());

  async function framesOf(body: AsyncIterable<string>): Promise<ChannelMessage[]> {
    const message = new Message({ reply_channel: 'http.response!frames', path: '/' }, 'http.request', layer);
    await sendHttpResponse(message, { status: 202, headers: { 'x-a': 'b' }, body });
    const frames: ChannelMessage[] = [];
    for (;;) {
      const [, frame] = await layer.receive(['http.response!']);
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  it('puts the status and headers in the first part: N parts, N + 1 messages', async () => {
    const frames = await framesOf(
      (async function* () {
        yield 'one';
        yield '';
        yield 'three';
      })(),
    );
    const head = [[Buffer.from('x-a'), Buffer.from('b')]];
    expect(frames).toEqual([
      { status: 202, headers: head, content: Buffer.from('one'), more_content: true },
      { content: Buffer.alloc(0), more_content: true },
      { content: Buffer.from('three'), more_content: true },
      { more_content: false },
    ]);
  });

  it('sends an empty stream as one message, the status and headers', async () => {
    const frames = await framesOf((async function* () {})());
    expect(frames).toEqual([{ status: 202, headers: [[Buffer.from('x-a'), Buffer.from('b')]], more_content: false }]);
  });
});

import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import WebSocket from 'ws';
import type { GroupsChannelLayer } from '../../src';
import { AppModule } from '../../sample/app.module';
import { ChannelLayerRegistry } from '../../src';
import { findOrStartRedis, type TestRedis } from '../support/redis-server';

interface Received {
  channel: string | null;
  message: Record<string, unknown> | null;
}

async function startSample(): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

const post = (url: string, body?: unknown): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe.each(['memory', 'redis'])('the sample app on the %s layer', (kind) => {
  let redis: TestRedis | undefined;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    if (kind === 'redis') {
      redis = await findOrStartRedis();
      process.env.CHANNEL_LAYER = 'redis';
      process.env.REDIS_URL = redis.url;
    }
    ({ app, url } = await startSample());
    await (app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer).flush();
  });
  afterAll(async () => {
    await app.close();
    delete process.env.CHANNEL_LAYER;
    delete process.env.REDIS_URL;
    await redis?.stop();
  });

  it('serves the chat: a room page, and messages to everyone in the room over WebSockets', async () => {
    const page = await fetch(`${url}/chat/lobby/`);
    expect(await page.text()).toContain('/chat/lobby/');
    const ws = url.replace('http', 'ws');
    const join = (room: string): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`${ws}/chat/${room}/`);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      });
    const ann = await join('lobby');
    const bob = await join('lobby');
    const heard = new Promise<unknown>((resolve) => bob.once('message', (data) => resolve(JSON.parse(String(data)))));
    ann.send(JSON.stringify({ username: 'ann', text: 'hello' }));
    expect(await heard).toEqual({ room: 'lobby', username: 'ann', text: 'hello' });
    const complaint = new Promise<unknown>((resolve) =>
      ann.once('message', (data) => resolve(JSON.parse(String(data)))),
    );
    ann.send('not json');
    expect(await complaint).toEqual({ error: expect.stringContaining('send JSON') });
    ann.close();
    bob.close();
  });

  it('runs a background task in the worker and returns its reply', async () => {
    const replies = await Promise.all(
      ['one', 'two', 'three'].map(async (text) => (await post(`${url}/tasks`, { text })).json()),
    );
    expect(replies.map((reply) => (reply as { result: string }).result)).toEqual(['ONE', 'TWO', 'THREE']);
  });

  it('sends to a channel and long-polls it back', async () => {
    const waiting = fetch(`${url}/channels/sample.test?wait=5`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await post(`${url}/channels/sample.test`, { text: 'hello' })).status).toBe(201);
    expect(await (await waiting).json()).toEqual({ channel: 'sample.test', message: { text: 'hello' } });
  });

  it('broadcasts to a group of process channels', async () => {
    await post(`${url}/groups/room/sample.reply!a`);
    await post(`${url}/groups/room/sample.reply!b`);
    await post(`${url}/groups/room`, { text: 'to all' });
    const first = (await (await fetch(`${url}/channels/sample.reply!`)).json()) as Received;
    const second = (await (await fetch(`${url}/channels/sample.reply!`)).json()) as Received;
    expect([first.channel, second.channel].sort()).toEqual(['sample.reply!a', 'sample.reply!b']);
    expect(first.message).toEqual({ text: 'to all' });
    await post(`${url}/groups/room/sample.reply!a/discard`);
    await post(`${url}/groups/room/sample.reply!b/discard`);
  });

  it('answers bad names with 400 and a full channel with 503', async () => {
    expect((await fetch(`${url}/channels/bad%20name`)).status).toBe(400);
    for (let i = 0; i < 100; i++) await post(`${url}/channels/sample.full`, { i });
    expect((await post(`${url}/channels/sample.full`, { i: 100 })).status).toBe(503);
    const stats = (await (await fetch(`${url}/stats`)).json()) as Record<string, number>;
    expect(stats.channel_full_count).toBeGreaterThanOrEqual(1);
  });
});

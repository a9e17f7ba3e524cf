import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import WebSocket from 'ws';
import type { GroupsChannelLayer } from '../../src';
import { AppModule } from '../../sample/app.module';
import { ChannelLayerRegistry } from '../../src';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';

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

process.env.POLL_TIMEOUT = '1';

describe.each(['memory', 'redis'])('the sample app on the %s layer', (kind) => {
  let redis: TestRedis | undefined;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    if (kind === 'redis') {
      redis = await findOrStartRedis();
      process.env.CHANNELS_LAYER = 'redis';
      process.env.REDIS_URL = redis.url;
      process.env.CHANNELS_PREFIX = uniquePrefix('sample');
    }
    ({ app, url } = await startSample());
    await (app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer).flush();
  });
  afterAll(async () => {
    await app.close();
    delete process.env.CHANNELS_LAYER;
    delete process.env.REDIS_URL;
    delete process.env.CHANNELS_PREFIX;
    await redis?.stop();
  });

  it('serves the chat: a username is required, frames go to the room as {text, username}, history is kept', async () => {
    expect(await (await fetch(`${url}/`)).text()).toContain('/chat/');
    const ws = url.replace('http', 'ws');
    const join = (path: string): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`${ws}${path}`);
        socket.once('open', () => resolve(socket));
        socket.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
        socket.once('error', reject);
      });
    await expect(join('/chat/lobby/')).rejects.toThrow('refused 403');
    const ann = await join('/chat/lobby/?username=ann');
    const bob = await join('/chat/lobby/?username=bob');
    const eve = await join('/chat/kitchen/?username=eve');
    let eveHeard = false;
    eve.on('message', () => (eveHeard = true));
    const heard = new Promise<unknown>((resolve) => bob.once('message', (data) => resolve(JSON.parse(String(data)))));
    ann.send('hello');
    expect(await heard).toEqual({ text: 'hello', username: 'ann' });
    for (let i = 0; i < 50; i++) {
      const history = (await (await fetch(`${url}/rooms/lobby/messages`)).json()) as unknown[];
      if (history.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await (await fetch(`${url}/rooms/lobby/messages`)).json()).toEqual([{ username: 'ann', text: 'hello' }]);
    expect(eveHeard).toBe(false);
    // Leaving removes you from the room: a message after bob left does not reach him.
    const left = new Promise((resolve) => bob.once('close', resolve));
    bob.close();
    await left;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const own = new Promise<unknown>((resolve) => ann.once('message', (data) => resolve(JSON.parse(String(data)))));
    ann.send('still here');
    expect(await own).toEqual({ text: 'still here', username: 'ann' });
    ann.close();
    eve.close();
  });

  it('echoes text and bytes on /echo/', async () => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/echo/`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const text = new Promise<[string, boolean]>((resolve) =>
      socket.once('message', (d, binary) => resolve([String(d), binary])),
    );
    socket.send('ping');
    expect(await text).toEqual(['ping', false]);
    const bytes = new Promise<[Buffer, boolean]>((resolve) =>
      socket.once('message', (d: Buffer, binary) => resolve([d, binary])),
    );
    socket.send(Buffer.from([1, 2, 3]));
    expect(await bytes).toEqual([Buffer.from([1, 2, 3]), true]);
    socket.close();
  });

  it('answers /hello/... from an http.request consumer', async () => {
    expect(await (await fetch(`${url}/hello/there?x=1`)).text()).toBe('Hello world! You asked for /hello/there');
  });

  it('long-polls a room: the next chat message, or 204 when none comes', async () => {
    const waiting = fetch(`${url}/poll/news/`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const socket = new WebSocket(`${url.replace('http', 'ws')}/chat/news/?username=zoe`);
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send('breaking');
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ text: 'breaking', username: 'zoe' });
    socket.close();
    // POLL_TIMEOUT is 1 s in this test.
    expect((await fetch(`${url}/poll/quiet/`)).status).toBe(204);
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

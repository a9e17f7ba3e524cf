import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import WebSocket from 'ws';
import type { GroupsChannelLayer } from '../../src';
import { ChannelLayerRegistry } from '../../src';
import { buildClient } from '../client/build-client';
import type { TestRedis } from '../support/redis-server';
import { openSocket } from '../support/websocket';
import { sampleLayer, startSample } from './sample-server';
import { browserLike, inbox, login, postLogin, sessionCookie } from './sample-client';

const post = (url: string, body?: unknown): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

process.env.POLL_TIMEOUT = '1';

describe.each(['memory', 'redis'])('the sample app on the %s layer', (kind) => {
  let redis: TestRedis | undefined;
  let restore: () => Promise<void>;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    await buildClient(); // the pages load /channels/websocketbridge.js
    ({ redis, restore } = await sampleLayer(kind, 'sample'));
    ({ app, url } = await startSample());
    await (app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer).flush();
  });
  const layer = (): GroupsChannelLayer => app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer;
  afterAll(async () => {
    await app.close();
    await restore();
  });

  it('serves the chat: a username is required, frames go to the room as {text, username}, history is kept', async () => {
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain("'/chat/'");
    expect(page).toContain('<script src="/channels/websocketbridge.js"></script>');
    const ws = url.replace('http', 'ws');
    const join = (path: string): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`${ws}${path}`, { origin: url });
        socket.once('open', () => resolve(socket));
        socket.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
        socket.once('error', reject);
      });
    await expect(join('/chat/lobby/')).rejects.toThrow('refused 403');
    const ann = await join('/chat/lobby/?username=ann');
    const bob = await join('/chat/lobby/?username=bob');
    // The refused handshake is in no room.
    expect((await layer().groupChannels('chat-lobby')).length).toBe(2);
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

  it('refuses the chat to pages of other sites and to clients that send no Origin', async () => {
    const ws = url.replace('http', 'ws');
    await expect(openSocket(`${ws}/chat/lobby/?username=eve`, [], browserLike('https://evil.example'))).rejects.toThrow(
      'refused with 403',
    );
    await expect(openSocket(`${ws}/chat/lobby/?username=eve`, [], browserLike(undefined))).rejects.toThrow(
      'refused with 403',
    );
    // The page's own origin, by name or address, is let in (ALLOWED_HOSTS unset: the local machine).
    const local = url.replace('127.0.0.1', 'localhost');
    (await openSocket(`${ws}/chat/lobby/?username=ann`, [], browserLike(local))).close();
  });

  it('takes JSON frames {"text"} on /chat/ too (what WebSocketBridge sends), and any other frame as raw text', async () => {
    const room = `${url.replace('http', 'ws')}/chat/json/`;
    const ann = await openSocket(`${room}?username=ann`, [], browserLike(url));
    const bob = await openSocket(`${room}?username=bob`, [], browserLike(url));
    const bobHears = inbox(bob);
    const said = async (frame: string): Promise<unknown> => {
      ann.send(frame);
      return JSON.parse(await bobHears.next());
    };
    expect(await said(JSON.stringify({ text: 'as json' }))).toEqual({ text: 'as json', username: 'ann' });
    // The username comes from the channel session, never from the frame.
    expect(await said(JSON.stringify({ text: 'spoof', username: 'mallory' }))).toEqual({
      text: 'spoof',
      username: 'ann',
    });
    // JSON of another shape, or no JSON at all: the frame as it came is the text.
    for (const frame of ['[1,2]', '{"text": 5}', '"quoted"', '42', '{not json', 'plain']) {
      expect(await said(frame)).toEqual({ text: frame, username: 'ann' });
    }
    expect(await said(JSON.stringify({ text: 'x'.repeat(2100) }))).toEqual({ text: 'x'.repeat(2000), username: 'ann' });
    for (let i = 0; i < 50; i++) {
      const history = (await (await fetch(`${url}/rooms/json/messages`)).json()) as unknown[];
      if (history.length >= 9) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const history = (await (await fetch(`${url}/rooms/json/messages`)).json()) as Array<{ text: string }>;
    expect(history.slice(0, 3)).toEqual([
      { username: 'ann', text: 'as json' },
      { username: 'ann', text: 'spoof' },
      { username: 'ann', text: '[1,2]' },
    ]);
    ann.close();
    bob.close();
  });

  it('serves /multi/: a chat and a shared counter multiplexed on one socket, for pages of this site only', async () => {
    const page = await fetch(`${url}/multi/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('<script src="/channels/websocketbridge.js"></script>');
    expect(html).toContain("demultiplex('counter'");
    const script = await fetch(`${url}/channels/websocketbridge.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('WebSocketBridge');

    const ws = url.replace('http', 'ws');
    await expect(openSocket(`${ws}/multi/?username=eve`, [], browserLike('https://evil.example'))).rejects.toThrow(
      'refused with 403',
    );
    await expect(openSocket(`${ws}/multi/?username=eve`, [], browserLike(undefined))).rejects.toThrow(
      'refused with 403',
    );
    // The username comes with the handshake only: none, none to speak as.
    await expect(openSocket(`${ws}/multi/`, [], browserLike(url))).rejects.toThrow('refused with 403');

    /** A socket on /multi/ whose inbox listens from the start (the first frame may come with the handshake). */
    const join = async (username: string): Promise<{ socket: WebSocket; next(): Promise<unknown> }> => {
      const socket = new WebSocket(`${ws}/multi/?username=${encodeURIComponent(username)}`, browserLike(url));
      const frames = inbox(socket);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      return { socket, next: async () => JSON.parse(await frames.next()) };
    };
    const send = (socket: WebSocket, stream: string, payload: unknown): void =>
      socket.send(JSON.stringify({ stream, payload }));
    const ann = await join('  ann  ');
    const bob = await join('b'.repeat(80));
    // On connect, the counter stream sends its value (the same to both: nobody has added yet).
    const first = (await ann.next()) as { stream: string; payload: { value: number } };
    expect(first).toEqual({ stream: 'counter', payload: { value: expect.any(Number) } });
    const start = first.payload.value;
    expect(await bob.next()).toEqual({ stream: 'counter', payload: { value: start } });

    // The chat stream: to everyone on /multi/, signed with the handshake's username (trimmed, cut
    // to 50); a username in the payload is ignored.
    send(ann.socket, 'chat', { text: 'hello both' });
    for (const socket of [ann, bob]) {
      expect(await socket.next()).toEqual({ stream: 'chat', payload: { text: 'hello both', username: 'ann' } });
    }
    send(bob.socket, 'chat', { text: 'I am ann', username: 'ann' });
    for (const socket of [ann, bob]) {
      expect(await socket.next()).toEqual({ stream: 'chat', payload: { text: 'I am ann', username: 'b'.repeat(50) } });
    }

    // The counter stream: every add goes to everyone as the new total.
    send(ann.socket, 'counter', { add: 2 });
    for (const socket of [ann, bob]) {
      expect(await socket.next()).toEqual({ stream: 'counter', payload: { value: start + 2 } });
    }
    send(bob.socket, 'counter', { add: 3 });
    for (const socket of [ann, bob]) {
      expect(await socket.next()).toEqual({ stream: 'counter', payload: { value: start + 5 } });
    }

    // Bad payloads are answered on their stream, to the sender only; an unknown stream with a bare
    // {"error"}; the socket stays open.
    for (const payload of [{ add: 101 }, { add: -101 }, { add: 1.5 }, { add: '2' }, {}, 7, null]) {
      send(ann.socket, 'counter', payload);
      expect(await ann.next()).toEqual({
        stream: 'counter',
        payload: { error: expect.stringContaining('an integer from -100 to 100') },
      });
    }
    send(ann.socket, 'chat', { text: 5 });
    expect(await ann.next()).toEqual({ stream: 'chat', payload: { error: expect.stringContaining('"text"') } });
    send(ann.socket, 'nope', {});
    expect(await ann.next()).toEqual({ error: 'unknown stream "nope"' });
    ann.socket.send('not json');
    expect(await ann.next()).toEqual({ error: expect.stringMatching(/^malformed JSON/) });
    expect(ann.socket.readyState).toBe(WebSocket.OPEN);
    send(ann.socket, 'counter', { add: -100 });
    for (const socket of [ann, bob]) {
      expect(await socket.next()).toEqual({ stream: 'counter', payload: { value: start - 95 } });
    }

    // The total outlives the sockets: a newcomer gets it on connect.
    const cat = await join('cat');
    expect(await cat.next()).toEqual({ stream: 'counter', payload: { value: start - 95 } });
    if (kind === 'redis') {
      // Kept in Redis, so that every web and worker process agrees on it.
      const client = new Redis(redis!.url);
      expect(await client.get(`${process.env.CHANNELS_PREFIX}counter`)).toBe(String(start - 95));
      await client.quit();
    }

    // Closing a socket leaves both streams' groups.
    for (const socket of [ann, bob, cat]) socket.socket.close();
    const members = (group: string): Promise<string[]> => layer().groupChannels(group);
    for (let i = 0; i < 50; i++) {
      if ((await members('multi-chat')).length + (await members('multi-counter')).length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await members('multi-chat')).toEqual([]);
    expect(await members('multi-counter')).toEqual([]);
  });

  it('logs users in and out: a wrong password is 401 with the form, a right one a session cookie', async () => {
    const form = await fetch(`${url}/login`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<form id="login" method="post" action="/login">');
    const wrong = await postLogin(url, 'alice', 'not her password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('text/html');
    expect(await wrong.text()).toContain('Wrong username or password');
    expect(wrong.headers.getSetCookie()).toEqual([]);
    expect((await postLogin(url, 'nobody', 'wonderland')).status).toBe(401);

    const right = await postLogin(url, 'alice', 'wonderland');
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/private/');
    const cookie = sessionCookie(right);
    expect(right.headers.getSetCookie()[0]).toMatch(/; HttpOnly/i);
    expect(await (await fetch(`${url}/me`, { headers: { cookie } })).json()).toEqual({ username: 'alice' });
    expect((await fetch(`${url}/me`)).status).toBe(401);

    // JSON works too.
    const json = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'builder' }),
      redirect: 'manual',
    });
    expect(json.status).toBe(303);
    const bob = sessionCookie(json);
    expect(await (await fetch(`${url}/me`, { headers: { cookie: bob } })).json()).toEqual({ username: 'bob' });

    // Logging out ends the session: the cookie is worth nothing after.
    const out = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie: bob }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/private/');
    expect((await fetch(`${url}/me`, { headers: { cookie: bob } })).status).toBe(401);
    expect(await (await fetch(`${url}/me`, { headers: { cookie } })).json()).toEqual({ username: 'alice' });
  });

  it('serves the private chat page, which asks /me and logs in with a form', async () => {
    const page = await fetch(`${url}/private/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("fetch('/me'");
    expect(html).toContain("'/private/'");
    expect(html).toContain('action="/logout"');
  });

  it("lets logged-in users chat on /private/<room>/, each line signed with the sender's login", async () => {
    const ws = url.replace('http', 'ws');
    const alice = await openSocket(
      `${ws}/private/lobby/`,
      [],
      browserLike(url, await login(url, 'alice', 'wonderland')),
    );
    // What the client says about itself counts for nothing: the name comes from the session.
    const bob = await openSocket(
      `${ws}/private/lobby/?username=mallory`,
      [],
      browserLike(url, await login(url, 'bob', 'builder')),
    );
    const aliceHears = inbox(alice);
    const bobHears = inbox(bob);
    alice.send('hello bob');
    expect(JSON.parse(await bobHears.next())).toEqual({ text: 'hello bob', username: 'alice' });
    expect(JSON.parse(await aliceHears.next())).toEqual({ text: 'hello bob', username: 'alice' });
    // A JSON frame (as WebSocketBridge sends) is read for its text; the username it claims is ignored.
    bob.send(JSON.stringify({ text: 'hi', username: 'alice' }));
    expect(JSON.parse(await aliceHears.next())).toEqual({ text: 'hi', username: 'bob' });
    // Private rooms are neither the public chat's rooms nor its history.
    expect(await (await fetch(`${url}/rooms/lobby/messages`)).json()).not.toContainEqual(
      expect.objectContaining({ text: 'hello bob' }),
    );
    alice.close();
    bob.close();
  });

  it('refuses the private chat without a login, with a tampered cookie, after logout, and from other sites', async () => {
    const room = `${url.replace('http', 'ws')}/private/lobby/`;
    const refused = (options: Parameters<typeof browserLike>): Promise<void> =>
      expect(openSocket(room, [], browserLike(...options))).rejects.toThrow('refused with 403');
    const cookie = await login(url, 'alice', 'wonderland');
    await refused([url]);
    // `connect.sid=s%3A<id>.<signature>`: another id under the same signature.
    const [name, value] = cookie.split('=');
    const signed = decodeURIComponent(value);
    const forged = `s:${signed[2] === 'A' ? 'B' : 'A'}${signed.slice(3)}`;
    await refused([url, `${name}=${encodeURIComponent(forged)}`]);
    await refused([url, `${name}=${encodeURIComponent(signed.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))}`]);
    await refused(['https://evil.example', cookie]);
    await refused([undefined, cookie]);
    (await openSocket(room, [], browserLike(url, cookie))).close();
    await fetch(`${url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    await refused([url, cookie]);
  });

  it("runs the manual's /letters/ room: logged-in users hear only the users of their first letter", async () => {
    const letters = `${url.replace('http', 'ws')}/letters/`;
    await expect(openSocket(letters, [], browserLike(url))).rejects.toThrow('refused with 403');
    await expect(
      openSocket(letters, [], browserLike('https://evil.example', await login(url, 'alice', 'wonderland'))),
    ).rejects.toThrow('refused with 403');
    const aliceCookie = await login(url, 'alice', 'wonderland');
    const alice1 = await openSocket(letters, [], browserLike(url, aliceCookie));
    const alice2 = await openSocket(letters, [], browserLike(url, aliceCookie));
    const bob = await openSocket(letters, [], browserLike(url, await login(url, 'bob', 'builder')));
    const [a1, a2, b] = [inbox(alice1), inbox(alice2), inbox(bob)];
    bob.send('b is for bob');
    expect(await b.next()).toBe('b is for bob');
    alice1.send('a is for alice');
    expect(await a2.next()).toBe('a is for alice'); // the frame as it came, to the group
    expect(await a1.next()).toBe('a is for alice');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a1.frames).toEqual(['a is for alice']);
    expect(a2.frames).toEqual(['a is for alice']);
    expect(b.frames).toEqual(['b is for bob']);
    for (const socket of [alice1, alice2, bob]) socket.close();
  });

  it('echoes text and bytes on /echo/', async () => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/echo/`, { origin: url });
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
    const socket = new WebSocket(`${url.replace('http', 'ws')}/chat/news/?username=zoe`, { origin: url });
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
});

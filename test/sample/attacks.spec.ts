// The sample tried as an attacker with no login would (issue 14): each case names the attack it
// replays, and would pass against the sample as it was before only if the attack failed.
import type { INestApplication } from '@nestjs/common';
import { sign } from 'cookie-signature';
import Redis from 'ioredis';
import WebSocket from 'ws';
import { DEVELOPMENT_SECRET } from '../../sample/channels-config';
import { HISTORY_TTL_SECONDS } from '../../sample/history.store';
import { channelSessionKey, ChannelLayerRegistry, type GroupsChannelLayer } from '../../src';
import { buildClient } from '../client/build-client';
import type { TestRedis } from '../support/redis-server';
import { openSocket } from '../support/websocket';
import { sampleLayer, startSample } from './sample-server';
import { browserLike, inbox, login, postLogin } from './sample-client';

const json = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });

/** Resolves with the close code once `socket` closes (within `ms`). */
const closed = (socket: WebSocket, ms = 5000): Promise<number> =>
  new Promise((resolve, reject) => {
    if (socket.readyState === WebSocket.CLOSED) return reject(new Error('closed before the wait'));
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['memory', 'redis'])('the sample, attacked with no login, on the %s layer', (kind) => {
  let redis: TestRedis | undefined;
  let restore: () => Promise<void>;
  let app: INestApplication;
  let url: string;
  let ws: string;
  const layer = (): GroupsChannelLayer => app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer;

  beforeAll(async () => {
    await buildClient();
    ({ redis, restore } = await sampleLayer(kind, 'attack'));
    ({ app, url } = await startSample());
    ws = url.replace('http', 'ws');
  });
  afterAll(async () => {
    await app.close();
    await restore();
  });

  /** Alice in the private lobby, and the reply channel of her socket (as an attacker might learn it). */
  async function aliceInPrivateLobby(): Promise<{ alice: WebSocket; cookie: string; reply: string }> {
    const before = new Set(await layer().groupChannels('private-lobby'));
    const cookie = await login(url, 'alice', 'wonderland');
    const alice = await openSocket(`${ws}/private/lobby/`, [], browserLike(url, cookie));
    const reply = (await layer().groupChannels('private-lobby')).find((name) => !before.has(name));
    if (!reply) throw new Error("alice's socket is not in the private lobby");
    return { alice, cookie, reply };
  }

  it('1–6: no endpoint reaches the layer: group members, sends to any channel, joins, drains, forged replies', async () => {
    const { alice, reply } = await aliceInPrivateLobby();
    const heard = inbox(alice);
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', '/groups/private-lobby'], // 1: the members, i.e. reply channels
      ['POST', '/channels/websocket.receive', { reply_channel: reply, path: '/private/lobby/', text: 'hi' }], // 2
      ['POST', `/channels/${encodeURIComponent(reply)}`, { close: 4001 }], // 3: into her socket
      ['POST', `/channels/${encodeURIComponent(reply)}`, { text: 'injected' }],
      ['POST', `/groups/private-lobby/${encodeURIComponent('attacker.reply!x')}`], // 4: join her room
      ['GET', '/channels/http.request?wait=1'], // 5: take others' requests, cookies included
      ['GET', '/channels/websocket.connect?wait=1'],
      ['GET', `/channels/${encodeURIComponent(reply.slice(0, reply.indexOf('!') + 1))}?wait=1`], // 5: drain replies
      ['POST', '/channels/http.response!x', { status: 302, headers: [['set-cookie', 'connect.sid=planted']] }], // 6
      ['POST', '/groups/private-lobby', { text: 'to all' }],
      ['GET', '/stats'],
    ];
    for (const [method, path, body] of attempts) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect([path, response.status]).toEqual([path, 404]);
    }
    // The index lists no such endpoint, and nothing reached alice.
    expect(JSON.stringify(await (await fetch(`${url}/api`)).json())).not.toMatch(/\/channels\/|\/groups\/|\/stats/);
    await pause(200);
    expect(heard.frames).toEqual([]);
    expect(alice.readyState).toBe(WebSocket.OPEN);
    expect(await layer().groupChannels('private-lobby')).not.toContain('attacker.reply!x');
    alice.close();
  });

  it('7 and 12: posts from pages of other sites are refused: login (CSRF), logout, tasks', async () => {
    const evil = { origin: 'https://evil.example' };
    const form = (origin: Record<string, string>): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...origin },
      body: new URLSearchParams({ username: 'alice', password: 'wonderland' }).toString(),
      redirect: 'manual',
    });
    // A plain cross-site form post logging the browser in as someone (login CSRF): no session made.
    const crossLogin = await fetch(`${url}/login`, form(evil));
    expect(crossLogin.status).toBe(403);
    expect(crossLogin.headers.getSetCookie()).toEqual([]);
    expect((await fetch(`${url}/login`, form({ 'sec-fetch-site': 'cross-site' }))).status).toBe(403);
    expect((await fetch(`${url}/login`, form({ 'sec-fetch-site': 'same-site' }))).status).toBe(403);
    expect((await fetch(`${url}/login`, form({ origin: 'null' }))).status).toBe(403);
    // The site's own pages still can.
    expect((await fetch(`${url}/login`, form({ origin: url }))).status).toBe(303);
    expect((await fetch(`${url}/login`, form({ 'sec-fetch-site': 'same-origin' }))).status).toBe(303);

    const cookie = await login(url, 'alice', 'wonderland');
    const crossLogout = await fetch(`${url}/logout`, {
      method: 'POST',
      headers: { cookie, ...evil },
      redirect: 'manual',
    });
    expect(crossLogout.status).toBe(403);
    expect(await (await fetch(`${url}/me`, { headers: { cookie } })).json()).toEqual({ username: 'alice' });
    expect((await json(`${url}/tasks`, { text: 'x' }, evil)).status).toBe(403);
    expect((await json(`${url}/tasks`, { text: 'x' }, { origin: url })).status).toBe(201);
  });

  it('8: the history stores only lines as the chat sends them, and forgets a room after a week', async () => {
    const room = `history-${kind}`;
    const history = async (): Promise<unknown[]> =>
      (await (await fetch(`${url}/rooms/${room}/messages`)).json()) as unknown[];
    // Forged lines on the history channel (any code that could send there): wrong room, no or a long username.
    for (const forged of [
      { room: '../../etc', username: 'alice', text: 'x' },
      { room, username: '', text: 'x' },
      { room, username: 'a'.repeat(51), text: 'x' },
      { room, username: 'alice', text: 7 },
      { room: [room], username: 'alice', text: 'x' },
    ]) {
      await layer().send('chat-messages', forged);
    }
    const guest = await openSocket(`${ws}/chat/${room}/?username=zoe`, [], browserLike(url));
    const frames = inbox(guest);
    guest.send(JSON.stringify({ text: 'real', username: 'alice' }));
    expect(JSON.parse(await frames.next())).toEqual({ text: 'real', username: 'zoe' });
    for (let i = 0; i < 50 && (await history()).length === 0; i++) await pause(20);
    expect(await history()).toEqual([{ username: 'zoe', text: 'real' }]);
    guest.close();
    if (kind === 'redis') {
      const client = new Redis(redis!.url);
      const ttl = await client.ttl(`${process.env.CHANNELS_PREFIX}history:${room}`);
      await client.quit();
      expect(ttl).toBeGreaterThan(HISTORY_TTL_SECONDS - 60);
      expect(ttl).toBeLessThanOrEqual(HISTORY_TTL_SECONDS);
    }
  });

  it('9: a cookie naming a channel session is no HTTP session, let alone a login', async () => {
    const { alice, reply } = await aliceInPrivateLobby();
    alice.send('hello'); // the channel session holds alice's login now
    await inbox(alice).next();
    const forged = `connect.sid=${encodeURIComponent(`s:${sign(channelSessionKey(reply), DEVELOPMENT_SECRET)}`)}`;
    expect((await fetch(`${url}/me`, { headers: { cookie: forged } })).status).toBe(401);
    await expect(openSocket(`${ws}/private/lobby/`, [], browserLike(url, forged))).rejects.toThrow('refused with 403');
    alice.close();
  });

  it('11: logging out closes the sockets the user opened before, and only theirs', async () => {
    const { alice, cookie } = await aliceInPrivateLobby();
    const second = await openSocket(`${ws}/letters/`, [], browserLike(url, cookie));
    const bob = await openSocket(`${ws}/private/lobby/`, [], browserLike(url, await login(url, 'bob', 'builder')));
    const bobHears = inbox(bob);
    const aliceClosed = closed(alice);
    const secondClosed = closed(second);
    const out = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(await aliceClosed).toBe(4003);
    expect(await secondClosed).toBe(4003);
    expect(bob.readyState).toBe(WebSocket.OPEN);
    bob.send('still here');
    expect(JSON.parse(await bobHears.next())).toEqual({ text: 'still here', username: 'bob' });
    // And the old cookie opens nothing.
    await expect(openSocket(`${ws}/private/lobby/`, [], browserLike(url, cookie))).rejects.toThrow('refused with 403');
    bob.close();
  });

  it('12: bad task bodies are 400, not 500; pages carry a CSP with no inline allowance and refuse framing', async () => {
    const cases: unknown[] = [undefined, '{"text": ', '[]', { text: 5 }, { text: '' }, { text: 'x'.repeat(1001) }];
    for (const body of cases) {
      const response = await fetch(`${url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      expect([body, response.status]).toEqual([body, 400]);
    }
    for (const path of ['/', '/private/', '/multi/', '/login']) {
      const response = await fetch(`${url}${path}`);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self' 'sha256-");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('origins with ports: a page on another port of an allowed host opens no socket', async () => {
    const otherPort = `http://127.0.0.1:${Number(new URL(url).port) + 1}`;
    await expect(openSocket(`${ws}/chat/lobby/?username=eve`, [], browserLike(otherPort))).rejects.toThrow(
      'refused with 403',
    );
    const own = await openSocket(`${ws}/chat/lobby/?username=eve`, [], browserLike(url));
    own.close();
  });

  it('12: login attempts are limited per client: 429 past the limit, even with the right password', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await postLogin(url, 'alice', `guess ${i}`)).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(10);
    expect((await postLogin(url, 'alice', 'wonderland')).status).toBe(429);
  });
});

describe('the sample in production', () => {
  const env = { ...process.env };
  afterEach(() => {
    process.env = { ...env };
  });

  it.each([
    ['no SESSION_SECRET', undefined],
    ['the development secret', DEVELOPMENT_SECRET],
  ])('10: refuses to start with %s', async (_case, secret) => {
    process.env.NODE_ENV = 'production';
    if (secret === undefined) delete process.env.SESSION_SECRET;
    else process.env.SESSION_SECRET = secret;
    await expect(startSample()).rejects.toThrow(/SESSION_SECRET is not set .* NODE_ENV=production/);
  });

  it('10: starts with a secret of its own', async () => {
    process.env.NODE_ENV = 'production';
    process.env.SESSION_SECRET = 'a long random value for this test only';
    const { app, url } = await startSample();
    expect((await fetch(`${url}/`)).status).toBe(200);
    await app.close();
  });
});

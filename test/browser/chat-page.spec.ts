import type { INestApplication } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildClient } from '../client/build-client';
import { freePort } from '../support/redis-server';
import { startSample } from '../sample/sample-server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Evaluated in the page (strings, so this Node project needs no DOM types).
const CONNECTED = "document.getElementById('status')?.textContent.startsWith('connected')";
const DISCONNECTED = "document.getElementById('status')?.textContent.startsWith('disconnected')";
const MEMBER = "document.getElementById('member')?.hidden === false";
const COUNTER_SHOWN = "document.getElementById('counter')?.textContent !== '?'";
const counterIs = (value: number): string => `document.getElementById('counter')?.textContent === '${value}'`;
const logHas = (text: string): string =>
  `document.getElementById('log')?.textContent.includes(${JSON.stringify(text)}) === true`;

let browser: Browser;

/**
 * Waits until `expression` is true in `page`. Polled with `page.evaluate` (DevTools, outside the
 * page's CSP), not `page.waitForFunction`, whose in-page polling evaluates strings and so is
 * blocked by the sample's Content-Security-Policy, as any injected script should be.
 */
async function until(page: Page, expression: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`still false after ${timeoutMs} ms: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  await buildClient(); // the pages load /channels/websocketbridge.js
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
});

/** What the pages' Content-Security-Policy blocked, and form patterns the browser refused (console errors): must stay empty. */
const cspViolations: string[] = [];
afterEach(() => {
  expect(cspViolations.splice(0)).toEqual([]);
});

/** `page`, its CSP violations recorded. */
function watched(page: Page): Page {
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Pattern attribute/i.test(message.text()))
      cspViolations.push(message.text());
  });
  return page;
}

/** A page of the chat at `url`, in `room` as `name`, connected. */
async function enterChat(url: string, room: string, name: string): Promise<Page> {
  const page = watched(await browser.newPage());
  await page.goto(url);
  await page.fill('#room', room);
  await page.fill('#username', name);
  await page.click('#enter');
  await until(page, CONNECTED);
  return page;
}

/** A page of /multi/ at `url`, connected and showing the counter. */
async function openMulti(url: string): Promise<Page> {
  const page = watched(await browser.newPage());
  await page.goto(`${url}/multi/`);
  await until(page, CONNECTED);
  await until(page, COUNTER_SHOWN);
  return page;
}

describe('the sample chat page in a real browser', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startSample(0, ['error']));
  });
  const contexts: BrowserContext[] = [];
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await app?.close();
  });

  it('lets two pages in the same room talk, and shows the history to a newcomer', async () => {
    const ann = await enterChat(url, 'browser', 'ann');
    expect(await ann.evaluate('typeof channels.WebSocketBridge')).toBe('function'); // the served client
    const bob = await enterChat(url, 'browser', 'bob');
    await ann.fill('#text', 'hello from a real browser');
    await ann.click('#send');
    await bob.waitForSelector('#log p');
    expect(await bob.textContent('#log')).toContain('ann: hello from a real browser');
    await until(ann, logHas('ann: hello from a real browser'));
    const cat = await enterChat(url, 'browser', 'cat');
    await cat.waitForSelector('#log p');
    expect(await cat.textContent('#log')).toContain('ann: hello from a real browser');
  });

  it('checks the room name in the form, and says so when the server refuses a room', async () => {
    const page = watched(await browser.newPage());
    await page.goto(url);
    await page.fill('#room', 'no spaces');
    expect(await page.evaluate("document.getElementById('room').checkValidity()")).toBe(false);
    // Past the form's check (an old browser, a pattern edited out), the server's 400 is shown.
    await page.evaluate("document.getElementById('room').removeAttribute('pattern')");
    await page.fill('#username', 'ann');
    await page.click('#enter');
    await until(page, "document.getElementById('status')?.textContent.startsWith('not connected: Room names')");
  });

  it('logs two users in, each in a browser of their own, and signs their private chat lines with their login', async () => {
    const member = async (username: string, password: string): Promise<Page> => {
      // A context per user: cookies of their own, like two browsers.
      const context = await browser.newContext();
      contexts.push(context);
      const page = watched(await context.newPage());
      await page.goto(`${url}/private/`);
      await page.waitForSelector('#login-button'); // nobody logged in yet: the form
      await page.fill('#username', username);
      await page.fill('#password', password);
      await Promise.all([page.waitForURL(`${url}/private/`), page.click('#login-button')]);
      await until(page, MEMBER);
      expect(await page.textContent('#me')).toBe(username);
      await page.fill('#room', 'lobby');
      await page.click('#enter');
      await until(page, CONNECTED);
      return page;
    };
    const alice = await member('alice', 'wonderland');
    const bob = await member('bob', 'builder');
    await alice.fill('#text', 'hello bob, from a real browser');
    await alice.click('#send');
    await bob.waitForSelector('#log p');
    expect(await bob.textContent('#log p')).toBe('alice: hello bob, from a real browser');
    expect(await bob.textContent('#log p .author')).toBe('alice');
    await alice.waitForSelector('#log p');
    expect(await alice.textContent('#log p')).toBe('alice: hello bob, from a real browser');
    // A second tab of bob's, in the same room.
    const bobsTab = watched(await bob.context().newPage());
    await bobsTab.goto(`${url}/private/`);
    await until(bobsTab, MEMBER);
    await bobsTab.fill('#room', 'lobby');
    await bobsTab.click('#enter');
    await until(bobsTab, CONNECTED);
    // Logging out brings the login form back, and closes the socket of the other tab: it can no
    // longer speak for bob (its reconnects are refused, nobody is logged in).
    await Promise.all([bob.waitForEvent('load'), bob.click('#logout-button')]);
    await until(bob, "document.getElementById('anonymous')?.hidden === false");
    expect(await bob.isVisible('#login-button')).toBe(true);
    await until(bobsTab, DISCONNECTED);
    await bobsTab.fill('#text', 'said after logout');
    await bobsTab.click('#send');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await alice.textContent('#log')).not.toContain('said after logout');
    expect(await bobsTab.textContent('#status')).not.toMatch(/^connected/);
  });

  it('refuses a login form posted from a page of another origin (login CSRF), in a real browser', async () => {
    // The attacker's page: another origin (another port), a form that posts to the sample's /login.
    const evil = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end(`<form id="f" method="post" action="${url}/login">
<input name="username" value="alice"><input name="password" value="wonderland"><button id="go">go</button></form>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    const [response] = await Promise.all([page.waitForResponse(`${url}/login`), page.click('#go')]);
    expect(response.status()).toBe(403);
    expect((await context.cookies(url)).map((cookie) => cookie.name)).not.toContain('connect.sid');
    await new Promise((resolve) => evil.close(resolve));
  });

  it('multiplexes a chat and a live counter on /multi/: what one page does, the other sees', async () => {
    const ann = await openMulti(url);
    const bob = await openMulti(url);
    const start = Number(await ann.textContent('#counter'));
    expect(Number.isInteger(start)).toBe(true);
    expect(await bob.textContent('#counter')).toBe(String(start));

    await ann.fill('#username', 'ann');
    await ann.fill('#text', '<b>hello</b> on two streams');
    await ann.click('#send');
    await ann.click('#add');
    await until(bob, logHas('ann: <b>hello</b> on two streams'));
    await until(bob, counterIs(start + 1));
    await until(ann, counterIs(start + 1));
    expect(await bob.textContent('#log p')).toBe('ann: <b>hello</b> on two streams');
    expect(await bob.$$('#log b')).toHaveLength(0); // put in as text, never as HTML

    await bob.click('#subtract');
    await bob.click('#subtract');
    await until(ann, counterIs(start - 1));
    await until(bob, counterIs(start - 1));
  });
});

describe('the sample pages when the server restarts', () => {
  let app: INestApplication | undefined;
  let port: number;
  let url: string;

  beforeAll(async () => {
    port = await freePort();
    ({ app, url } = await startSample(port, ['error']));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('reconnect by themselves (WebSocketBridge), and talk again on the restarted server', async () => {
    const ann = await enterChat(url, 'restart', 'ann');
    const bob = await enterChat(url, 'restart', 'bob');
    const multi = await openMulti(url);
    await multi.click('#add');
    await until(multi, counterIs(1));
    await ann.fill('#text', 'before the restart');
    await ann.click('#send');
    await until(bob, logHas('ann: before the restart'));

    await app!.close();
    app = undefined;
    for (const page of [ann, bob, multi]) {
      await until(page, DISCONNECTED);
      expect(await page.textContent('#status')).toBe('disconnected, reconnecting…');
    }

    // The same port again: the pages come back by themselves (the bridge retries after 1–2 s).
    ({ app } = await startSample(port, ['error']));
    for (const page of [ann, bob, multi]) await until(page, CONNECTED, 20_000);
    expect(await ann.textContent('#status')).toBe('connected to restart');
    // The restarted server's counter (in memory: a new one) is sent on the new connection.
    await until(multi, counterIs(0));
    await ann.fill('#text', 'after the restart');
    await ann.click('#send');
    await until(bob, logHas('ann: after the restart'));
    await until(ann, logHas('ann: after the restart'));
  }, 60_000);
});

import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AppModule } from '../../sample/app.module';
import { buildClient } from '../client/build-client';
import { freePort } from '../support/redis-server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Evaluated in the page (strings, so this Node project needs no DOM types).
const CONNECTED = "document.getElementById('status')?.textContent.startsWith('connected')";
const DISCONNECTED = "document.getElementById('status')?.textContent.startsWith('disconnected')";
const MEMBER = "document.getElementById('member')?.hidden === false";
const COUNTER_SHOWN = "document.getElementById('counter')?.textContent !== '?'";
const counterIs = (value: number): string => `document.getElementById('counter')?.textContent === '${value}'`;
const logHas = (text: string): string =>
  `document.getElementById('log')?.textContent.includes(${JSON.stringify(text)}) === true`;

/** The sample app on `port` (0: any free port). */
async function startSample(port = 0): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(port, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

let browser: Browser;

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

/** A page of the chat at `url`, in `room` as `name`, connected. */
async function enterChat(url: string, room: string, name: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  await page.fill('#room', room);
  await page.fill('#username', name);
  await page.click('#enter');
  await page.waitForFunction(CONNECTED);
  return page;
}

/** A page of /multi/ at `url`, connected and showing the counter. */
async function openMulti(url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${url}/multi/`);
  await page.waitForFunction(CONNECTED);
  await page.waitForFunction(COUNTER_SHOWN);
  return page;
}

describe('the sample chat page in a real browser', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startSample());
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
    await ann.waitForFunction(logHas('ann: hello from a real browser'));
    const cat = await enterChat(url, 'browser', 'cat');
    await cat.waitForSelector('#log p');
    expect(await cat.textContent('#log')).toContain('ann: hello from a real browser');
  });

  it('logs two users in, each in a browser of their own, and signs their private chat lines with their login', async () => {
    const member = async (username: string, password: string): Promise<Page> => {
      // A context per user: cookies of their own, like two browsers.
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${url}/private/`);
      await page.waitForSelector('#login-button'); // nobody logged in yet: the form
      await page.fill('#username', username);
      await page.fill('#password', password);
      await Promise.all([page.waitForURL(`${url}/private/`), page.click('#login-button')]);
      await page.waitForFunction(MEMBER);
      expect(await page.textContent('#me')).toBe(username);
      await page.fill('#room', 'lobby');
      await page.click('#enter');
      await page.waitForFunction(CONNECTED);
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
    // Logging out brings the login form back.
    await Promise.all([bob.waitForEvent('load'), bob.click('#logout-button')]);
    await bob.waitForFunction("document.getElementById('anonymous')?.hidden === false");
    expect(await bob.isVisible('#login-button')).toBe(true);
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
    await bob.waitForFunction(logHas('ann: <b>hello</b> on two streams'));
    await bob.waitForFunction(counterIs(start + 1));
    await ann.waitForFunction(counterIs(start + 1));
    expect(await bob.textContent('#log p')).toBe('ann: <b>hello</b> on two streams');
    expect(await bob.$$('#log b')).toHaveLength(0); // put in as text, never as HTML

    await bob.click('#subtract');
    await bob.click('#subtract');
    await ann.waitForFunction(counterIs(start - 1));
    await bob.waitForFunction(counterIs(start - 1));
  });
});

describe('the sample pages when the server restarts', () => {
  let app: INestApplication | undefined;
  let port: number;
  let url: string;

  beforeAll(async () => {
    port = await freePort();
    ({ app, url } = await startSample(port));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('reconnect by themselves (WebSocketBridge), and talk again on the restarted server', async () => {
    const ann = await enterChat(url, 'restart', 'ann');
    const bob = await enterChat(url, 'restart', 'bob');
    const multi = await openMulti(url);
    await multi.click('#add');
    await multi.waitForFunction(counterIs(1));
    await ann.fill('#text', 'before the restart');
    await ann.click('#send');
    await bob.waitForFunction(logHas('ann: before the restart'));

    await app!.close();
    app = undefined;
    for (const page of [ann, bob, multi]) {
      await page.waitForFunction(DISCONNECTED);
      expect(await page.textContent('#status')).toBe('disconnected, reconnecting…');
    }

    // The same port again: the pages come back by themselves (the bridge retries after 1–2 s).
    ({ app } = await startSample(port));
    for (const page of [ann, bob, multi]) await page.waitForFunction(CONNECTED, undefined, { timeout: 20_000 });
    expect(await ann.textContent('#status')).toBe('connected to restart');
    // The restarted server's counter (in memory: a new one) is sent on the new connection.
    await multi.waitForFunction(counterIs(0));
    await ann.fill('#text', 'after the restart');
    await ann.click('#send');
    await bob.waitForFunction(logHas('ann: after the restart'));
    await ann.waitForFunction(logHas('ann: after the restart'));
  }, 60_000);
});

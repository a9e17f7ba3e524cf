import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AppModule } from '../../sample/app.module';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Evaluated in the page (strings, so this Node project needs no DOM types).
const CONNECTED = "document.getElementById('status')?.textContent.startsWith('connected')";
const MEMBER = "document.getElementById('member')?.hidden === false";

describe('the sample chat page in a real browser', () => {
  let app: INestApplication;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    }
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });
  const contexts: BrowserContext[] = [];
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await app?.close();
  });

  it('lets two pages in the same room talk, and shows the history to a newcomer', async () => {
    const enter = async (name: string): Promise<Page> => {
      const page = await browser.newPage();
      await page.goto(url);
      await page.fill('#room', 'browser');
      await page.fill('#username', name);
      await page.click('#enter');
      await page.waitForFunction(CONNECTED);
      return page;
    };
    const ann = await enter('ann');
    const bob = await enter('bob');
    await ann.fill('#text', 'hello from a real browser');
    await ann.click('#send');
    await bob.waitForSelector('#log p');
    expect(await bob.textContent('#log')).toContain('ann: hello from a real browser');
    expect(await ann.textContent('#log')).toContain('ann: hello from a real browser');
    const cat = await enter('cat');
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
});

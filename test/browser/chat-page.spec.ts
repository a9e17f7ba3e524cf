import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { AppModule } from '../../sample/app.module';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Evaluated in the page (a string, so this Node project needs no DOM types).
const CONNECTED = "document.getElementById('status')?.textContent === 'connected'";

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
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('lets two pages in the same room talk', async () => {
    const ann = await browser.newPage();
    const bob = await browser.newPage();
    await ann.goto(`${url}/chat/browser/`);
    await bob.goto(`${url}/chat/browser/`);
    await ann.waitForFunction(CONNECTED);
    await bob.waitForFunction(CONNECTED);
    await ann.fill('#username', 'ann');
    await ann.fill('#text', 'hello from a real browser');
    await ann.click('button');
    await bob.waitForSelector('#log p');
    expect(await bob.textContent('#log')).toContain('ann: hello from a real browser');
    expect(await ann.textContent('#log')).toContain('ann: hello from a real browser');
  });

  it('serves a home page that leads to a room', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await page.fill('#room', 'kitchen');
    await page.click('button');
    await page.waitForURL(/\/chat\/kitchen\/$/);
    await page.waitForFunction(CONNECTED);
  });
});

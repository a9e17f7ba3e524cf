import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AppModule } from '../../sample/app.module';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Evaluated in the page (a string, so this Node project needs no DOM types).
const CONNECTED = "document.getElementById('status')?.textContent.startsWith('connected')";

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
});

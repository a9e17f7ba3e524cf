import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ChannelsModule, type ChannelsModuleOptions } from '../../src';
import { buildClient } from './build-client';

async function start(options: ChannelsModuleOptions, fastify = false): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [ChannelsModule.forRoot(options)] }).compile();
  const app = fastify
    ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false })
    : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('the WebSocketBridge script served by ChannelsModule', () => {
  beforeAll(() => buildClient(), 60_000);

  it.each([
    ['Express', false],
    ['Fastify', true],
  ])('is served at /channels/websocketbridge.js on %s, with an ETag that gives 304', async (_name, fastify) => {
    const { app, url } = await start({}, fastify);
    try {
      const response = await fetch(`${url}/channels/websocketbridge.js`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await response.text()).toContain('WebSocketBridge');
      const etag = response.headers.get('etag')!;
      const again = await fetch(`${url}/channels/websocketbridge.js`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    } finally {
      await app.close();
    }
  });

  it('moves to `client.path`, and is not served with `client: false`', async () => {
    const moved = await start({ client: { path: '/static/bridge.js' } });
    try {
      expect((await fetch(`${moved.url}/static/bridge.js`)).status).toBe(200);
      expect((await fetch(`${moved.url}/channels/websocketbridge.js`)).status).toBe(404);
    } finally {
      await moved.app.close();
    }
    const off = await start({ client: false });
    try {
      expect((await fetch(`${off.url}/channels/websocketbridge.js`)).status).toBe(404);
    } finally {
      await off.app.close();
    }
  });
});

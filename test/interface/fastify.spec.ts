import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import WebSocket from 'ws';
import { ChannelsModule, Consumer, sendHttpResponse, type Message } from '../../src';

@Injectable()
class Consumers {
  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive')
  async echo(message: Message): Promise<void> {
    await message.replyChannel!.send({ text: `echo: ${String(message.content.text)}` });
  }

  @Consumer('http.request', { path: /^\/over-channels$/ })
  async http(message: Message): Promise<void> {
    await sendHttpResponse(message, { body: { via: 'channels', method: message.content.method as string } });
  }
}

@Controller()
class PlainController {
  @Get('plain')
  plain(): { via: string } {
    return { via: 'controller' };
  }
}

@Module({ imports: [ChannelsModule.forRoot()], providers: [Consumers], controllers: [PlainController] })
class FastifyApp {}

describe('on the Fastify adapter', () => {
  let app: NestFastifyApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FastifyApp] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(() => app.close());

  it('serves WebSockets over channels', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/anything`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('hi');
    expect(await reply).toBe('echo: hi');
    ws.close();
  });

  it('serves routed HTTP over channels and the rest from controllers', async () => {
    expect(await (await fetch(`${url}/over-channels`, { method: 'POST' })).json()).toEqual({
      via: 'channels',
      method: 'POST',
    });
    expect(await (await fetch(`${url}/plain`)).json()).toEqual({ via: 'controller' });
  });
});

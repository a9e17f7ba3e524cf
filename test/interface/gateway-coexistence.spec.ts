import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type WebSocket from 'ws';
import { ChannelsModule, Consumer, type Message } from '../../src';
import { openSocket } from '../support/websocket';

/** A plain Nest gateway on /gw, next to WebSockets over channels on /chat/…. */
@WebSocketGateway({ path: '/gw' })
class EchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: string): { event: string; data: string } {
    return { event: 'echo', data: `gateway: ${data}` };
  }
}

@Injectable()
class ChatConsumers {
  @Consumer('websocket.connect', { path: /^\/chat\// })
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: /^\/chat\// })
  async receive(message: Message): Promise<void> {
    await message.replyChannel!.send({ text: `channels: ${String(message.content.text)}` });
  }
}

@Module({
  imports: [ChannelsModule.forRoot({ interface: { websocket: { paths: /^\/chat\// } } })],
  providers: [EchoGateway, ChatConsumers],
})
class MixedApp {}

const reply = (ws: WebSocket): Promise<string> =>
  new Promise((resolve) => ws.once('message', (d) => resolve(String(d))));

describe('next to a Nest WsAdapter gateway', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [MixedApp] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    app.useWebSocketAdapter(new WsAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('http', 'ws').replace('[::1]', '127.0.0.1');
  });
  afterAll(() => app.close());

  it('serves its paths over channels and leaves the gateway its own', async () => {
    const chat = await openSocket(`${url}/chat/room/`);
    const gateway = await openSocket(`${url}/gw`);
    const fromChat = reply(chat);
    chat.send('hi');
    expect(await fromChat).toBe('channels: hi');
    const fromGateway = reply(gateway);
    gateway.send(JSON.stringify({ event: 'echo', data: 'hi' }));
    expect(JSON.parse(await fromGateway)).toEqual({ event: 'echo', data: 'gateway: hi' });
    chat.close();
    gateway.close();
  });
});

import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type WebSocket from 'ws';
import { openSocket } from '../support/websocket';
import { ChannelsModule, Consumer, Group, type Message, type RouteKwargs } from '../../src';

/** The manual's chat, as the README's getting-started writes it. */
@Injectable()
class ChatConsumers {
  @Consumer('websocket.connect', { path: /^\/chat\/(?<room>\w+)\/$/ })
  async connect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: /^\/chat\/(?<room>\w+)\/$/ })
  async receive(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).send({ text: message.content.text as string });
  }

  @Consumer('websocket.disconnect', { path: /^\/chat\/(?<room>\w+)\/$/ })
  async disconnect(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).discard(message.replyChannel!);
  }
}

@Module({ imports: [ChannelsModule.forRoot()], providers: [ChatConsumers] })
class ChatApp {}

const nextText = (ws: WebSocket): Promise<string> =>
  new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));

describe('a Nest chat app over the in-memory layer, with real WebSocket clients', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ChatApp] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('http', 'ws').replace('[::1]', '127.0.0.1');
  });
  afterAll(() => app.close());

  it('delivers a message to everyone in the room, and no one elsewhere', async () => {
    const ann = await openSocket(`${url}/chat/lobby/`);
    const bob = await openSocket(`${url}/chat/lobby/`);
    const eve = await openSocket(`${url}/chat/kitchen/`);
    let eveHeard = false;
    eve.on('message', () => (eveHeard = true));
    const annHears = nextText(ann);
    const bobHears = nextText(bob);
    ann.send('hello lobby');
    expect(await annHears).toBe('hello lobby');
    expect(await bobHears).toBe('hello lobby');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(eveHeard).toBe(false);
    for (const ws of [ann, bob, eve]) ws.close();
  });

  it('refuses a path no consumer accepts, after the connect timeout', async () => {
    await expect(openSocket(`${url}/nowhere/`)).rejects.toThrow('refused with 403');
  }, 10_000);
});

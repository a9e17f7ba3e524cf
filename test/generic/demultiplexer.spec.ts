import { Inject, Injectable, Scope, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  Consumer,
  Group,
  JsonWebsocketConsumer,
  WebsocketDemultiplexer,
  WebsocketMultiplexer,
  type ChannelLayer,
  type RouteKwargs,
} from '../../src';
import { Client } from '../../src/testing';

@Injectable()
class Counter {
  value = 0;
}

interface ChatPayload {
  text: string;
}

@Injectable({ scope: Scope.TRANSIENT })
class ChatStream extends JsonWebsocketConsumer<ChatPayload, ChatPayload> {
  override connectionGroups(kwargs: RouteKwargs): string[] {
    return [`chat-${kwargs.room ?? 'lobby'}`];
  }

  override async receive(content: ChatPayload, kwargs: RouteKwargs): Promise<void> {
    await this.groupSend(`chat-${kwargs.room ?? 'lobby'}`, { text: content.text });
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class CounterStream extends JsonWebsocketConsumer<{ add: number }, { value: number }> {
  constructor(@Inject(Counter) private readonly counter: Counter) {
    super();
  }

  override async connect(): Promise<void> {
    await this.accept(); // demultiplexed: no second accept goes out
    await this.send({ value: this.counter.value });
  }

  override async receive(content: { add: number }): Promise<void> {
    this.counter.value += content.add;
    await this.send({ value: this.counter.value });
  }
}

@Consumer({ path: /^\/multi\/(?<room>[a-z]+)\/$/ })
class Multi extends WebsocketDemultiplexer {
  static override consumers = { chat: ChatStream, counter: CounterStream };
}

/** Its stream consumer is a singleton: refused when used. */
@Injectable()
class SingletonStream extends JsonWebsocketConsumer {}

@Consumer({ path: /^\/bad\/$/ })
class BadMulti extends WebsocketDemultiplexer {
  static override consumers = { one: SingletonStream };
}

const text = (message: Record<string, unknown> | null): unknown => JSON.parse(String(message?.text));

describe('WebsocketDemultiplexer', () => {
  let app: INestApplication;
  let layer: ChannelLayer;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ worker: { enabled: false } })],
      providers: [Counter, ChatStream, CounterStream, Multi, SingletonStream, BadMulti],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
    layer = app.get(ChannelLayerRegistry).layer();
  });
  afterAll(() => app.close());

  it('fans connect out to every stream: one accept, each stream joins its groups and may send', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/multi/kitchen/' });
    expect(await client.receive()).toEqual({ accept: true });
    expect(text(await client.receive())).toEqual({ stream: 'counter', payload: { value: 0 } });
    expect(await client.receive()).toBeNull();
    expect(await new Group('chat-kitchen', layer).channels()).toEqual([client.replyChannel]);
  });

  it('routes each payload to its stream, and wraps the replies in it (group sends too)', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/multi/hall/' });
    while (await client.receive()) {
      // the accept and the counter's first value
    }
    await client.sendAndConsume('websocket.receive', {
      path: '/multi/hall/',
      text: JSON.stringify({ stream: 'counter', payload: { add: 5 } }),
    });
    expect(text(await client.receive())).toEqual({ stream: 'counter', payload: { value: 5 } });
    await client.sendAndConsume('websocket.receive', {
      path: '/multi/hall/',
      text: JSON.stringify({ stream: 'chat', payload: { text: 'hi all' } }),
    });
    expect(text(await client.receive())).toEqual({ stream: 'chat', payload: { text: 'hi all' } });
  });

  it('answers malformed frames and unknown streams with an error frame, and keeps going', async () => {
    const client = new Client(app);
    const frames = ['[1,2]', '{"payload":1}', '{"stream":"chat"}', '{"stream":"nope","payload":{}}', 'not json'];
    for (const frame of frames) await client.sendAndConsume('websocket.receive', { path: '/multi/hall/', text: frame });
    const errors = [];
    for (let i = 0; i < frames.length; i++) errors.push((text(await client.receive()) as { error: string }).error);
    expect(errors).toEqual([
      'a frame must be {"stream": ..., "payload": ...}',
      'a frame must be {"stream": ..., "payload": ...}',
      'a frame must be {"stream": ..., "payload": ...}',
      'unknown stream "nope"',
      expect.stringMatching(/^malformed JSON/),
    ]);
  });

  it('fans disconnect out: every stream leaves its groups', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/multi/attic/' });
    await client.sendAndConsume('websocket.disconnect', { path: '/multi/attic/', code: 1001 });
    expect(await new Group('chat-attic', layer).channels()).toEqual([]);
  });

  it('refuses a stream consumer that is not transient, with a clear error', async () => {
    await expect(new Client(app).sendAndConsume('websocket.connect', { path: '/bad/' })).rejects.toThrow(
      /SingletonStream must get a fresh instance per message/,
    );
  });

  it('encodes a frame for a stream', () => {
    expect(WebsocketMultiplexer.encode('chat', { a: 1 })).toEqual({ text: '{"stream":"chat","payload":{"a":1}}' });
  });
});

describe('WebsocketDemultiplexer over a real socket', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({})],
      providers: [Counter, ChatStream, CounterStream, Multi],
    }).compile();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it('carries two streams on one WebSocket', async () => {
    // Listening from the start: the first frame can come in the same packet as the handshake.
    const socket = new WebSocket(`${url}/multi/lobby/`);
    const frames: unknown[] = [];
    const waiters: Array<() => void> = [];
    socket.on('message', (data) => {
      frames.push(JSON.parse(String(data)));
      waiters.shift()?.();
    });
    const frameCount = async (count: number): Promise<void> => {
      while (frames.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    };
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    await frameCount(1);
    socket.send(JSON.stringify({ stream: 'chat', payload: { text: 'over the wire' } }));
    await frameCount(2);
    socket.send(JSON.stringify({ stream: 'counter', payload: { add: 2 } }));
    await frameCount(3);
    socket.close();
    expect(frames).toEqual([
      { stream: 'counter', payload: { value: 0 } },
      { stream: 'chat', payload: { text: 'over the wire' } },
      { stream: 'counter', payload: { value: 2 } },
    ]);
  });
});

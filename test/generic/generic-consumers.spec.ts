import { Inject, Injectable, Scope, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MemoryStore } from 'express-session';
import {
  AnonymousUser,
  ChannelLayerRegistry,
  ChannelsModule,
  Consumer,
  Group,
  JsonWebsocketConsumer,
  RouteConfigurationError,
  routeClass,
  WebsocketConsumer,
  type ChannelLayer,
  type ChannelsModuleOptions,
  type Message,
  type RouteKwargs,
  type WebsocketFrame,
} from '../../src';
import { Client } from '../../src/testing';
import { cookieHeader, putSession, SECRET } from '../sessions/session-fixtures';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

@Injectable()
class Log {
  readonly lines: unknown[] = [];
}

@Consumer({ path: /^\/rooms\/(?<room>[a-z]+)\/$/ })
class RoomConsumer extends WebsocketConsumer {
  constructor(
    @Inject(Greeter) private readonly greeter: Greeter,
    @Inject(Log) private readonly log: Log,
  ) {
    super();
  }

  override connectionGroups(kwargs: RouteKwargs): string[] {
    return [`room-${kwargs.room}`];
  }

  override async receive(frame: WebsocketFrame, kwargs: RouteKwargs): Promise<void> {
    this.log.lines.push({ path: this.path, kwargs, channel: this.message.channel.name });
    if (frame.bytes) return this.send({ bytes: Buffer.concat([frame.bytes, Buffer.from('!')]) });
    if (frame.text === 'bye') return this.close(4001);
    if (frame.text === 'all') return this.groupSend(`room-${kwargs.room}`, { text: 'to everyone' });
    await this.send({ text: this.greeter.greet(frame.text ?? '') });
  }

  override async disconnect(message: Message): Promise<void> {
    this.log.lines.push({ disconnected: message.content.code });
  }
}

interface Say {
  say: string;
}

@Consumer({ path: /^\/json\/$/ })
class EchoJson extends JsonWebsocketConsumer<Say, { heard: string }> {
  override async receive(content: Say): Promise<void> {
    await this.send({ heard: content.say });
  }
}

/** Custom codecs: a prefix on the wire. */
@Consumer({ path: /^\/codec\/$/ })
class PrefixedJson extends JsonWebsocketConsumer<Say, Say> {
  static override encodeJson(content: unknown): string {
    return `>${JSON.stringify(content)}`;
  }

  static override decodeJson(text: string): unknown {
    if (!text.startsWith('<')) throw new SyntaxError('no < prefix');
    return JSON.parse(text.slice(1));
  }

  override async receive(content: Say): Promise<void> {
    await this.groupSend('codec', content);
    await this.send(content);
  }
}

/** Keeps per-message state on the instance across an await. */
@Consumer({ path: /^\/state\/$/ })
class StatefulConsumer extends WebsocketConsumer {
  private mine: string | undefined;

  override async receive(frame: WebsocketFrame): Promise<void> {
    this.mine = frame.text;
    await sleep(Math.random() * 10);
    await this.send({ text: `${this.mine}` });
  }
}

@Consumer({ path: /^\/members\/$/ })
class MembersConsumer extends JsonWebsocketConsumer<unknown, unknown> {
  static override httpUser = true;
  static override strictOrdering = true;

  constructor(@Inject(Log) private readonly log: Log) {
    super();
  }

  override async connect(): Promise<void> {
    if (this.message.user === AnonymousUser) return this.close();
    await this.accept();
  }

  override async receive(content: unknown): Promise<void> {
    await sleep(Math.random() * 5);
    this.log.lines.push({ user: this.message.user, content });
  }
}

/** Routed only through asRoute(filters, attrs). */
@Injectable({ scope: Scope.TRANSIENT })
class Lobby extends WebsocketConsumer {
  static override groups = ['lobby'];

  override async connect(): Promise<void> {
    await this.send({ text: `groups: ${this.connectionGroups({}).join(',')}; class ${this.constructor.name}` });
  }
}

@Injectable()
class SingletonConsumer extends WebsocketConsumer {}

/** Refuses everyone: its group must never hold a refused handshake (a group frame would open it). */
@Consumer({ path: /^\/closed\/$/ })
class ClosedDoor extends WebsocketConsumer {
  static override groups = ['inside'];

  override async connect(): Promise<void> {
    await this.close();
  }
}

async function start(options: ChannelsModuleOptions, providers: Array<new (...args: never[]) => object>) {
  const moduleRef = await Test.createTestingModule({
    imports: [ChannelsModule.forRoot({ worker: { enabled: false }, ...options })],
    providers: [Greeter, Log, ...providers],
  }).compile();
  return moduleRef.init();
}

describe('WebsocketConsumer and JsonWebsocketConsumer', () => {
  let app: INestApplicationContext;
  let layer: ChannelLayer;
  let log: Log;
  const httpStore = new MemoryStore();

  beforeAll(async () => {
    await putSession(httpStore, 'sid-alice', { passport: { user: 'alice' } });
    app = await start(
      {
        sessions: { store: httpStore, secret: SECRET },
        layers: { default: { routing: [Lobby.asRoute({ path: /^\/lobby\/$/ }, { groups: ['lobby', 'hall'] })] } },
      },
      [RoomConsumer, EchoJson, PrefixedJson, StatefulConsumer, MembersConsumer, Lobby, ClosedDoor],
    );
    layer = app.get(ChannelLayerRegistry).layer();
    log = app.get(Log);
  });
  afterAll(() => app.close());
  beforeEach(() => {
    log.lines.length = 0;
  });

  it('accepts by default, joins and leaves its connection groups, and injects its dependencies', async () => {
    const ann = new Client(app);
    await ann.sendAndConsume('websocket.connect', { path: '/rooms/kitchen/' });
    expect(await ann.receive()).toEqual({ accept: true });
    expect(await new Group('room-kitchen', layer).channels()).toEqual([ann.replyChannel]);
    await ann.sendAndConsume('websocket.receive', { path: '/rooms/kitchen/', text: 'ann' });
    expect(await ann.receive()).toEqual({ text: 'hello ann' });
    await ann.sendAndConsume('websocket.receive', { path: '/rooms/kitchen/', bytes: Buffer.from('hi') });
    expect(await ann.receive()).toEqual({ bytes: Buffer.from('hi!') });
    await ann.sendAndConsume('websocket.receive', { path: '/rooms/kitchen/', text: 'all' });
    expect(await ann.receive()).toEqual({ text: 'to everyone' });
    await ann.sendAndConsume('websocket.receive', { path: '/rooms/kitchen/', text: 'bye' });
    expect(await ann.receive()).toEqual({ close: 4001 });
    await ann.sendAndConsume('websocket.disconnect', { path: '/rooms/kitchen/', code: 1000 });
    expect(await new Group('room-kitchen', layer).channels()).toEqual([]);
    expect(log.lines[0]).toEqual({
      path: '/rooms/kitchen/',
      kwargs: { room: 'kitchen' },
      channel: 'websocket.receive',
    });
    expect(log.lines.at(-1)).toEqual({ disconnected: 1000 });
  });

  it('joins the connection groups after connect, and never for a refused handshake', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/closed/' });
    expect(await client.receive()).toEqual({ close: true });
    expect(await new Group('inside', layer).channels()).toEqual([]);
  });

  it('rejects a receive with neither text nor bytes with a clear error', async () => {
    await expect(new Client(app).sendAndConsume('websocket.receive', { path: '/rooms/kitchen/' })).rejects.toThrow(
      /needs text or bytes/,
    );
  });

  it('decodes and encodes JSON; malformed JSON and bytes get an error frame, and the next frame works', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.receive', { path: '/json/', text: '{"say":"hi"}' });
    expect(await client.receive()).toEqual({ text: '{"heard":"hi"}' });
    await client.sendAndConsume('websocket.receive', { path: '/json/', text: '{"say":' });
    expect(JSON.parse((await client.receive())!.text as string)).toEqual({
      error: expect.stringMatching(/^malformed JSON/),
    });
    await client.sendAndConsume('websocket.receive', { path: '/json/', bytes: Buffer.from('{}') });
    expect(JSON.parse((await client.receive())!.text as string)).toEqual({
      error: 'a JSON consumer takes text frames only',
    });
    await client.sendAndConsume('websocket.receive', { path: '/json/', text: '{"say":"again"}' });
    expect(await client.receive()).toEqual({ text: '{"heard":"again"}' });
  });

  it('uses overridden codecs for receive, send and groupSend', async () => {
    const client = new Client(app);
    await new Group('codec', layer).add(client.replyChannel);
    await client.sendAndConsume('websocket.receive', { path: '/codec/', text: '<{"say":"x"}' });
    expect(await client.receive()).toEqual({ text: '>{"say":"x"}' });
    expect(await client.receive()).toEqual({ text: '>{"say":"x"}' });
    await client.sendAndConsume('websocket.receive', { path: '/codec/', text: '{"say":"x"}' });
    expect(await client.receive()).toEqual({ text: '>{"error":"malformed JSON: no < prefix"}' });
  });

  it('applies attribute overrides from asRoute to a subclass of the same name', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/lobby/' });
    expect(await client.receive()).toEqual({ text: 'groups: lobby,hall; class Lobby' });
    expect(await new Group('hall', layer).channels()).toEqual([client.replyChannel]);
    expect(Lobby.groups).toEqual(['lobby']);
  });

  it('takes the user from the login and keeps frames in order with the class flags', async () => {
    const alice = new Client(app);
    await alice.sendAndConsume('websocket.connect', {
      path: '/members/',
      order: 0,
      headers: [cookieHeader('sid-alice')],
    });
    expect(await alice.receive()).toEqual({ accept: true });
    for (const order of [3, 1, 2]) {
      await alice.send('websocket.receive', { path: '/members/', order, text: JSON.stringify({ n: order }) });
    }
    for (let i = 0; i < 6; i++) await alice.consume('websocket.receive', { failOnNone: false });
    expect(log.lines).toEqual([1, 2, 3].map((n) => ({ user: 'alice', content: { n } })));
    const stranger = new Client(app);
    await stranger.sendAndConsume('websocket.connect', { path: '/members/', order: 0 });
    expect(await stranger.receive()).toEqual({ close: true });
  });
});

describe('generic consumers in the worker', () => {
  it('get a fresh instance for every message, also when many run at once', async () => {
    const app = await start({ worker: { enabled: true, concurrency: 16 } }, [StatefulConsumer]);
    try {
      const layer = app.get(ChannelLayerRegistry).layer();
      for (let i = 0; i < 40; i++) {
        await layer.send('websocket.receive', { path: '/state/', reply_channel: `state.reply!${i}`, text: String(i) });
      }
      const replies = new Map<string, unknown>();
      while (replies.size < 40) {
        const [channel, message] = await layer.receive(['state.reply!'], { block: true, timeout: 5 });
        if (channel === null) break;
        replies.set(channel, message.text);
      }
      expect(replies.size).toBe(40);
      for (const [channel, text] of replies) expect(text).toBe(channel.split('!')[1]);
    } finally {
      await app.close();
    }
  });

  it('refuses at bootstrap a class consumer whose provider is a singleton', async () => {
    await expect(
      start({ layers: { default: { routing: [routeClass(SingletonConsumer, { path: '/x/' })] } } }, [
        SingletonConsumer,
      ]),
    ).rejects.toThrow(RouteConfigurationError);
  });
});

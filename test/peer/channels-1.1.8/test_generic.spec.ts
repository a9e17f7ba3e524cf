// Port of channels 1.1.8 tests/test_generic.py (GenericTests).
//
// Translation notes, for every test here:
// - `with apply_routes([...])` is the app's `layers.default.routing`; `route_class(C, path=...)` is
//   `routeClass(C, { path })` and the class is a transient provider (the package makes class
//   consumers through DI, a fresh instance per message).
// - Channels' `Client.send_and_consume` returned what the consumer returned: for a class consumer,
//   its instance. The package's `Client.consume` resolves a boolean, so each test consumer records
//   the instance that handled the message (`consumed`), and `sendAndConsume` below returns it.
// - `WSClient(...)` is the package's `Client`; its `send` adds the reply channel only, so the path
//   (and a JSON-encoded `text`) are put in the content as WSClient did. `check_accept` (WSClient's
//   default for connects) is `expectAccepted`, and `receive(json=...)` is `wsReceive`.
// - Python's `self.attr` on a class attribute that `as_route(attrs)` overrides is a static property.
import { Injectable, Scope } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { MemoryStore } from 'express-session';
import {
  BaseConsumer,
  ChannelLayerRegistry,
  Group,
  JsonWebsocketConsumer,
  Message,
  routeClass,
  WebsocketConsumer,
  WebsocketDemultiplexer,
  type ChannelMessage,
  type RouteKwargs,
  type WebsocketFrame,
} from '../../../src';
import { putSession, signedId } from '../../sessions/session-fixtures';
import { Client } from '../../../src/testing';
import { expectAccepted, layerOf, startChannelsApp, wsReceive } from './support';

/** The consumer instances that handled messages, most recent last. */
const consumed: object[] = [];

/** `client.send_and_consume(channel, content)`: the consumer instance that handled it (or undefined). */
async function sendAndConsume<T extends object>(
  client: Client,
  channel: string,
  content: ChannelMessage = {},
): Promise<T | undefined> {
  consumed.length = 0;
  await client.sendAndConsume(channel, content);
  return consumed[0] as T | undefined;
}

/** `client.consume(channel)`: the consumer instance that handled the next message (or undefined). */
async function consume<T extends object>(client: Client, channel: string): Promise<T | undefined> {
  consumed.length = 0;
  await client.consume(channel);
  return consumed[0] as T | undefined;
}

let app: TestingModule;
afterEach(async () => {
  await app?.close();
});

describe('GenericTests (channels 1.1.8 tests/test_generic.py)', () => {
  it('test_base_consumer: methods of method_mapping get their channels, others have no route', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class Consumers extends BaseConsumer {
      static override methodMapping = { 'test.create': 'create', 'test.test': 'test' };
      called: string | undefined;

      create(): void {
        consumed.push(this);
        this.called = 'create';
      }

      test(): void {
        consumed.push(this);
        this.called = 'test';
      }
    }

    app = await startChannelsApp({ layers: { default: { routing: [routeClass(Consumers)] } } }, [Consumers]);
    const client = new Client(app);
    // check that methods for certain channels routes successfully
    expect((await sendAndConsume<Consumers>(client, 'test.create'))?.called).toBe('create');
    expect((await sendAndConsume<Consumers>(client, 'test.test'))?.called).toBe('test');
    // send to the channels without routes
    const { layer, router } = app.get(ChannelLayerRegistry).get();
    await client.send('test.wrong');
    let message = await client.getNextMessage('test.wrong');
    expect(router.match(new Message(message!.content, message!.channel, layer))).toBeNull();
    await client.send('test');
    message = await client.getNextMessage('test');
    expect(router.match(new Message(message!.content, message!.channel, layer))).toBeNull();
  });

  it('test_websockets_consumers_handlers: connect, receive and disconnect get the path kwargs and frames', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends WebsocketConsumer {
      called: string | undefined;
      id: string | undefined;
      text: string | undefined;

      override async connect(_message: Message, kwargs: RouteKwargs): Promise<void> {
        consumed.push(this);
        this.called = 'connect';
        this.id = kwargs.id;
      }

      override async disconnect(): Promise<void> {
        consumed.push(this);
        this.called = 'disconnect';
      }

      override async receive(frame: WebsocketFrame): Promise<void> {
        consumed.push(this);
        this.text = frame.text;
      }
    }

    app = await startChannelsApp(
      { layers: { default: { routing: [routeClass(MyWebsocketConsumer, { path: '/path/(?<id>\\d+)' })] } } },
      [MyWebsocketConsumer],
    );
    const client = new Client(app);
    let consumer = await sendAndConsume<MyWebsocketConsumer>(client, 'websocket.connect', { path: '/path/1' });
    expect(consumer?.called).toBe('connect');
    expect(consumer?.id).toBe('1');
    consumer = await sendAndConsume(client, 'websocket.receive', { path: '/path/1', text: 'text' });
    expect(consumer?.text).toBe('text');
    consumer = await sendAndConsume(client, 'websocket.disconnect', { path: '/path/1' });
    expect(consumer?.called).toBe('disconnect');
  });

  it('test_websockets_decorators: strict_ordering runs connects in order', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends WebsocketConsumer {
      static override strictOrdering = true;
      order: unknown;

      override async connect(message: Message): Promise<void> {
        consumed.push(this);
        this.order = message.content.order;
      }
    }

    app = await startChannelsApp(
      { layers: { default: { routing: [routeClass(MyWebsocketConsumer, { path: '/path' })] } } },
      [MyWebsocketConsumer],
    );
    const client = new Client(app);
    await client.send('websocket.connect', { path: '/path', order: 1 });
    await client.send('websocket.connect', { path: '/path', order: 0 });
    await consume(client, 'websocket.connect');
    expect((await consume<MyWebsocketConsumer>(client, 'websocket.connect'))?.order).toBe(0);
    expect((await consume<MyWebsocketConsumer>(client, 'websocket.connect'))?.order).toBe(1);
  });

  it('test_websockets_http_session_and_channel_session: the same HTTP session in connect, receive and disconnect', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends WebsocketConsumer {
      static override httpUserAndSession = true;

      override async dispatch(message: Message, kwargs: RouteKwargs): Promise<unknown> {
        consumed.push(this);
        return super.dispatch(message, kwargs);
      }
    }

    // user_model.objects.create_user(username='test', ...) and client.force_login(user): Django's
    // ORM and auth have no counterpart; a logged-in browser here is an express-session holding
    // passport's layout (the package's default user resolver).
    const store = new MemoryStore();
    await putSession(store, 'sid-test', { passport: { user: 'test' } });
    app = await startChannelsApp(
      {
        sessions: { store, secret: 'test secret' },
        layers: { default: { routing: [routeClass(MyWebsocketConsumer, { path: '/path' })] } },
      },
      [MyWebsocketConsumer],
    );
    const client = new Client(app);
    // WSClient sends its session cookie with its first message only.
    const sessionCookie = { cookie: Buffer.from(`connect.sid=${encodeURIComponent(signedId('sid-test'))}`) };
    const connect = await sendAndConsume<MyWebsocketConsumer>(client, 'websocket.connect', {
      path: '/path',
      headers: sessionCookie,
    });
    await expectAccepted(client);
    const receive = await sendAndConsume<MyWebsocketConsumer>(client, 'websocket.receive', {
      path: '/path',
      headers: { cookie: Buffer.from('') },
      text: JSON.stringify({ key: 'value' }),
    });
    const disconnect = await sendAndConsume<MyWebsocketConsumer>(client, 'websocket.disconnect', {
      path: '/path',
      headers: { cookie: Buffer.from('') },
    });
    // connect.message.http_session.session_key == receive's == disconnect's: the package's
    // httpSession is the session's data without its key, so the sessions are compared whole.
    expect(connect?.message.httpSession).toMatchObject({ passport: { user: 'test' } });
    expect(receive?.message.httpSession).toEqual(connect?.message.httpSession);
    expect(disconnect?.message.httpSession).toEqual(connect?.message.httpSession);
  });

  it('test_simple_as_route_method: as_route(attrs) routes a subclass, as_route() the class itself', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends WebsocketConsumer {
      override async connect(message: Message): Promise<void> {
        await this.message.replyChannel!.send({ accept: true });
        // self.send(text=message.get('order')): Python sent the int order as the frame's text; a
        // text frame is a string (ASGI, and the package's send types it so), so it goes as its text.
        await this.send({ text: String(message.get('order')) });
      }
    }

    const routes = [
      MyWebsocketConsumer.asRoute({ path: '^/path$' }, { strictOrdering: true }),
      MyWebsocketConsumer.asRoute({ path: '^/path/2$' }),
    ];
    expect(routes[0].consumer).not.toBe(MyWebsocketConsumer);
    expect(routes[1].consumer).toBe(MyWebsocketConsumer);

    app = await startChannelsApp({ layers: { default: { routing: routes } } }, [MyWebsocketConsumer]);
    const client = new Client(app);
    await client.send('websocket.connect', { path: '/path', order: 1 });
    await client.send('websocket.connect', { path: '/path', order: 0 });
    await client.consume('websocket.connect'); // check_accept=False
    await client.consume('websocket.connect');
    await expectAccepted(client);
    expect(await wsReceive(client, false)).toBe('0');
    await client.consume('websocket.connect');
    await expectAccepted(client);
    expect(await wsReceive(client, false)).toBe('1');

    await client.sendAndConsume('websocket.connect', { path: '/path/2', order: 'next' });
    await expectAccepted(client);
    expect(await wsReceive(client, false)).toBe('next');
  });

  it('test_as_route_method: as_route attrs can replace method_mapping and class attributes', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyConsumer extends BaseConsumer {
      static trigger = 'new';

      async test(): Promise<void> {
        await this.message.replyChannel!.send({ trigger: (this.constructor as typeof MyConsumer).trigger });
      }
    }

    const methodMapping = { mychannel: 'test' };
    app = await startChannelsApp(
      {
        layers: {
          default: {
            routing: [MyConsumer.asRoute({ name: 'filter' }, { methodMapping, trigger: 'from_as_route' })],
          },
        },
      },
      [MyConsumer],
    );
    const client = new Client(app);
    await client.sendAndConsume('mychannel', { name: 'filter' });
    expect(await client.receive()).toEqual({ trigger: 'from_as_route' });
  });

  it('test_websockets_demultiplexer: connect, receive and disconnect reach the stream, multiplexed', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends JsonWebsocketConsumer {
      // `multiplexer=None` in the kwargs is the consumer's `multiplexer` property here.
      override async connect(_message: Message, kwargs: RouteKwargs): Promise<void> {
        await this.multiplexer!.send(kwargs);
      }

      override async disconnect(_message: Message, kwargs: RouteKwargs): Promise<void> {
        await this.multiplexer!.send(kwargs);
      }

      override async receive(content: unknown): Promise<void> {
        await this.multiplexer!.send(content);
      }
    }

    @Injectable({ scope: Scope.TRANSIENT })
    class Demultiplexer extends WebsocketDemultiplexer {
      static override consumers = { mystream: MyWebsocketConsumer };
    }

    app = await startChannelsApp(
      { layers: { default: { routing: [routeClass(Demultiplexer, { path: '/path/(?<id>\\d+)' })] } } },
      [Demultiplexer, MyWebsocketConsumer],
    );
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/path/1' });
    await expectAccepted(client);
    expect(await wsReceive(client)).toEqual({ stream: 'mystream', payload: { id: '1' } });

    await client.sendAndConsume('websocket.receive', {
      text: JSON.stringify({ stream: 'mystream', payload: { text_field: 'mytext' } }),
      path: '/path/1',
    });
    expect(await wsReceive(client)).toEqual({ stream: 'mystream', payload: { text_field: 'mytext' } });

    await client.sendAndConsume('websocket.disconnect', { path: '/path/1' });
    expect(await wsReceive(client)).toEqual({ stream: 'mystream', payload: { id: '1' } });
  });

  it('test_websocket_demultiplexer_send: a stream consumer cannot send unmultiplexed through self.send', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends JsonWebsocketConsumer {
      override async receive(content: unknown): Promise<void> {
        await this.send(content);
      }
    }

    @Injectable({ scope: Scope.TRANSIENT })
    class Demultiplexer extends WebsocketDemultiplexer {
      static override consumers = { mystream: MyWebsocketConsumer };
    }

    app = await startChannelsApp(
      { layers: { default: { routing: [routeClass(Demultiplexer, { path: '/path/(?<id>\\d+)' })] } } },
      [Demultiplexer, MyWebsocketConsumer],
    );
    const client = new Client(app);
    // Translation choice (README, "Decisions where the spec leaves a choice"): Channels raised
    // SendNotAvailableOnDemultiplexer so that a stream consumer's self.send could not put an
    // unwrapped frame on the multiplexed socket. Here a stream consumer's `send` goes through its
    // stream instead. What the original guarded is kept: no unmultiplexed frame reaches the socket;
    // the one frame that does is wrapped in the stream.
    await client.sendAndConsume('websocket.receive', {
      path: '/path/1',
      text: JSON.stringify({ stream: 'mystream', payload: { text_field: 'mytext' } }),
    });
    const frame = await client.receive();
    expect(JSON.parse(String(frame?.text))).toEqual({ stream: 'mystream', payload: { text_field: 'mytext' } });
    expect(await client.receive()).toBeNull();
  });

  it('test_websocket_custom_json_serialization: custom decode_json and encode_json take effect', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends JsonWebsocketConsumer {
      content_received: unknown;

      static override decodeJson(text: string): unknown {
        const obj = JSON.parse(text) as Record<string, unknown>;
        return Object.fromEntries(Object.entries(obj).map(([key, value]) => [key.toUpperCase(), value]));
      }

      static override encodeJson(content: unknown): string {
        const lowered = Object.entries(content as Record<string, unknown>).map(([key, value]) => [
          key.toLowerCase(),
          value,
        ]);
        return JSON.stringify(Object.fromEntries(lowered));
      }

      override async receive(content: unknown): Promise<void> {
        consumed.push(this);
        this.content_received = content;
        await this.send({ RESPONSE: 'HI' });
      }
    }

    app = await startChannelsApp(
      { layers: { default: { routing: [routeClass(MyWebsocketConsumer, { path: '/path' })] } } },
      [MyWebsocketConsumer],
    );
    const client = new Client(app);
    const consumer = await sendAndConsume<MyWebsocketConsumer>(client, 'websocket.receive', {
      path: '/path',
      text: JSON.stringify({ key: 'value' }),
    });
    expect(consumer?.content_received).toEqual({ KEY: 'value' });
    expect(await wsReceive(client)).toEqual({ response: 'HI' });

    await new Group('test_group', layerOf(app)).add(client.replyChannel); // client.join_group
    // WebsocketConsumer.group_send('test_group', {...}): Channels' classmethod sends the content
    // encoded with the class's encode_json to the group; the package's groupSend is an instance
    // method, so the same is done with the class's static encodeJson and a Group.
    await new Group('test_group', layerOf(app)).send({ text: MyWebsocketConsumer.encodeJson({ KEY: 'VALUE' }) });
    expect(await wsReceive(client)).toEqual({ key: 'VALUE' });
  });

  it('test_websockets_demultiplexer_custom_multiplexer: a custom multiplexer encoding takes effect', async () => {
    @Injectable({ scope: Scope.TRANSIENT })
    class MyWebsocketConsumer extends JsonWebsocketConsumer {
      override async connect(): Promise<void> {
        await this.multiplexer!.send({ THIS_SHOULD_BE_LOWERCASED: '1' });
      }
    }

    // `multiplexer_class = MyMultiplexer` whose encode_json lowercases the payload's keys: the
    // package has no multiplexer_class; a stream's multiplexer encodes with its demultiplexer's
    // static encodeJson, which is overridden instead.
    @Injectable({ scope: Scope.TRANSIENT })
    class Demultiplexer extends WebsocketDemultiplexer {
      static override consumers = { mystream: MyWebsocketConsumer };

      static override encodeJson(content: unknown): string {
        const { stream, payload } = content as { stream: string; payload: Record<string, unknown> };
        const lowered = Object.entries(payload).map(([key, value]) => [key.toLowerCase(), value]);
        return JSON.stringify({ stream, payload: Object.fromEntries(lowered) });
      }
    }

    app = await startChannelsApp(
      { layers: { default: { routing: [routeClass(Demultiplexer, { path: '/path/(?<ID>\\d+)' })] } } },
      [Demultiplexer, MyWebsocketConsumer],
    );
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/path/1' });
    await expectAccepted(client);
    expect(await wsReceive(client)).toEqual({ stream: 'mystream', payload: { this_should_be_lowercased: '1' } });
  });
});

import { CanActivate, ExecutionContext, Injectable, UseGuards, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MemoryStore, type SessionData } from 'express-session';
import {
  AnonymousUser,
  ChannelLayerRegistry,
  ChannelAndHttpSession,
  ChannelSession,
  ChannelSessionUser,
  ChannelSessionUserFromHttp,
  ChannelsModule,
  Consumer,
  ConsumerSessions,
  getConsumerArgs,
  HttpSession,
  HttpSessionUser,
  channelSessionKey,
  CHANNEL_SESSION_FIELD,
  ChannelsService,
  userGroupName,
  type GroupsChannelLayer,
  type Message,
  type SessionsModuleOptions,
  type UserResolver,
} from '../../src';
import { Client } from '../../src/testing';
import { cookieHeader, CountingStore, putSession, SECRET, signedId, storedSessions } from './session-fixtures';

interface User {
  name: string;
}

@Injectable()
class Seen {
  readonly http: Array<Readonly<Record<string, unknown>> | null | undefined> = [];
  readonly users: unknown[] = [];
}

@Injectable()
class CounterConsumers {
  @Consumer('websocket.connect', { path: /^\/count\/$/ })
  @ChannelSession()
  async connect(message: Message): Promise<void> {
    message.channelSession!.set('count', 0);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: /^\/count\/$/ })
  @ChannelSession()
  async receive(message: Message): Promise<void> {
    const session = message.channelSession!;
    if (message.content.text === 'flush') return session.flush();
    if (message.content.text === 'read') {
      await message.replyChannel!.send({ text: JSON.stringify(session.toJSON()) });
      return;
    }
    session.set('count', (session.get<number>('count') ?? 0) + 1);
    if (message.content.text === 'fail') throw new Error('the consumer failed after changing the session');
    await message.replyChannel!.send({ text: String(session.get('count')) });
  }
}

@Injectable()
class HttpConsumers {
  constructor(private readonly seen: Seen) {}

  @Consumer('websocket.connect', { path: /^\/http\/$/ })
  @HttpSession()
  async connect(message: Message): Promise<void> {
    this.seen.http.push(message.httpSession);
  }

  @Consumer('websocket.connect', { path: /^\/both\/$/ })
  @ChannelAndHttpSession()
  async bothConnect(message: Message): Promise<void> {
    this.seen.http.push(message.httpSession);
  }

  @Consumer('websocket.receive', { path: /^\/both\/$/ })
  @ChannelAndHttpSession()
  async bothReceive(message: Message): Promise<void> {
    this.seen.http.push(message.httpSession);
  }
}

@Injectable()
class UserConsumers {
  constructor(private readonly seen: Seen) {}

  @Consumer('http.request', { path: /^\/whoami\/$/ })
  @HttpSessionUser()
  async whoami(message: Message): Promise<void> {
    this.seen.users.push(message.user);
  }

  // The decorators in one order on connect…
  @Consumer('websocket.connect', { path: /^\/users\/$/ })
  @ChannelSessionUserFromHttp()
  @ChannelSession()
  async connect(message: Message): Promise<void> {
    this.seen.users.push(message.user);
    message.channelSession!.set('joined', true);
  }

  // …and the other order on receive: the order never matters.
  @ChannelSession()
  @ChannelSessionUser()
  @Consumer('websocket.receive', { path: /^\/users\/$/ })
  async receive(message: Message): Promise<void> {
    this.seen.users.push(message.user);
    this.seen.users.push(message.channelSession!.get('joined'));
  }

  @Consumer('websocket.disconnect', { path: /^\/users\/$/ })
  @ChannelSessionUser()
  async disconnect(message: Message): Promise<void> {
    this.seen.users.push(message.user);
  }
}

/** Denies anonymous users: guards run after the sessions are loaded, so they can see message.user. */
@Injectable()
class LoggedInOnly implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { message } = getConsumerArgs(context);
    return message.user !== AnonymousUser;
  }
}

@Injectable()
class GuardedConsumers {
  @Consumer('websocket.connect', { path: /^\/members\/$/ })
  @HttpSessionUser()
  @UseGuards(LoggedInOnly)
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }
}

const users: Record<string, User> = { u1: { name: 'alice' }, u2: { name: 'bob' } };

async function start(
  sessions: SessionsModuleOptions,
  providers: Array<new (...args: never[]) => object>,
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [ChannelsModule.forRoot({ worker: { enabled: false }, sessions })],
    providers: [Seen, ...providers],
  }).compile();
  return moduleRef.init();
}

describe('channel sessions', () => {
  let app: INestApplicationContext;
  let store: CountingStore;

  beforeEach(async () => {
    store = new CountingStore();
    app = await start({ channelStore: store }, [CounterConsumers]);
  });
  afterEach(() => app.close());

  it('keeps per-connection state between consumers, under a hashed key', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/count/' });
    expect(await client.receive()).toEqual({ accept: true });
    for (const expected of ['1', '2', '3']) {
      await client.sendAndConsume('websocket.receive', { path: '/count/', text: 'hi' });
      expect(await client.receive()).toEqual({ text: expected });
    }
    const all = await storedSessions(store);
    const key = channelSessionKey(client.replyChannel);
    expect(Object.keys(all)).toEqual([key]);
    expect(key).toMatch(/^chn[0-9a-f]{29}$/);
    expect(JSON.stringify(all)).not.toContain(client.replyChannel.split('!')[1]);
    expect(all[key][CHANNEL_SESSION_FIELD]).toEqual({ count: 3 });
  });

  it('keeps connections apart', async () => {
    const one = new Client(app);
    const two = new Client(app);
    await one.sendAndConsume('websocket.connect', { path: '/count/' });
    await two.sendAndConsume('websocket.connect', { path: '/count/' });
    await one.sendAndConsume('websocket.receive', { path: '/count/', text: 'hi' });
    await one.sendAndConsume('websocket.receive', { path: '/count/', text: 'hi' });
    await two.sendAndConsume('websocket.receive', { path: '/count/', text: 'hi' });
    expect(await one.receive()).toEqual({ accept: true });
    expect(await two.receive()).toEqual({ accept: true });
    expect(await one.receive()).toEqual({ text: '1' });
    expect(await one.receive()).toEqual({ text: '2' });
    expect(await two.receive()).toEqual({ text: '1' });
  });

  it('saves only a modified session, also when the consumer throws', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/count/' });
    const afterConnect = store.sets;
    await client.sendAndConsume('websocket.receive', { path: '/count/', text: 'read' });
    expect(store.sets).toBe(afterConnect);
    await expect(client.sendAndConsume('websocket.receive', { path: '/count/', text: 'fail' })).rejects.toThrow(
      'the consumer failed',
    );
    expect(store.sets).toBe(afterConnect + 1);
    expect((await storedSessions(store))[channelSessionKey(client.replyChannel)][CHANNEL_SESSION_FIELD]).toEqual({
      count: 1,
    });
  });

  it('does not re-create a flushed session', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/count/' });
    await client.sendAndConsume('websocket.receive', { path: '/count/', text: 'flush' });
    expect(store.destroys).toBe(1);
    expect(await storedSessions(store)).toEqual({});
    await client.sendAndConsume('websocket.receive', { path: '/count/', text: 'read' });
    expect(await storedSessions(store)).toEqual({});
  });

  it('refuses a message without a reply channel with a clear error', async () => {
    const client = new Client(app);
    await expect(
      client.sendAndConsume('websocket.receive', { path: '/count/', text: 'hi', reply_channel: null }),
    ).rejects.toThrow(/needs a message with a reply_channel/);
  });

  it('is reachable from outside consumers through ConsumerSessions', async () => {
    const client = new Client(app);
    await client.sendAndConsume('websocket.connect', { path: '/count/' });
    const session = await app.get(ConsumerSessions).channelSessionFor(client.replyChannel);
    expect(session.get('count')).toBe(0);
  });
});

describe('HTTP sessions', () => {
  let app: INestApplicationContext;
  let httpStore: MemoryStore;
  let seen: Seen;

  beforeEach(async () => {
    httpStore = new MemoryStore();
    await putSession(httpStore, 'sid-alice', { passport: { user: 'u1' }, theme: 'dark' });
    await putSession(httpStore, 'sid-bob', { passport: { user: 'u2' } });
    app = await start({ store: httpStore, secret: ['new secret', SECRET] }, [HttpConsumers]);
    seen = app.get(Seen);
  });
  afterEach(() => app.close());

  const connect = (client: Client, path: string, extra: Record<string, unknown>): Promise<boolean> =>
    client.sendAndConsume('websocket.connect', { path, ...extra });

  it('reads the session of a signed cookie (any configured secret), read-only', async () => {
    await connect(new Client(app), '/http/', { headers: [cookieHeader('sid-alice')] });
    const session = seen.http[0]!;
    expect(session).toMatchObject({ passport: { user: 'u1' }, theme: 'dark' });
    expect(Object.isFrozen(session)).toBe(true);
    expect(() => {
      (session as Record<string, unknown>).theme = 'light';
    }).toThrow(TypeError);
  });

  it('gives null, never a fresh session, without a valid key', async () => {
    const client = new Client(app);
    const tampered = cookieHeader('sid-alice');
    tampered[1] = Buffer.from(tampered[1].toString().replace('sid-alice', 'sid-bob'));
    const cases: Array<Record<string, unknown>> = [
      {},
      { headers: [[Buffer.from('cookie'), Buffer.from('connect.sid=sid-alice')]] }, // unsigned raw id
      { headers: [tampered] }, // bob's id under alice's signature
      { headers: [cookieHeader('sid-alice', 'wrong secret')] }, // forged with another secret
      { headers: [cookieHeader('sid-nobody')] }, // validly signed, unknown session
      { query_string: Buffer.from('session_key=sid-alice') }, // an unsigned session_key
      { headers: [[Buffer.from('cookie'), Buffer.from('connect.sid=%E0%A4%A')]] }, // malformed
    ];
    for (const extra of cases) await connect(client, '/http/', extra);
    expect(seen.http).toEqual(cases.map(() => null));
    expect(Object.keys(await storedSessions(httpStore)).sort()).toEqual(['sid-alice', 'sid-bob']);
  });

  it('takes a signed session_key query parameter, but the cookie wins over it', async () => {
    const client = new Client(app);
    const key = encodeURIComponent(signedId('sid-bob'));
    await connect(client, '/http/', { query_string: Buffer.from(`x=1&session_key=${key}`) });
    await connect(client, '/http/', {
      query_string: Buffer.from(`session_key=${key}`),
      headers: [cookieHeader('sid-alice')],
    });
    expect(seen.http.map((s) => (s?.passport as { user: string }).user)).toEqual(['u2', 'u1']);
  });

  it('@ChannelAndHttpSession keeps the key from connect for later messages, and never replaces it', async () => {
    const client = new Client(app);
    await connect(client, '/both/', { headers: [cookieHeader('sid-alice')] });
    await client.sendAndConsume('websocket.receive', { path: '/both/', text: 'hi' });
    // A message carrying another key gets that session, but the connection's stored key stays.
    await client.sendAndConsume('websocket.receive', {
      path: '/both/',
      query_string: Buffer.from(`session_key=${encodeURIComponent(signedId('sid-bob'))}`),
    });
    await client.sendAndConsume('websocket.receive', { path: '/both/', text: 'hi' });
    expect(seen.http.map((s) => (s?.passport as { user: string }).user)).toEqual(['u1', 'u1', 'u2', 'u1']);
    const fresh = new Client(app);
    await connect(fresh, '/both/', {});
    await fresh.sendAndConsume('websocket.receive', { path: '/both/', text: 'hi' });
    expect(seen.http.slice(4)).toEqual([null, null]);
  });

  it('never reads a channel session as an HTTP session, even under a validly signed cookie naming its key', async () => {
    const client = new Client(app);
    await connect(client, '/both/', { headers: [cookieHeader('sid-alice')] });
    const key = channelSessionKey(client.replyChannel);
    expect(Object.keys(await storedSessions(httpStore))).toContain(key); // same store, own field
    await connect(new Client(app), '/http/', { headers: [cookieHeader(key)] });
    expect(seen.http.at(-1)).toBeNull();
  });

  it('fails at bootstrap when an HTTP-session decorator has no store or secret', async () => {
    await expect(start({}, [HttpConsumers])).rejects.toThrow(/reads the HTTP session: give ChannelsModule/);
  });
});

describe('users', () => {
  let app: INestApplicationContext;
  let seen: Seen;
  let httpStore: MemoryStore;

  async function startWith(userResolver?: UserResolver): Promise<void> {
    httpStore = new MemoryStore();
    await putSession(httpStore, 'sid-alice', { passport: { user: 'u1' } });
    await putSession(httpStore, 'sid-ghost', { passport: { user: 'deleted' } });
    await putSession(httpStore, 'sid-anon', { theme: 'dark' });
    app = await start({ store: httpStore, secret: SECRET, ...(userResolver ? { userResolver } : {}) }, [
      UserConsumers,
      GuardedConsumers,
    ]);
    seen = app.get(Seen);
  }
  afterEach(() => app.close());

  const passport: UserResolver<User> = {
    identify: (_message, session) => (session?.passport as { user?: string } | undefined)?.user,
    deserialize: (id) => users[id as string] ?? null,
  };

  it('passes the serialized passport user by default, AnonymousUser without a login', async () => {
    await startWith();
    const client = new Client(app);
    for (const id of ['sid-alice', 'sid-anon']) {
      await client.sendAndConsume('http.request', { path: '/whoami/', headers: [cookieHeader(id)] });
    }
    await client.sendAndConsume('http.request', { path: '/whoami/' });
    expect(seen.users).toEqual(['u1', AnonymousUser, AnonymousUser]);
  });

  it('deserializes with the resolver; a user that no longer exists is anonymous', async () => {
    await startWith(passport);
    const client = new Client(app);
    await client.sendAndConsume('http.request', { path: '/whoami/', headers: [cookieHeader('sid-alice')] });
    await client.sendAndConsume('http.request', { path: '/whoami/', headers: [cookieHeader('sid-ghost')] });
    expect(seen.users).toEqual([{ name: 'alice' }, AnonymousUser]);
  });

  it('moves the user into the channel session on connect, for receive consumers (stacked either way)', async () => {
    await startWith(passport);
    const alice = new Client(app);
    await alice.sendAndConsume('websocket.connect', { path: '/users/', headers: [cookieHeader('sid-alice')] });
    await alice.sendAndConsume('websocket.receive', { path: '/users/', text: 'hi' });
    const nobody = new Client(app);
    await nobody.sendAndConsume('websocket.connect', { path: '/users/' });
    await nobody.sendAndConsume('websocket.receive', { path: '/users/', text: 'hi' });
    expect(seen.users).toEqual([{ name: 'alice' }, { name: 'alice' }, true, AnonymousUser, AnonymousUser, true]);
  });

  it('lets a resolver authenticate by token instead of cookies', async () => {
    const tokens: Record<string, string> = { 'token-of-bob': 'u2' };
    await startWith({
      identify: (message) => tokens[new URLSearchParams(String(message.content.query_string ?? '')).get('token') ?? ''],
      deserialize: (id) => users[id as string] ?? null,
    });
    const bob = new Client(app);
    await bob.sendAndConsume('websocket.connect', { path: '/users/', query_string: Buffer.from('token=token-of-bob') });
    await bob.sendAndConsume('websocket.receive', { path: '/users/', text: 'hi' });
    const forger = new Client(app);
    await forger.sendAndConsume('websocket.connect', { path: '/users/', query_string: Buffer.from('token=forged') });
    expect(seen.users).toEqual([{ name: 'bob' }, { name: 'bob' }, true, AnonymousUser]);
  });

  it("puts a user's sockets in the user's group on connect, closes them all on closeUserSockets, and only theirs", async () => {
    await startWith(passport);
    const layer = app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer;
    const [first, second, nobody] = [new Client(app), new Client(app), new Client(app)];
    for (const client of [first, second]) {
      await client.sendAndConsume('websocket.connect', { path: '/users/', headers: [cookieHeader('sid-alice')] });
    }
    await nobody.sendAndConsume('websocket.connect', { path: '/users/' });
    const group = userGroupName('u1');
    expect((await layer.groupChannels(group)).sort()).toEqual([first.replyChannel, second.replyChannel].sort());
    // The channel session keeps the serialized user only, under its own key.
    const session = await app.get(ConsumerSessions).channelSessionFor(first.replyChannel);
    expect(session.toJSON()).toEqual({ _auth_user: 'u1', joined: true });

    await app.get(ChannelsService).closeUserSockets('u1');
    expect(await first.receive()).toEqual({ close: 4003 });
    expect(await second.receive()).toEqual({ close: 4003 });
    expect(await nobody.receive()).toBeNull();
    await app.get(ChannelsService).closeUserSockets('u1', { code: 4000 });
    expect(await first.receive()).toEqual({ close: 4000 });
    await second.receive();

    // Disconnect takes the socket out (the user comes from the channel session).
    await first.sendAndConsume('websocket.disconnect', { path: '/users/', code: 4003 });
    expect(seen.users.at(-1)).toEqual({ name: 'alice' });
    expect(await layer.groupChannels(group)).toEqual([second.replyChannel]);
    await expect(app.get(ChannelsService).closeUserSockets('u1', { code: 1006 })).rejects.toThrow(
      /close code must be 1000 or 3000–4999/,
    );
    await expect(app.get(ChannelsService).closeUserSockets(undefined)).rejects.toThrow(/needs the serialized user/);
  });

  it('joins no user group with sessions.userGroups false', async () => {
    httpStore = new MemoryStore();
    await putSession(httpStore, 'sid-alice', { passport: { user: 'u1' } });
    app = await start({ store: httpStore, secret: SECRET, userGroups: false }, [UserConsumers]);
    await new Client(app).sendAndConsume('websocket.connect', {
      path: '/users/',
      headers: [cookieHeader('sid-alice')],
    });
    const layer = app.get(ChannelLayerRegistry).layer() as GroupsChannelLayer;
    expect(await layer.groupChannels(userGroupName('u1'))).toEqual([]);
  });

  it('loads the user before guards run: a guard can refuse anonymous connections', async () => {
    await startWith(passport);
    const alice = new Client(app);
    await alice.sendAndConsume('websocket.connect', { path: '/members/', headers: [cookieHeader('sid-alice')] });
    expect(await alice.receive()).toEqual({ accept: true });
    const stranger = new Client(app);
    await stranger.sendAndConsume('websocket.connect', { path: '/members/' }).catch(() => undefined);
    expect(await stranger.receive()).toEqual({ close: true });
  });
});

/** A store whose writes take a while: shows whether a session is written before the replies go out. */
class SlowStore extends MemoryStore {
  override set(id: string, session: SessionData, callback?: (error?: unknown) => void): void {
    setTimeout(() => super.set(id, session, callback), 50);
  }
}

@Injectable()
class AcceptingConsumer {
  @Consumer('websocket.connect', { path: /^\/slow\/$/ })
  @ChannelSession()
  async connect(message: Message): Promise<void> {
    message.channelSession!.set('name', 'ann');
    await message.replyChannel!.send({ accept: true });
  }
}

describe('a channel session and the consumer sends', () => {
  it('is saved before the consumer sends go out, so the next frame finds it', async () => {
    const store = new SlowStore();
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot({ sessions: { channelStore: store } })],
      providers: [AcceptingConsumer],
    }).compile();
    const app = await moduleRef.init();
    try {
      const layer = app.get(ChannelLayerRegistry).layer();
      await layer.send('websocket.connect', { path: '/slow/', reply_channel: 'slow.reply!a' });
      expect(await layer.receive(['slow.reply!'], { block: true, timeout: 2 })).toEqual([
        'slow.reply!a',
        { accept: true },
      ]);
      const session = await app.get(ConsumerSessions).channelSessionFor('slow.reply!a');
      expect(session.get('name')).toBe('ann');
    } finally {
      await app.close();
    }
  });
});

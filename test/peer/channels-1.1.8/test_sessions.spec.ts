// Port of channels 1.1.8 tests/test_sessions.py (SessionTests).
//
// Translation notes, for every test here:
// - The original wraps plain functions with the session decorators and calls them with a Message
//   it built. Here the decorators mark consumers, and they act when the package invokes the
//   consumer: each message goes through the test Client (send, then consume: the worker's path).
//   A decorated "function" is a `@Consumer` method of a provider (the package's basic consumer); a
//   decorated "method" of a class is a class-based consumer (BaseConsumer) with the decorator on
//   the class. Each test's messages go to a channel routed to its consumer (the original's
//   messages had no channel: `Message(content, None, None)`).
// - `session_for_reply_channel(name)` is `ConsumerSessions.channelSessionFor(name)`; a Django
//   session's `s[key] = v` / `s[key]` is `set(key, v)` / `get(key)`.
// - Django's session engine (SESSION_ENGINE cache) is an express-session MemoryStore; an HTTP
//   session is one in that store, reached through express-session's signed `connect.sid` cookie
//   (the package's default cookie name, Django's SESSION_COOKIE_NAME).
// - Python's ValueError for a message the decorators cannot serve is the package's TypeError; the
//   error must name what is missing (the reply channel, the order), so an unrelated TypeError
//   does not pass for it.
import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { MemoryStore, type SessionData } from 'express-session';
import {
  BaseConsumer,
  ChannelAndHttpSession,
  ChannelSession,
  channelSessionKey,
  Consumer,
  ConsumerSessions,
  EnforceOrdering,
  HTTP_SESSION_ID_KEY,
  HttpSession,
  NEXT_ORDER_KEY,
  waitChannelOf,
  type ChannelLayer,
  type Message,
} from '../../../src';
import { Client, getNextMessage } from '../../../src/testing';
import { putSession, SECRET, signedId, storedSessions } from '../../sessions/session-fixtures';
import { layerOf, startChannelsApp } from './support';

/**
 * The channel sessions' store: a MemoryStore in which `test_enforce_ordering_concurrent` can make
 * another worker's progress land between two reads of one session (the original mocked the
 * session's `load` for that).
 */
class RacingStore extends MemoryStore {
  private race: { key: string; reads: number; meanwhile: () => Promise<void> } | undefined;

  /** On the second read of `key` from now, `meanwhile` runs first. */
  onSecondRead(key: string, meanwhile: () => Promise<void>): void {
    this.race = { key, reads: 0, meanwhile };
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    const race = this.race;
    if (race && sid === race.key && ++race.reads === 2) {
      this.race = undefined;
      race.meanwhile().then(
        () => super.get(sid, callback),
        (error: unknown) => callback(error),
      );
      return;
    }
    super.get(sid, callback);
  }
}

@Injectable()
class Seen {
  readonly messages: Message[] = [];
  readonly httpWrites: unknown[] = [];
}

@Injectable()
class SessionConsumers {
  constructor(private readonly seen: Seen) {}

  @Consumer('test.channel_session')
  @ChannelSession()
  inner(message: Message): void {
    message.channelSession!.set('num_ponies', -1);
  }

  @Consumer('test.channel_session_double')
  @ChannelSession()
  @ChannelSession()
  innerDouble(message: Message): void {
    message.channelSession!.set('num_ponies', -1);
  }

  @Consumer('test.http_session')
  @HttpSession()
  @HttpSession()
  innerHttp(message: Message): void {
    this.seen.messages.push(message);
    // message.http_session["species"] = "horse": the HTTP session is read-only here (see the test).
    try {
      (message.httpSession as Record<string, unknown>).species = 'horse';
    } catch (error) {
      this.seen.httpWrites.push(error);
    }
  }

  @Consumer('test.channel_and_http_session')
  @ChannelAndHttpSession()
  innerBoth(message: Message): void {
    this.seen.messages.push(message);
  }

  @Consumer(['websocket.connect', 'websocket.receive'])
  @EnforceOrdering()
  ordered(): void {}
}

/** `class Consumer(object): @channel_session def inner(self, message)` */
@Consumer()
@ChannelSession()
class MethodConsumer extends BaseConsumer {
  static override methodMapping = { 'test.channel_session_method': 'inner' };

  inner(message: Message): void {
    message.channelSession!.set('num_ponies', -1);
  }
}

/** The same with the decorator twice. */
@Consumer()
@ChannelSession()
@ChannelSession()
class DoubleMethodConsumer extends BaseConsumer {
  static override methodMapping = { 'test.channel_session_double_method': 'inner' };

  inner(message: Message): void {
    message.channelSession!.set('num_ponies', -1);
  }
}

describe('SessionTests (channels 1.1.8 tests/test_sessions.py)', () => {
  let app: TestingModule;
  let layer: ChannelLayer;
  let sessions: ConsumerSessions;
  let seen: Seen;
  let httpStore: MemoryStore;
  let channelStore: RacingStore;
  let client: Client;

  beforeEach(async () => {
    httpStore = new MemoryStore();
    channelStore = new RacingStore();
    app = await startChannelsApp({ sessions: { store: httpStore, secret: SECRET, channelStore } }, [
      Seen,
      SessionConsumers,
      MethodConsumer,
      DoubleMethodConsumer,
    ]);
    layer = layerOf(app);
    sessions = app.get(ConsumerSessions);
    seen = app.get(Seen);
    client = new Client(app);
  });
  afterEach(() => app.close());

  /** Runs `content` (with its own reply_channel, or none) through the consumer of `channel`. */
  async function run(channel: string, content: Record<string, unknown>): Promise<void> {
    await layer.send(channel, content as never);
    await client.consume(channel);
  }

  it('test_session_for_reply_channel: values stored by reply channel can be read back', async () => {
    const session1 = await sessions.channelSessionFor('test-reply-channel');
    session1.set('testvalue', 42);
    await session1.save(); // save(must_create=True)
    const session2 = await sessions.channelSessionFor('test-reply-channel');
    expect(session2.get('testvalue')).toBe(42);
  });

  it('test_channel_session: the channel_session decorator', async () => {
    await run('test.channel_session', { reply_channel: 'test-reply' });
    const session2 = await sessions.channelSessionFor('test-reply');
    expect(session2.get('num_ponies')).toBe(-1);
  });

  it('test_channel_session_method: the channel_session decorator on methods', async () => {
    await run('test.channel_session_method', { reply_channel: 'test-reply' });
    const session2 = await sessions.channelSessionFor('test-reply');
    expect(session2.get('num_ponies')).toBe(-1);
  });

  it('test_channel_session_double: channel_session wrapped in itself does not blow up', async () => {
    await run('test.channel_session_double', { reply_channel: 'test-reply' });
    const session2 = await sessions.channelSessionFor('test-reply');
    expect(session2.get('num_ponies')).toBe(-1);
  });

  it('test_channel_session_double_method: channel_session wrapped in itself, method version', async () => {
    await run('test.channel_session_double_method', { reply_channel: 'test-reply' });
    const session2 = await sessions.channelSessionFor('test-reply');
    expect(session2.get('num_ponies')).toBe(-1);
  });

  it('test_channel_session_no_reply: channel_session detects no reply channel', async () => {
    await expect(run('test.channel_session_double', {})).rejects.toThrow(TypeError);
    await expect(run('test.channel_session_double', {})).rejects.toThrow(/reply_channel/);
  });

  it('test_channel_session_no_reply_method: channel_session detects no reply channel, method version', async () => {
    await expect(run('test.channel_session_double_method', {})).rejects.toThrow(TypeError);
    await expect(run('test.channel_session_double_method', {})).rejects.toThrow(/reply_channel/);
  });

  it('test_http_session: http_session extracts the session from the session cookie', async () => {
    // Make a session to try against. The original made it with session_for_reply_channel, whose
    // cache entry doubled as an HTTP session; here channel sessions never read as HTTP sessions
    // (README, Sessions), so the HTTP session is one of the app's session store.
    await putSession(httpStore, 'sid-test-reply', { passport: { user: 'someone' } });
    const cookie = `connect.sid=${encodeURIComponent(signedId('sid-test-reply'))}`;
    await run('test.http_session', {
      reply_channel: 'test-reply',
      http_version: '1.1',
      method: 'GET',
      path: '/test2/',
      headers: { host: Buffer.from('example.com'), cookie: Buffer.from(cookie, 'ascii') },
    });
    // Run it through http_session (stacked twice): the consumer got the cookie's session.
    expect(seen.messages).toHaveLength(1);
    expect(seen.messages[0].httpSession).toMatchObject({ passport: { user: 'someone' } });
    // The original then checks that `message.http_session["species"] = "horse"` was saved to the
    // store. The package documents the opposite choice (README, "Decisions where the spec leaves a
    // choice": "http_session ... saves the HTTP session | fixed: ... the HTTP session is
    // read-only"), so the write must not reach the store.
    const stored = await storedSessions(httpStore);
    expect(stored['sid-test-reply']).not.toHaveProperty('species');
  });

  it('test_channel_and_http_session: the HTTP session key is kept and hydrates later messages', async () => {
    // Make a session to try against (an HTTP session of the app's store; see test_http_session).
    await putSession(httpStore, 'sid-both', { species: 'unicorn' });
    const cookie = `connect.sid=${encodeURIComponent(signedId('sid-both'))}`;
    await run('test.channel_and_http_session', {
      reply_channel: 'test-reply-session',
      http_version: '1.1',
      method: 'GET',
      path: '/test2/',
      headers: { host: Buffer.from('example.com'), cookie: Buffer.from(cookie, 'ascii') },
    });
    // It should store the session key: the package keeps it under HTTP_SESSION_ID_KEY
    // (Channels used the cookie's name, SESSION_COOKIE_NAME).
    const message = seen.messages[0];
    expect(message.channelSession!.get(HTTP_SESSION_ID_KEY)).toBe('sid-both');
    // Construct a new message, without the cookie.
    await run('test.channel_and_http_session', { reply_channel: 'test-reply-session', path: '/' });
    // It should hydrate the http_session. The original compares session keys; the package's
    // httpSession is the session's data without its key, so the data is compared.
    const message2 = seen.messages[1];
    expect(message2.httpSession).not.toBeNull();
    expect(message2.httpSession).toEqual(message.httpSession);
    expect(message2.httpSession).toMatchObject({ species: 'unicorn' });
  });

  it('test_enforce_ordering: messages in strict order run and leave nothing waiting', async () => {
    await run('websocket.connect', { reply_channel: 'test-reply!b', order: 0 });
    await run('websocket.receive', { reply_channel: 'test-reply!b', order: 1 });
    await run('websocket.receive', { reply_channel: 'test-reply!b', order: 2 });
    // Ensure wait channel is empty
    const waitChannel = '__wait__.test-reply?b';
    expect(waitChannelOf('test-reply!b')).toBe(waitChannel);
    expect(await getNextMessage(layer, waitChannel)).toBeNull();
  });

  it('test_enforce_ordering_fail: a message out of order waits on the wait channel', async () => {
    await run('websocket.connect', { reply_channel: 'test-reply-c', order: 0 });
    await run('websocket.receive', { reply_channel: 'test-reply-c', order: 2 });
    // Ensure wait channel is not empty
    const waitChannel = `__wait__.${'test-reply-c'}`;
    expect(await getNextMessage(layer, waitChannel)).not.toBeNull();
  });

  it('test_enforce_ordering_fail_no_order: a message with no "order" key fails', async () => {
    await expect(run('websocket.receive', { reply_channel: 'test-reply-d' })).rejects.toThrow(TypeError);
    await expect(run('websocket.receive', { reply_channel: 'test-reply-d' })).rejects.toThrow(/"order"/);
  });

  it('test_enforce_ordering_concurrent: messages parked while the next order changed are requeued', async () => {
    await run('websocket.connect', { reply_channel: 'test-reply-e', order: 0 });
    await run('websocket.receive', { reply_channel: 'test-reply-e', order: 3 });
    // The original mocked message2's session `load` to return {'__channels_next_order': 2}: its
    // first read still sees 1 and parks it, and the re-read after parking sees 2, as if message 1
    // had been consumed meanwhile. Here that progress is written to the store between the reads.
    channelStore.onSecondRead(channelSessionKey('test-reply-e'), async () => {
      const session = await sessions.channelSessionFor('test-reply-e');
      session.set(NEXT_ORDER_KEY, 2);
      await session.save();
    });
    await run('websocket.receive', { reply_channel: 'test-reply-e', order: 2 });
    // Ensure wait channel is empty
    expect(await getNextMessage(layer, `__wait__.${'test-reply-e'}`)).toBeNull();
    // Ensure messages 3 and 2 both ended up back on the original channel
    const expected = new Set([2, 3]);
    for (let m = 0; m < 2; m++) {
      const message = await getNextMessage(layer, 'websocket.receive');
      expected.delete(message?.content.order as number);
    }
    expect(expected).toEqual(new Set());
  });
});

import { Inject, Injectable, Scope } from '@nestjs/common';
import {
  AllowedHostsOnly,
  Consumer,
  JsonWebsocketConsumer,
  WebsocketDemultiplexer,
  type Message,
  type RouteKwargs,
} from '../src';
import { MAX_TEXT } from './chat-json.consumer';
import { handshakeUsername, USERNAME_KEY } from './handshake-username';
import { CounterStore } from './counter.store';
import type { ChatLine } from './history.store';

/** Everyone on /multi/ is in these groups (joined on connect, left on disconnect). */
export const MULTI_CHAT = 'multi-chat';
export const MULTI_COUNTER = 'multi-counter';

/** The largest step of the counter, either way. */
const MAX_STEP = 100;

interface StreamError {
  error: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The `chat` stream of /multi/: payload `{"text"}` in, `{"text", "username"}` out to everyone on
 * /multi/. Nobody logs in here: the username is the handshake's `?username=`, kept in the channel
 * session on connect (a `username` in a payload is ignored). Anything else is answered with
 * `{"error"}` on the stream.
 */
@Injectable({ scope: Scope.TRANSIENT }) // stream consumers are providers, fresh per message
export class MultiChatStream extends JsonWebsocketConsumer<unknown, ChatLine | StreamError> {
  static override groups = [MULTI_CHAT];

  override async receive(payload: unknown): Promise<void> {
    if (!isObject(payload) || typeof payload.text !== 'string') {
      return this.send({ error: 'a chat payload is {"text": string}' });
    }
    const name = this.message.channelSession?.get<string>(USERNAME_KEY) ?? 'guest';
    await this.groupSend(MULTI_CHAT, { text: payload.text.slice(0, MAX_TEXT), username: name });
  }
}

/**
 * The `counter` stream of /multi/: a live counter shared by everyone. A new socket gets the current
 * `{"value"}` on connect; `{"add": n}` (an integer from -100 to 100) adds to it and sends the new
 * `{"value"}` to everyone on /multi/. Anything else is answered with `{"error"}` on the stream.
 */
@Injectable({ scope: Scope.TRANSIENT })
export class CounterStream extends JsonWebsocketConsumer<unknown, { value: number } | StreamError> {
  static override groups = [MULTI_COUNTER];

  constructor(@Inject(CounterStore) private readonly counter: CounterStore) {
    super();
  }

  override async connect(): Promise<void> {
    await this.accept(); // demultiplexed: the demultiplexer has accepted already, so nothing goes out
    await this.send({ value: await this.counter.value() });
  }

  override async receive(payload: unknown): Promise<void> {
    const add = isObject(payload) ? payload.add : undefined;
    if (typeof add !== 'number' || !Number.isInteger(add) || Math.abs(add) > MAX_STEP) {
      return this.send({ error: `a counter payload is {"add": n}, n an integer from -${MAX_STEP} to ${MAX_STEP}` });
    }
    await this.groupSend(MULTI_COUNTER, { value: await this.counter.add(add) });
  }
}

/**
 * WebSocket `/multi/?username=<name>`: two streams on one socket, frames
 * `{"stream": "chat" | "counter", "payload"}` (the page at `GET /multi/` talks to it with
 * `WebSocketBridge`'s `demultiplex` and `stream`). The username is kept in the channel session,
 * which the stream consumers share; a handshake without one, or from a page of another site, is
 * refused (403).
 */
@Consumer({ path: /^\/multi\/$/ })
@AllowedHostsOnly()
export class MultiDemultiplexer extends WebsocketDemultiplexer {
  static override channelSession = true;
  static override consumers = { chat: MultiChatStream, counter: CounterStream };

  override async connect(message: Message, kwargs: RouteKwargs): Promise<void> {
    const name = handshakeUsername(message);
    if (!name) return this.close();
    message.channelSession!.set(USERNAME_KEY, name);
    await super.connect(message, kwargs);
  }
}

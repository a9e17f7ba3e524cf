import { Inject, Injectable, Scope } from '@nestjs/common';
import { AllowedHostsOnly, Consumer, JsonWebsocketConsumer, WebsocketDemultiplexer } from '../src';
import { MAX_TEXT, MAX_USERNAME } from './chat-json.consumer';
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
 * The `chat` stream of /multi/: payload `{"text", "username"?}` in, `{"text", "username"}` out to
 * everyone on /multi/. Nobody logs in here: the username comes with each payload (trimmed, cut to
 * 50 characters, `guest` when empty). Anything else is answered with `{"error"}` on the stream.
 */
@Injectable({ scope: Scope.TRANSIENT }) // stream consumers are providers, fresh per message
export class MultiChatStream extends JsonWebsocketConsumer<unknown, ChatLine | StreamError> {
  static override groups = [MULTI_CHAT];

  override async receive(payload: unknown): Promise<void> {
    if (!isObject(payload) || typeof payload.text !== 'string') {
      return this.send({ error: 'a chat payload is {"text": string, "username"?: string}' });
    }
    const name = typeof payload.username === 'string' ? payload.username.trim().slice(0, MAX_USERNAME) : '';
    await this.groupSend(MULTI_CHAT, { text: payload.text.slice(0, MAX_TEXT), username: name || 'guest' });
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
 * WebSocket `/multi/`: two streams on one socket, frames `{"stream": "chat" | "counter", "payload"}`
 * (the page at `GET /multi/` talks to it with `WebSocketBridge`'s `demultiplex` and `stream`).
 * Handshakes from pages of other sites are refused (403).
 */
@Consumer({ path: /^\/multi\/$/ })
@AllowedHostsOnly()
export class MultiDemultiplexer extends WebsocketDemultiplexer {
  static override consumers = { chat: MultiChatStream, counter: CounterStream };
}

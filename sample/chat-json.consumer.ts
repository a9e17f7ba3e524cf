import { JsonWebsocketConsumer, type Message } from '../src';
import type { ChatLine } from './history.store';

/** What a chat socket receives: a line of text. */
export interface ChatFrame {
  text: string;
}

/** The longest chat line kept; longer ones are cut. */
export const MAX_TEXT = 2000;

/** The longest username kept; longer ones are cut. */
export const MAX_USERNAME = 50;

const isChatFrame = (content: unknown): content is ChatFrame =>
  typeof content === 'object' &&
  content !== null &&
  !Array.isArray(content) &&
  typeof (content as { text?: unknown }).text === 'string';

/**
 * The base of the sample's chat sockets (`/chat/<room>/` and `/private/<room>/`): JSON consumers
 * that answer `{"text", "username"}` frames, with a codec of their own.
 *
 * Overriding the codec (the static `decodeJson`) is what lets one consumer speak two wire formats:
 * the chat's first clients send raw text frames (`hello`, as in the Channels manual), while
 * `WebSocketBridge` sends JSON (`{"text": "hello"}`). So a frame that decodes to an object with a
 * string `text` is that object; anything else (not JSON at all, or JSON of another shape, such as
 * `42` or `["a"]`) is taken as raw text: `{ text: <the frame as it came> }`. No frame is ever
 * refused as malformed JSON. Replies are plain JSON (the inherited `encodeJson`).
 */
export abstract class ChatJsonConsumer extends JsonWebsocketConsumer<ChatFrame, ChatLine> {
  static override decodeJson(text: string): ChatFrame {
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch {
      return { text };
    }
    return isChatFrame(content) ? content : { text };
  }

  /** The connection is over: its channel session goes from the store (the groups are left already). */
  override async disconnect(message: Message): Promise<void> {
    message.channelSession?.flush();
  }
}

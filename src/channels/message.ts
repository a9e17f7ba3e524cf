import type { ChannelLayer } from '../layers/channel-layer';
import { copyMessage, type ChannelMessage } from '../layers/message';
import type { ChannelSessionState } from '../sessions/channel-session';
import type { HttpSessionData } from '../sessions/http-session';
import { Channel } from './channel';

/**
 * A message a consumer handles: its content, the channel it arrived on, the channel to answer on
 * (`reply_channel` in the content, or null) and the layer it came from.
 */
export class Message<TContent extends ChannelMessage = ChannelMessage> {
  readonly channel: Channel;
  readonly replyChannel: Channel | null;
  /** The connection's session, with `@ChannelSession()` (and the decorators that imply it). */
  channelSession?: ChannelSessionState;
  /** The browser's session, read-only, with `@HttpSession()` and friends: null when it has none. */
  httpSession?: HttpSessionData | null;
  /** The user, with the user decorators: yours, or `AnonymousUser`. */
  user?: unknown;

  constructor(
    /** The content as received (not copied: changes are visible to later decorators). */
    readonly content: TContent,
    channelName: string,
    readonly channelLayer: ChannelLayer,
    /** The alias of the layer in ChannelsModule, `default` unless configured otherwise. */
    readonly alias = 'default',
  ) {
    this.channel = new Channel(channelName, channelLayer);
    const reply = content.reply_channel;
    this.replyChannel = typeof reply === 'string' && reply ? new Channel(reply, channelLayer) : null;
  }

  get<K extends keyof TContent & string>(key: K): TContent[K] | undefined {
    return this.content[key];
  }

  /** A new Message with a deep copy of the content, on the same channel and layer. */
  copy(): Message<TContent> {
    return new Message(copyMessage(this.content).copy as TContent, this.channel.name, this.channelLayer, this.alias);
  }
}

import type { ChannelLayer } from '../layers/channel-layer';
import { copyMessage, type ChannelMessage } from '../layers/channel-message';
import { Channel } from './channel';

/**
 * A message a consumer handles: its content, the channel it arrived on, the channel to answer on
 * (`reply_channel` in the content, or null) and the layer it came from.
 */
export class Message<TContent extends ChannelMessage = ChannelMessage> {
  readonly channel: Channel;
  readonly replyChannel: Channel | null;
  // `channelSession`, `httpSession` and `user` are declared by the sessions layer, which sets
  // them (src/sessions/message-sessions.ts): channels sit below sessions and do not know them.

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

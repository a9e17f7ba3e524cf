import type { ChannelLayer } from '../layers/channel-layer';
import type { ChannelMessage } from '../layers/channel-message';
import { assertGroupName } from '../layers/names';
import type { Channel, SendOptions } from './channel';
import { resolveLayer } from './layer-resolver';
import { sendOrHold } from './outbound-buffer';

type GroupsLayer = Required<Pick<ChannelLayer, 'groupAdd' | 'groupDiscard' | 'groupChannels' | 'sendGroup'>>;

/** A named group on a layer. `add`/`discard` act at once; `send` is held inside a consumer. */
export class Group {
  constructor(
    readonly name: string,
    private readonly layerOrAlias: ChannelLayer | string = 'default',
  ) {
    assertGroupName(name);
  }

  get layer(): ChannelLayer {
    return resolveLayer(this.layerOrAlias);
  }

  add(channel: Channel | string): Promise<void> {
    return this.groups().groupAdd(this.name, String(channel));
  }

  discard(channel: Channel | string): Promise<void> {
    return this.groups().groupDiscard(this.name, String(channel));
  }

  channels(): Promise<string[]> {
    return this.groups().groupChannels(this.name);
  }

  /** Sends `content` to every member (held until the end of the running consumer, if any). */
  async send(content: ChannelMessage, options: SendOptions = {}): Promise<void> {
    const layer = this.groups();
    return sendOrHold(this.name, 'group', content, options.immediately, (message) =>
      layer.sendGroup(this.name, message),
    );
  }

  toString(): string {
    return this.name;
  }

  private groups(): GroupsLayer {
    const layer = this.layer;
    if (!layer.extensions.includes('groups') || !layer.sendGroup) {
      throw new TypeError(`The channel layer of group "${this.name}" does not support groups`);
    }
    return layer as ChannelLayer & GroupsLayer;
  }
}

import type { ChannelLayer } from '../layers/channel-layer';
import type { ChannelMessage } from '../layers/channel-message';
import { assertChannelName } from '../layers/names';
import { resolveLayer } from './layer-resolver';
import { sendOrHold } from './outbound-buffer';

export interface SendOptions {
  /** Send now even inside a consumer, instead of when the consumer finishes. */
  immediately?: boolean;
}

/**
 * A named channel on a layer (by alias, default `default`, or a layer instance). Inside a
 * consumer, `send` is held until the consumer finishes; anywhere else it goes at once.
 */
export class Channel {
  constructor(
    readonly name: string,
    private readonly layerOrAlias: ChannelLayer | string = 'default',
  ) {
    assertChannelName(name);
  }

  /** The layer, resolved when first needed so a Channel can be made before the app starts. */
  get layer(): ChannelLayer {
    return resolveLayer(this.layerOrAlias);
  }

  /** Sends `content` (held until the end of the running consumer, if any). */
  async send(content: ChannelMessage, options: SendOptions = {}): Promise<void> {
    const layer = this.layer;
    return sendOrHold(this.name, 'channel', content, options.immediately, (message) => layer.send(this.name, message));
  }

  toString(): string {
    return this.name;
  }
}

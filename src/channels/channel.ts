import type { ChannelLayer } from '../layers/channel-layer';
import { copyMessage, type ChannelMessage } from '../layers/message';
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

  /** Sends `content`; the content is checked and copied now, so later changes do not leak in. */
  send(content: ChannelMessage, options: SendOptions = {}): Promise<void> {
    const { copy } = copyMessage(content);
    const layer = this.layer;
    return sendOrHold(
      { target: this.name, kind: 'channel', content: copy, send: () => layer.send(this.name, copy) },
      options.immediately,
    );
  }

  toString(): string {
    return this.name;
  }
}

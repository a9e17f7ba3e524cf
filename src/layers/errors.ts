/** Raised by `send` when the destination channel is at capacity (ASGI `ChannelFull`). */
export class ChannelFull extends Error {
  constructor(readonly channel: string) {
    super(`Channel "${channel}" is full`);
    this.name = 'ChannelFull';
  }
}

/** Raised by `send`/`sendGroup` when the encoded message is over the layer's size limit. */
export class MessageTooLarge extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`Message of ${size} bytes is over the layer's limit of ${limit} bytes`);
    this.name = 'MessageTooLarge';
  }
}

/** Raised when an operation is attempted on a layer after `close()`. */
export class ChannelLayerClosed extends Error {
  constructor() {
    super('The channel layer is closed');
    this.name = 'ChannelLayerClosed';
  }
}

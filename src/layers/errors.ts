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

/** Why a layer could not take a message: see `LayerUnavailable`. */
export type LayerUnavailableReason =
  /** The outage buffer was full (its message count or byte size): the message was never sent. */
  | 'buffer_full'
  /** The message waited in the outage buffer longer than its age limit: it was never sent. */
  | 'too_old'
  /** The connection dropped before the server answered: the message may or may not have been delivered. */
  | 'connection_lost'
  /** The layer was closed while the message waited for the server: it was never sent. */
  | 'closing'
  /** The server did not answer within the time `waitUntilReady` was given (at startup). */
  | 'unreachable';

/**
 * Raised by `send`/`sendGroup` (and other calls) when the layer's backend cannot take the message
 * now: a Redis outage or stall outlasted the outage buffer. Unlike `ChannelFull` (the receiver is
 * behind), the destination may be fine: retry later, or tell the client the message did not go out.
 */
export class LayerUnavailable extends Error {
  constructor(
    /** The server that could not be reached, e.g. `127.0.0.1:6379`. */
    readonly host: string,
    readonly reason: LayerUnavailableReason,
    message: string,
  ) {
    super(message);
    this.name = 'LayerUnavailable';
  }
}

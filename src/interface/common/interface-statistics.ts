/**
 * What the interface server of this process refused, closed or dropped, counted since it started
 * (`ChannelsInterfaceService.statistics()`): every close, loss or refusal is visible here as well
 * as in the log.
 */
export class InterfaceStatistics {
  /** Frames that waited in their connection's queue because the channel was full or the socket had too many queued. */
  websocketFramesDelayed = 0;
  /** Sockets paused (TCP back-pressure) because their frames were not consumed fast enough. */
  websocketPauses = 0;
  /** Sockets closed with 1013: they kept flooding past the limits, or the layer stayed full or down. */
  websocketClosedBackpressure = 0;
  /** Sockets closed with 1009: a frame over the limit the layer can carry. */
  websocketClosedTooLarge = 0;
  /** Frames of sockets closed with 1013 or 1009 that were never sent. */
  websocketFramesDropped = 0;
  /** `websocket.disconnect` messages that could not be sent (the channel stayed full, or the layer refused). */
  websocketDisconnectsDropped = 0;
  /** Handshakes answered 503: the `websocket.connect` channel was full, or `maxConnections` reached. */
  websocketHandshakesRefused = 0;
  /** Requests answered 503: the channel stayed full, the layer was down, the body budget or `maxRequests` ran out. */
  httpRefused503 = 0;
  /** Requests answered 429: their client had `maxRequestsPerClient` requests open already. */
  httpRefused429 = 0;
  /** Requests answered 413: bodies over `maxBodySize`. */
  httpRefused413 = 0;
  /** Requests answered 408: their body stalled longer than `bodyTimeout`. */
  httpRefused408 = 0;
  /** `http.disconnect` messages that could not be sent. */
  httpDisconnectsDropped = 0;

  /** A copy of the counters. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(Object.entries(this)) as Record<string, number>;
  }
}

import type { ChannelFull, MessageTooLarge } from './errors';
import type { ChannelMessage } from './channel-message';

/** Options of `receive`. */
export interface ReceiveOptions {
  /** Wait for a message instead of returning `[null, null]` at once. Default false. */
  block?: boolean;
  /** With `block`, seconds to wait before giving up with `[null, null]`. Default 5; `Infinity` waits forever. */
  timeout?: number;
  /** With `block`, stops waiting (resolving `[null, null]`) when aborted. */
  signal?: AbortSignal;
}

export type ReceiveResult = [channel: string, message: ChannelMessage] | [channel: null, message: null];

/** `receiveMany` (the `batch` extension): `receive`'s options and the most messages to take. */
export interface ReceiveManyOptions extends ReceiveOptions {
  /** The most messages to take at once (a worker's free consumer slots): a positive integer. */
  max: number;
}

/**
 * Keys of the ASGI statistics extension; a layer returns any subset. The last two are this
 * library's, counted by each layer instance (the Redis layer's `globalStatistics`):
 * `layer_unavailable_count`, messages its sends could not hand over (`LayerUnavailable`: a Redis
 * outage outlasted the outage buffer, or the connection dropped with the send unanswered), and
 * `messages_dropped_count`, messages it received but could not read (undecryptable).
 */
export type StatisticsKey =
  | 'messages_count'
  | 'messages_count_per_second'
  | 'messages_pending'
  | 'messages_max_age'
  | 'channel_full_count'
  | 'channel_full_count_per_second'
  | 'layer_unavailable_count'
  | 'messages_dropped_count';

export type LayerStatistics = Partial<Record<StatisticsKey, number>>;

export type LayerExtension = 'groups' | 'flush' | 'statistics' | 'batch';

/**
 * The ASGI 1 channel-layer contract. The built-in layers implement all of it; a third-party layer
 * implements the core methods and lists in `extensions` which of the optional ones it has.
 */
export interface ChannelLayer {
  /** Extensions this layer supports: `groups`, `flush`, `statistics`. */
  readonly extensions: readonly LayerExtension[];
  /** Seconds a message waits before it expires. */
  readonly expiry: number;
  /** Seconds a group membership lives after its latest add. */
  readonly groupExpiry: number;
  /** Default channel capacity. */
  readonly capacity: number;
  /**
   * Largest message `send` accepts, in bytes as the layer measures it (`MessageTooLarge` beyond),
   * when the layer has a limit: the interface sizes its frames and body chunks to fit.
   */
  readonly maxMessageSize?: number;
  /** The error classes this layer throws, reachable from the instance as the spec asks. */
  readonly ChannelFull: typeof ChannelFull;
  readonly MessageTooLarge: typeof MessageTooLarge;

  /**
   * Queues a snapshot of `message` on `channel`. Rejects with `ChannelFull`, `MessageTooLarge`,
   * `TypeError`, or (a layer with a server, such as Redis) `LayerUnavailable` when an outage of the
   * server outlasts what the layer can hold: the message was not sent (or, reason
   * `connection_lost`, may not have been).
   */
  send(channel: string, message: ChannelMessage): Promise<void>;
  /**
   * The `batch` extension: sends `messages` in order, as `send` would one after another, in as few
   * calls to the backend as it can (one script call per Redis host). Resolves with one result per
   * message: `true` sent, `false` its channel was full. A message refused as full makes the later
   * messages for the same channel in this call refused too, so a channel's order always holds
   * (RabbitMQ's layer may still accept a later one when a reader frees room mid-call: read each
   * result on its own, never resend a `true`).
   * Rejects, sending nothing, on a bad name or a message too large; with `LayerUnavailable` as `send`.
   */
  sendMany?(messages: ReadonlyArray<readonly [channel: string, message: ChannelMessage]>): Promise<boolean[]>;
  /** Takes one message from any of `channels` (`prefix!` for process-specific channels). */
  receive(channels: readonly string[], options?: ReceiveOptions): Promise<ReceiveResult>;
  /**
   * The `batch` extension: takes up to `max` messages, waiting (as `receive`) only while there is
   * none; `[]` when the wait ends empty. Never takes more than `max`, so a worker holds only what it
   * can start now and an idle worker elsewhere is not starved. Each channel's order holds.
   */
  receiveMany?(channels: readonly string[], options: ReceiveManyOptions): Promise<Array<[string, ChannelMessage]>>;
  /** A new unused single-reader channel name: `pattern` (ending in `?`) plus a random suffix. */
  newChannel(pattern: string): Promise<string>;

  groupAdd?(group: string, channel: string): Promise<void>;
  groupDiscard?(group: string, channel: string): Promise<void>;
  groupChannels?(group: string): Promise<string[]>;
  /**
   * Sends to every member; never rejects with `ChannelFull` (full members miss the message). May
   * reject with `MessageTooLarge`, `TypeError` or `LayerUnavailable`, as `send`.
   */
  sendGroup?(group: string, message: ChannelMessage): Promise<void>;
  /** Empties the layer: messages and groups. */
  flush?(): Promise<void>;
  /**
   * Resolves once the layer's server answers; rejects with `LayerUnavailable` after `timeoutMs`.
   * Layers without a server need not have it. Used by `waitForReady` at bootstrap.
   */
  waitUntilReady?(timeoutMs: number): Promise<void>;
  globalStatistics?(): Promise<LayerStatistics>;
  channelStatistics?(channel: string): Promise<LayerStatistics>;
  /**
   * Calls `listener` when the layer has lost its state (a Redis restarted without its data): group
   * memberships and queued messages are gone, so connections should be closed for their clients to
   * reconnect and join again. Returns a function that removes the listener.
   */
  onStateLost?(listener: (reason: string) => void): () => void;
  /** Releases connections and timers; pending blocking receives resolve `[null, null]`. */
  close(): Promise<void>;
}

/** The full contract of the built-in layers: every extension present. */
export interface GroupsChannelLayer extends ChannelLayer {
  groupAdd(group: string, channel: string): Promise<void>;
  groupDiscard(group: string, channel: string): Promise<void>;
  groupChannels(group: string): Promise<string[]>;
  sendGroup(group: string, message: ChannelMessage): Promise<void>;
  flush(): Promise<void>;
  globalStatistics(): Promise<LayerStatistics>;
  channelStatistics(channel: string): Promise<LayerStatistics>;
}

import { Logger } from '@nestjs/common';
import type { ChannelLayer } from '../../layers/channel-layer';
import type { ChannelMessage } from '../../layers/channel-message';
import { randomLetters } from '../../layers/names';

/** Something that owns reply channels: a WebSocket connection or an HTTP response. */
export type ReplyHandler = ((message: ChannelMessage) => void) | { onReply(message: ChannelMessage): void };

/**
 * One receive loop per process for every reply channel: each connection gets `<prefix>!<local>`,
 * and a single blocking receive on `<prefix>!` brings every reply, which is handed to its owner.
 * Replies to channels nobody owns (a socket that closed, a group send to a dead socket) are dropped.
 */
export class ReplyDispatcher {
  /** The process prefix, e.g. `interface.AbCdEfGhIj!`. */
  readonly prefix: string;
  private readonly handlers = new Map<string, ReplyHandler>();
  private readonly stopping = new AbortController();
  private readonly logger = new Logger('InterfaceServer');
  private loop: Promise<void> | undefined;

  constructor(
    private readonly layer: ChannelLayer,
    name = 'interface',
    /** Called for every reply: a worker has read something (the FairSender's hint to look again). */
    private readonly onReply: () => void = () => undefined,
  ) {
    this.prefix = `${name}.${randomLetters(10)}!`;
  }

  get size(): number {
    return this.handlers.size;
  }

  /** A new reply channel owned by `handler` (or by the one `attach` gives it, before any reply can come). */
  open(handler?: ReplyHandler): string {
    const channel = this.prefix + randomLetters(10);
    if (handler) this.handlers.set(channel, handler);
    if (!this.loop) this.loop = this.run();
    return channel;
  }

  /** Gives a channel from `open()` its owner: an object with `onReply` costs no closure per socket. */
  attach(channel: string, handler: ReplyHandler): void {
    this.handlers.set(channel, handler);
  }

  close(channel: string): void {
    this.handlers.delete(channel);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let received;
      try {
        received = await this.layer.receive([this.prefix], { block: true, timeout: 5, signal });
      } catch (error) {
        if (signal.aborted) break;
        // A layer hiccup must never stop the loop every connection depends on.
        this.logger.error(`Reply loop: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      const [channel, message] = received;
      if (channel === null) continue;
      this.onReply();
      const handler = this.handlers.get(channel);
      try {
        if (typeof handler === 'function') handler(message);
        else handler?.onReply(message);
      } catch (error) {
        this.logger.error(`Bad reply on ${channel}: ${(error as Error).message}`);
      }
    }
  }
}

import type { Logger } from '@nestjs/common';
import type { Channel, ChannelModel } from 'amqplib';
import { ConfirmPublisher } from './confirm-publisher';
import { describeUrl } from './rabbitmq-options';
import type { Topology } from './topology';

/** The channels of one live connection. */
export interface LinkChannels {
  model: ChannelModel;
  publisher: ConfirmPublisher;
  /** Consumers of blocking receives. */
  receive: Channel;
  /** Declares of the fixed topology, the group stream reader, the expired-message reader. */
  log: Channel;
}

export interface LinkHooks {
  /** The connection is up (not yet open to sends): attach readers. `stateLost` after a broker restart. */
  up(channels: LinkChannels, stateLost: boolean): Promise<void>;
  /** The connection dropped. */
  down(reason: string): void;
  /** Sends may go. */
  open(): void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

type Amqplib = typeof import('amqplib');

const MISSING_AMQPLIB = 'RabbitmqChannelLayer needs the amqplib package (npm install amqplib)';

/**
 * Refuses, at construction, a layer whose amqplib is not installed: otherwise it would retry a
 * connection that can never succeed. `resolve` is `require.resolve` (a parameter for the test).
 */
export function assertAmqplibInstalled(resolve: (id: string) => string = require.resolve): void {
  try {
    resolve('amqplib');
  } catch (error) {
    throw new Error(`${MISSING_AMQPLIB}: ${(error as Error).message}`);
  }
}

/** amqplib is an optional peer dependency: loaded on first use, with a clear error when missing. */
async function loadAmqplib(): Promise<Amqplib> {
  try {
    return await import('amqplib');
  } catch (error) {
    throw new Error(`${MISSING_AMQPLIB}: ${(error as Error).message}`);
  }
}

/**
 * The layer's connection to the broker: connects, declares the fixed topology, and reconnects with
 * backoff whenever the connection or one of its channels fails, so the process stays up through a
 * broker restart. Each connection also tells whether the broker kept this layer's state: the
 * instance's anchor queue (non-durable, deleted only after a minute unused, kept used by a
 * consumer) survives a dropped connection but not a broker restart, so a missing anchor on
 * reconnect means the queues and what they held are gone.
 */
export class AmqpLink {
  state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting';
  current: LinkChannels | undefined;
  private admin: Promise<Channel> | undefined;
  private anchored = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;
  private lastError = 'not connected yet';
  /** A failed connection attempt was logged, and nothing since said the broker answers. */
  private saidUnreachable = false;

  constructor(
    private readonly url: string,
    private readonly topology: Topology,
    private readonly instance: string,
    private readonly hooks: LinkHooks,
    private readonly logger: Logger,
  ) {}

  /** What the link is doing, for error messages. */
  describe(): string {
    return this.state === 'up' ? 'connected' : `${this.state}: ${this.lastError}`;
  }

  isClosed(): boolean {
    return this.state === 'closed';
  }

  start(): void {
    void this.connect();
  }

  /** A plain channel for declares, gets and purges; reopened after a channel error (e.g. a 404) closed it. */
  adminChannel(): Promise<Channel> {
    const current = this.current;
    if (!current) return Promise.reject(new Error(`not connected (${this.describe()})`));
    if (!this.admin) {
      const opening = current.model.createChannel().then((channel) => {
        const forget = (): void => {
          if (this.admin === opening) this.admin = undefined;
        };
        channel.on('error', forget);
        channel.on('close', forget);
        return channel;
      });
      opening.catch(() => {
        if (this.admin === opening) this.admin = undefined;
      });
      this.admin = opening;
    }
    return this.admin;
  }

  /**
   * After an operation on the admin channel failed with a channel error: amqplib rejects the call
   * before it reports the channel closed, so the next call must not get the dying channel.
   */
  resetAdmin(): void {
    this.admin = undefined;
  }

  async close(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.timer);
    const current = this.current;
    this.current = undefined;
    if (current) await current.model.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.state === 'closed') return;
    let model: ChannelModel | undefined;
    try {
      const amqp = await loadAmqplib();
      // No Nagle: a confirm or a lone publish otherwise waits ~40 ms for the peer's delayed ACK.
      model = await amqp.connect(this.url, { noDelay: true });
      const opened = model;
      opened.on('error', (error: Error) => (this.lastError = error.message));
      opened.on('close', () => this.lost(opened, 'connection closed'));
      const publisher = new ConfirmPublisher(await opened.createConfirmChannel());
      const receive = await opened.createChannel();
      const log = await opened.createChannel();
      // A failure of any channel the layer depends on restarts the whole connection (simple and sure).
      for (const channel of [receive, log]) {
        channel.on('error', (error: Error) => (this.lastError = error.message));
        channel.on('close', () => void opened.close().catch(() => undefined));
      }
      // Auto-deleted with its one binding, i.e. when the dead-letter queue expires unused.
      await log.assertExchange(this.topology.deadLetterExchange, 'fanout', { durable: false, autoDelete: true });
      await log.assertQueue(this.topology.expiredQueue, this.topology.expiredQueueOptions());
      await log.bindQueue(this.topology.expiredQueue, this.topology.deadLetterExchange, '');
      await log.assertQueue(this.topology.groupStream, this.topology.groupStreamOptions());
      const stateLost = this.anchored && !(await this.anchorExists(opened));
      const anchor = this.topology.anchorOf(this.instance);
      await log.assertQueue(anchor, this.topology.anchorOptions());
      await log.consume(anchor, () => undefined, { noAck: true });
      this.anchored = true;
      this.current = { model: opened, publisher, receive, log };
      this.admin = undefined;
      await this.hooks.up(this.current, stateLost);
      if (this.current?.model !== opened || this.isClosed()) return;
      this.state = 'up';
      if (this.saidUnreachable) this.logger.log(`RabbitMQ ${describeUrl(this.url)} answers again`);
      this.saidUnreachable = false;
      this.backoff = MIN_BACKOFF_MS;
      this.hooks.open();
    } catch (error) {
      this.lastError = (error as Error).message;
      // Said once per outage (the first connection included), not at every retry.
      if (!this.saidUnreachable) {
        this.saidUnreachable = true;
        this.logger.warn(`RabbitMQ ${describeUrl(this.url)} unreachable (${this.lastError}); retrying with backoff`);
      }
      if (model) {
        this.lost(model, this.lastError);
        await model.close().catch(() => undefined);
      } else this.retry();
    }
  }

  /** Passive check of this instance's anchor queue, on a channel of its own (a 404 closes it). */
  private async anchorExists(model: ChannelModel): Promise<boolean> {
    const probe = await model.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkQueue(this.topology.anchorOf(this.instance));
      await probe.close();
      return true;
    } catch {
      return false;
    }
  }

  private lost(model: ChannelModel, reason: string): void {
    if (this.current && this.current.model !== model) return;
    const wasUp = this.state === 'up';
    this.current = undefined;
    this.admin = undefined;
    if (this.state === 'closed') return;
    if (this.state !== 'down') {
      this.state = 'down';
      this.lastError = reason;
      if (wasUp) this.logger.warn(`RabbitMQ connection lost (${reason}); reconnecting`);
      this.hooks.down(reason);
    }
    this.retry();
  }

  private retry(): void {
    if (this.state === 'closed' || this.timer) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
  }
}

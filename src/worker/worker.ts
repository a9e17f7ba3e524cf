import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { withOutboundBuffer, type PendingSend } from '../channels/outbound-buffer';
import { Message } from '../channels/message';
import { ChannelSocketException, ConsumeLater } from '../consumers/exceptions';
import type { ChannelLayer } from '../layers/channel-layer';
import { ChannelFull } from '../layers/errors';
import type { ChannelMessage } from '../layers/channel-message';
import { BurstLogger } from '../logging/burst-logger';
import { printable } from '../logging/printable';
import type { Route } from '../routing/route';
import type { Router } from '../routing/router';
import { filterChannels } from './channel-filters';
import { DEFAULT_CONCURRENCY, DEFAULT_MESSAGE_RETRIES, type WorkerOptions } from './worker-options';

export interface ConsumerStartedEvent {
  message: Message;
  consumer: string;
}

export interface ConsumerFinishedEvent extends ConsumerStartedEvent {
  /** What the consumer threw, if anything (ConsumeLater included). */
  error?: unknown;
  durationMs: number;
}

export interface WorkerEvents {
  ready: [channels: string[]];
  consumerStarted: [event: ConsumerStartedEvent];
  consumerFinished: [event: ConsumerFinishedEvent];
}

const RETRIES_KEY = '__retries__';
const FLUSH_RETRY_MS = 200;
const FLUSH_DEADLINE_MS = 2000;
const REQUEUE_ATTEMPTS = 10;
/** Receive loops per worker (at most its concurrency). */
const RECEIVE_LOOPS = 4;

/** Takes up to `free` messages (one loop's receive), waiting while there is none. */
type TakeMessages = (free: number) => Promise<Array<[string, ChannelMessage]>>;
const REQUEUE_RETRY_MS = 50;
/**
 * Messages a client can make for a path nobody serves (a refused or unrouted socket's connect and
 * disconnect, a long poll's disconnect): routine, so one warning per path, then debug lines.
 */
const ROUTINE_WHEN_UNROUTED = new Set(['websocket.connect', 'websocket.disconnect', 'http.disconnect']);
/** Channel-and-path pairs already warned about, at most this many remembered. */
const MAX_UNROUTED_REMEMBERED = 1024;

/** What a worker dropped or could not run, counted since it started. */
export interface WorkerStatistics {
  /** Messages no route took. */
  unrouted: number;
  /** Consumers that threw (ConsumeLater aside). */
  failedConsumers: number;
  /** Held sends dropped after their channel stayed full (or the layer refused them). */
  droppedSends: number;
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the consumers of one layer's router: one receive loop over the routed channels (blocking,
 * never polling), up to `concurrency` consumers at a time, each with its sends held until it ends.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly channels: string[];
  private readonly concurrency: number;
  private readonly messageRetries: number;
  private readonly logger = new Logger(Worker.name);
  readonly statistics: WorkerStatistics = { unrouted: 0, failedConsumers: 0, droppedSends: 0 };
  private readonly unroutedSeen = new Set<string>();
  private readonly droppedLog = new BurstLogger(this.logger, 'held sends dropped');
  private readonly inFlight = new Set<Promise<void>>();
  /** Resolved when an in-flight job ends: what receive loops wait on while every slot is taken. */
  private slotFreed: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Receive loops waiting on the layer right now (each holds a concurrency slot). */
  private receiving = 0;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly layer: ChannelLayer,
    private readonly router: Router,
    options: WorkerOptions = {},
    readonly alias = 'default',
  ) {
    super();
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new TypeError(`Worker concurrency must be a positive integer, got ${String(options.concurrency)}`);
    }
    this.messageRetries = options.messageRetries ?? DEFAULT_MESSAGE_RETRIES;
    this.channels = filterChannels(router.channels, options.onlyChannels, options.excludeChannels);
  }

  /** How many receives this worker keeps waiting on its layer (at most its concurrency). */
  get receiveLoops(): number {
    // A layer that receives in batches needs one loop: it takes every free slot at once.
    if (this.layer.receiveMany) return 1;
    return Math.min(this.concurrency, RECEIVE_LOOPS);
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Starts the receive loop in the background. */
  start(): void {
    if (this.loop) return;
    if (this.channels.length === 0) {
      this.logger.warn(`Layer "${this.alias}": no routed channels to listen on; the worker stays idle`);
    } else {
      this.logger.log(`Layer "${this.alias}": listening on ${this.channels.join(', ')}`);
    }
    this.emit('ready', [...this.channels]);
    this.loop = this.channels.length > 0 ? this.run() : Promise.resolve();
  }

  /** Stops receiving, lets in-flight consumers finish and flush their sends. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Handles one message as the loop does. With `rethrow` (the test client), a consumer's error
   * (ConsumeLater included) and a message no route takes are thrown instead of logged.
   */
  async handle(channel: string, content: ChannelMessage, options: { rethrow?: boolean } = {}): Promise<void> {
    const message = new Message(content, channel, this.layer, this.alias);
    const match = this.router.match(message);
    if (!match) {
      const path = typeof content.path === 'string' ? ` for path ${printable(content.path)}` : '';
      const text = `No consumer for a message on "${channel}"${path} (layer "${this.alias}")`;
      if (options.rethrow) throw new Error(text);
      this.unrouted(channel, content, `${text}; dropped`);
      return;
    }
    const failure = await this.consume(message, match.route, match.kwargs, options.rethrow === true);
    if (options.rethrow && failure !== undefined) throw failure;
  }

  /**
   * Logs a message no route took: the first time per channel and path (a warning for what clients
   * make routinely, an error otherwise), then as a debug line, so a client cannot fill the log.
   */
  private unrouted(channel: string, content: ChannelMessage, text: string): void {
    this.statistics.unrouted++;
    const key = `${channel} ${typeof content.path === 'string' ? content.path : ''}`;
    if (this.unroutedSeen.has(key)) return this.logger.debug(text);
    if (this.unroutedSeen.size >= MAX_UNROUTED_REMEMBERED) this.unroutedSeen.clear();
    this.unroutedSeen.add(key);
    if (ROUTINE_WHEN_UNROUTED.has(channel)) this.logger.warn(`${text} (said once per path)`);
    else this.logger.error(`${text} (said once per path)`);
  }

  /**
   * A layer that receives in batches: one loop. Otherwise several receive loops share the
   * concurrency: a layer that answers over the network brings one message per round trip and
   * loop, so one loop alone would cap the worker at one message per round trip.
   */
  private async run(): Promise<void> {
    const options = { block: true, timeout: 5, signal: this.stopping.signal };
    const take: TakeMessages = this.layer.receiveMany
      ? (free) => this.layer.receiveMany!(this.channels, { ...options, max: free })
      : async () => {
          const [channel, content] = await this.layer.receive(this.channels, options);
          return channel === null ? [] : [[channel, content]];
        };
    await Promise.all(Array.from({ length: this.receiveLoops }, () => this.receiveLoop(take)));
  }

  /**
   * Takes messages while there are free slots and starts each. A slot is taken before receiving,
   * so loops waiting at once cannot overshoot the concurrency; a batching layer's one loop asks
   * for every free slot at once (never more, so an idle worker elsewhere gets the rest).
   */
  private async receiveLoop(take: TakeMessages): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const free = this.concurrency - this.inFlight.size - this.receiving;
      if (free <= 0) {
        await this.nextFreeSlot();
        continue;
      }
      this.receiving++;
      let received: Array<[string, ChannelMessage]>;
      try {
        received = await take(free);
      } catch (error) {
        if (signal.aborted) break;
        this.logger.error(`Receive failed on layer "${this.alias}": ${(error as Error).message}`);
        await sleep(500);
        continue;
      } finally {
        this.receiving--;
      }
      for (const [channel, content] of received) this.startJob(channel, content);
    }
  }

  private startJob(channel: string, content: ChannelMessage): void {
    const job: Promise<void> = this.handle(channel, content).then(
      () => this.jobDone(job),
      (error: unknown) => {
        try {
          this.logger.error(`Unexpected worker failure on "${channel}": ${String(error)}`);
        } finally {
          this.jobDone(job);
        }
      },
    );
    this.inFlight.add(job);
  }

  /** One promise shared by every loop waiting for a slot (not a Promise.race over the jobs each time). */
  private nextFreeSlot(): Promise<void> {
    if (!this.slotFreed) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.slotFreed = { promise, resolve };
    }
    return this.slotFreed.promise;
  }

  private jobDone(job: Promise<void>): void {
    this.inFlight.delete(job);
    const waiting = this.slotFreed;
    this.slotFreed = undefined;
    waiting?.resolve();
  }

  /** Runs the consumer and flushes its sends; returns what it threw that the worker did not handle. */
  private async consume(
    message: Message,
    route: Route,
    kwargs: Record<string, string | undefined>,
    quiet: boolean,
  ): Promise<unknown> {
    const consumer = route.describe();
    const invoke = this.router.invokerOf(route);
    if (!invoke) throw new Error(`Route ${consumer} was never bound to its consumer`);
    this.emit('consumerStarted', { message, consumer });
    const started = performance.now();
    const { error, pending } = await withOutboundBuffer(() => invoke(message, kwargs));
    let unhandled: unknown;
    if (error instanceof ChannelSocketException) {
      // Its run() sends (e.g. a close) are held and flushed with the consumer's own.
      const outcome = await withOutboundBuffer(async () => error.run(message));
      pending.push(...outcome.pending);
      unhandled = outcome.error;
    } else if (error instanceof ConsumeLater && !quiet) {
      await this.requeue(message);
    } else {
      unhandled = error;
    }
    if (unhandled !== undefined && !quiet) this.logFailure(message, consumer, unhandled);
    // Atomicity: what the consumer sent goes out now, even when it threw.
    await this.flush(pending, message);
    this.emit('consumerFinished', { message, consumer, error, durationMs: performance.now() - started });
    return unhandled;
  }

  private logFailure(message: Message, consumer: string, error: unknown): void {
    this.statistics.failedConsumers++;
    const reply = message.replyChannel ? ` (reply channel ${message.replyChannel.name})` : '';
    // The stack was logged where the error was caught (Nest's exception handler); this line says where.
    const detail = error instanceof Error ? `${error.name}: ${printable(error.message)}` : printable(error);
    this.logger.error(`Consumer ${consumer} failed on "${message.channel.name}"${reply}: ${detail}`);
  }

  private async flush(pending: readonly PendingSend[], message: Message): Promise<void> {
    for (const send of pending) {
      const deadline = Date.now() + FLUSH_DEADLINE_MS;
      for (;;) {
        try {
          await send.send();
          break;
        } catch (error) {
          if (error instanceof ChannelFull && Date.now() < deadline) {
            await sleep(FLUSH_RETRY_MS);
            continue;
          }
          // Backpressure must never crash the worker: count it, log once per burst, go on.
          this.statistics.droppedSends++;
          this.droppedLog.event(
            `Dropped a send to ${send.kind} "${send.target}" from the consumer of "${message.channel.name}": ` +
              `${printable((error as Error).message)}`,
          );
          break;
        }
      }
    }
  }

  private async requeue(message: Message): Promise<void> {
    const content = message.content;
    const retries = (typeof content[RETRIES_KEY] === 'number' ? content[RETRIES_KEY] : 0) + 1;
    const channel = message.channel.name;
    if (retries > this.messageRetries) {
      this.logger.warn(`Dropping a message on "${channel}" after ${this.messageRetries} ConsumeLater retries`);
      return;
    }
    const requeued = { ...content, [RETRIES_KEY]: retries };
    for (let attempt = 1; attempt <= REQUEUE_ATTEMPTS; attempt++) {
      try {
        await this.layer.send(channel, requeued);
        return;
      } catch (error) {
        if (!(error instanceof ChannelFull)) {
          this.logger.error(`Could not requeue a message on "${channel}": ${(error as Error).message}`);
          return;
        }
        await sleep(REQUEUE_RETRY_MS);
      }
    }
    this.logger.warn(`Dropping a message on "${channel}": the channel stayed full while requeueing it`);
  }
}

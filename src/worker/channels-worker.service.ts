import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { Worker, type WorkerEvents } from './worker';
import { CHANNELS_WORKER_OPTIONS, WORKER_ROLE } from './worker.constants';
import type { WorkerModuleOptions } from './worker-options';

/**
 * Runs a worker per layer at bootstrap (unless disabled), once the consumers are bound, and stops
 * them first at shutdown: no new messages, in-flight consumers finish and flush, and only then do
 * the layers close. Re-emits every worker's `ready`, `consumerStarted` and `consumerFinished` events.
 */
@Injectable()
export class ChannelsWorkerService
  extends EventEmitter<WorkerEvents>
  implements OnApplicationBootstrap, OnModuleDestroy
{
  private readonly options: WorkerModuleOptions;
  private readonly started: Worker[] = [];

  constructor(
    @Inject(CHANNELS_WORKER_OPTIONS) options: WorkerModuleOptions,
    @Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry,
    @Optional() @Inject(WORKER_ROLE) forced?: WorkerModuleOptions,
  ) {
    super();
    this.options = { ...options, ...forced };
  }

  /** The workers running in this process. */
  get workers(): readonly Worker[] {
    return this.started;
  }

  onApplicationBootstrap(): void {
    if (this.options.enabled !== false) this.start();
  }

  /** The first shutdown hook: consumers drain while the rest of the app is still up. */
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  /** Starts a worker for each selected layer (every layer with routes by default). */
  start(): void {
    if (this.started.length > 0) return;
    const aliases =
      this.options.layers ?? this.registry.aliases.filter((a) => this.registry.router(a).channels.length > 0);
    for (const alias of aliases) {
      const { layer, router } = this.registry.get(alias);
      const worker = new Worker(layer, router, this.options, alias);
      worker.on('ready', (...args) => this.emit('ready', ...args));
      worker.on('consumerStarted', (...args) => this.emit('consumerStarted', ...args));
      worker.on('consumerFinished', (...args) => this.emit('consumerFinished', ...args));
      this.started.push(worker);
      worker.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.splice(0).map((worker) => worker.stop()));
  }
}

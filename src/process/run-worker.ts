import type { INestApplicationContext, Type } from '@nestjs/common';
import type { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface';
import { NestFactory } from '@nestjs/core';
import { InMemoryChannelLayer } from '../layers/memory/in-memory-channel-layer';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { ChannelsWorkerService } from '../worker/channels-worker.service';
import type { WorkerModuleOptions } from '../worker/worker-options';
import { withProcessRole } from './process-role.module';

export interface RunWorkerOptions extends Omit<WorkerModuleOptions, 'enabled'> {
  /** Nest application-context options (logger…). */
  nest?: NestApplicationContextOptions;
  /**
   * Build the app's HTTP layer (without listening), so this worker can run the Nest controllers
   * for `http.request` messages (`interface.http.mode: 'all'`).
   */
  controllers?: boolean;
  /**
   * Run on an in-memory layer anyway. A worker process has a layer of its own, so nothing another
   * process sends reaches it: refused by default, as Channels' runworker refused it. For tests.
   */
  allowInMemoryLayer?: boolean;
}

/**
 * Runs the app's consumers as a worker process: an application context (no HTTP server) whose
 * workers listen on the routed channels. SIGTERM/SIGINT stop it gracefully.
 *
 * ```ts
 * // worker.ts
 * runWorker(AppModule, { onlyChannels: ['chat.*'] });
 * ```
 */
export async function runWorker(
  module: Type<unknown>,
  options: RunWorkerOptions = {},
): Promise<{ app: INestApplicationContext; worker: ChannelsWorkerService }> {
  const { nest, controllers, allowInMemoryLayer, ...worker } = options;
  const root = withProcessRole(module, { worker: { ...worker, enabled: true } });
  let app: INestApplicationContext;
  if (controllers) {
    const web = await NestFactory.create(root, nest);
    await web.init();
    app = web;
  } else {
    app = await NestFactory.createApplicationContext(root, nest);
  }
  const service = app.get(ChannelsWorkerService, { strict: false });
  const registry = app.get(ChannelLayerRegistry, { strict: false });
  const local = service.workers
    .map((w) => w.alias)
    .filter((alias) => registry.layer(alias) instanceof InMemoryChannelLayer);
  if (local.length > 0 && !allowInMemoryLayer) {
    await app.close();
    throw new Error(
      `runWorker cannot serve the in-memory layer ("${local.join('", "')}"): a worker process has its own ` +
        'memory, so nothing another process sends reaches it. Use a cross-process layer (backend: ' +
        "'redis'), or run the consumers in the web process (ChannelsModule's in-process worker)",
    );
  }
  app.enableShutdownHooks();
  return { app, worker: service };
}

import type { INestApplicationContext, Type } from '@nestjs/common';
import type { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface';
import { NestFactory } from '@nestjs/core';
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
  const { nest, controllers, ...worker } = options;
  const root = withProcessRole(module, { worker: { ...worker, enabled: true } });
  let app: INestApplicationContext;
  if (controllers) {
    const web = await NestFactory.create(root, nest);
    await web.init();
    app = web;
  } else {
    app = await NestFactory.createApplicationContext(root, nest);
  }
  app.enableShutdownHooks();
  return { app, worker: app.get(ChannelsWorkerService, { strict: false }) };
}

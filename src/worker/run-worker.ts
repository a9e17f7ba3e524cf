import type { INestApplicationContext, Type } from '@nestjs/common';
import type { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface';
import { NestFactory } from '@nestjs/core';
import type { WorkerModuleOptions } from '../module/channels-module-options';
import { ChannelsWorkerService } from './channels-worker.service';
import { setWorkerOverride } from './worker-override';

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
  setWorkerOverride({ ...worker, enabled: true });
  let app: INestApplicationContext;
  try {
    if (controllers) {
      const web = await NestFactory.create(module, nest);
      await web.init();
      app = web;
    } else {
      app = await NestFactory.createApplicationContext(module, nest);
    }
  } finally {
    setWorkerOverride(undefined);
  }
  app.enableShutdownHooks();
  return { app, worker: app.get(ChannelsWorkerService, { strict: false }) };
}

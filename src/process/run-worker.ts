import type { INestApplicationContext, Type } from '@nestjs/common';
import type { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface';
import { NestFactory } from '@nestjs/core';
import { InMemoryChannelLayer } from '../layers/memory/in-memory-channel-layer';
import { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { ChannelsWorkerService } from '../worker/channels-worker.service';
import { WORKER_ROLE } from '../worker/worker.constants';
import type { WorkerModuleOptions } from '../worker/worker-options';
import { checkFactoryApp, type AppFactory } from './app-factory';
import { assertChannelsModule, closeAndThrow } from './channels-module-missing';
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
   * With `controllers`, builds that HTTP layer the way the app's `main.ts` does (global prefix, pipes,
   * middleware the controllers rely on), from the module it is given. Not used without `controllers`.
   */
  createApp?: AppFactory;
  /**
   * Run on an in-memory layer anyway. A worker process has a layer of its own, so nothing another
   * process sends reaches it: refused by default, as Channels' runworker refused it. For tests.
   */
  allowInMemoryLayer?: boolean;
}

/**
 * Runs the app's consumers as a worker process: an application context (no HTTP server) whose
 * workers listen on the routed channels. SIGTERM/SIGINT stop it gracefully. The module must import
 * `ChannelsModule` (else `ChannelsModuleMissing`). A worker has no HTTP set-up of its own: only with
 * `controllers` does it build one, with `createApp` if given.
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
  const { nest, controllers, createApp, allowInMemoryLayer, ...worker } = options;
  const root = withProcessRole(module, { worker: { ...worker, enabled: true } });
  let app: INestApplicationContext;
  if (controllers) {
    const web = createApp ? await createApp(root) : await NestFactory.create(root, nest);
    try {
      if (createApp) checkFactoryApp(web, module, WORKER_ROLE);
    } catch (error) {
      return closeAndThrow(web, error);
    }
    await web.init();
    app = web;
  } else {
    app = await NestFactory.createApplicationContext(root, nest);
  }
  try {
    assertChannelsModule(app, module, ChannelsWorkerService);
  } catch (error) {
    return closeAndThrow(app, error);
  }
  const service = app.get(ChannelsWorkerService, { strict: false });
  const registry = app.get(ChannelLayerRegistry, { strict: false });
  // Workers with nothing to listen on are the caller's to report ("no consumers to run").
  const local = service.workers
    .filter((w) => w.channels.length > 0)
    .map((w) => w.alias)
    .filter((alias) => registry.layer(alias) instanceof InMemoryChannelLayer);
  if (local.length > 0 && !allowInMemoryLayer) {
    return closeAndThrow(
      app,
      new Error(
        `runWorker cannot serve the in-memory layer ("${local.join('", "')}"): a worker process has its own ` +
          'memory, so nothing another process sends reaches it. Use a cross-process layer (backend: ' +
          "'redis'), or run the consumers in the web process (ChannelsModule's in-process worker)",
      ),
    );
  }
  app.enableShutdownHooks();
  return { app, worker: service };
}

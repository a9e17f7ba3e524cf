import type { INestApplication, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChannelsInterfaceService } from '../interface/channels-interface.service';
import { INTERFACE_ROLE } from '../interface/interface.constants';
import { checkFactoryApp, type AppFactory } from './app-factory';
import { assertChannelsModule, closeAndThrow } from './channels-module-missing';
import type { ProcessRole } from './process-role';
import { withProcessRole } from './process-role.module';

export interface RunServerOptions {
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port. Default 8000. */
  port?: number;
  /** Do not run workers in this process (interface only). */
  noWorker?: boolean;
  /** Seconds before an unanswered HTTP request gets a 503. */
  httpTimeout?: number;
  /** WebSocket subprotocols the server speaks. */
  wsProtocols?: readonly string[];
  /** Trust X-Forwarded-For / -Port / -Proto and Daphne-Root-Path. */
  proxyHeaders?: boolean;
  /** Where the app is mounted behind a proxy (`/app`): `root_path` of every request and connect. */
  rootPath?: string;
  /** Nest application options (logger, cors…). Not used with `createApp`, which passes its own. */
  nest?: NestApplicationOptions;
  /**
   * Builds the app the way the app's `main.ts` does, from the module it is given (the app's module
   * wrapped in this process's role). Default: `NestFactory.create(module, nest)`.
   */
  createApp?: AppFactory;
}

/**
 * The interface server: the app's HTTP server with WebSockets and HTTP over channels, plus (unless
 * `noWorker`) in-process workers. What `nestjs-channels runserver` runs.
 */
export async function runServer(module: Type<unknown>, options: RunServerOptions = {}): Promise<INestApplication> {
  // Unset keys are dropped, so the app's own settings stay where the command line says nothing.
  const defined = <T extends object>(value: T): T =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
  const role: ProcessRole = {
    interface: {
      websocket: defined({
        subprotocols: options.wsProtocols,
        proxyHeaders: options.proxyHeaders,
        rootPath: options.rootPath,
      }),
      http: defined({ timeout: options.httpTimeout, proxyHeaders: options.proxyHeaders, rootPath: options.rootPath }),
    },
    worker: options.noWorker ? { enabled: false } : undefined,
  };
  const root = withProcessRole(module, role);
  const app = options.createApp
    ? await options.createApp(root)
    : await NestFactory.create<INestApplication>(root, options.nest);
  try {
    if (options.createApp) checkFactoryApp(app, module, INTERFACE_ROLE);
    assertChannelsModule(app, module, ChannelsInterfaceService);
  } catch (error) {
    return closeAndThrow(app, error);
  }
  app.enableShutdownHooks();
  await app.listen(options.port ?? 8000, options.host ?? '127.0.0.1');
  return app;
}

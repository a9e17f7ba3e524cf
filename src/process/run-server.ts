import type { INestApplication, NestApplicationOptions, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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
  /** Nest application options (logger, cors…). */
  nest?: NestApplicationOptions;
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
  const app = await NestFactory.create<INestApplication>(withProcessRole(module, role), options.nest);
  app.enableShutdownHooks();
  await app.listen(options.port ?? 8000, options.host ?? '127.0.0.1');
  return app;
}

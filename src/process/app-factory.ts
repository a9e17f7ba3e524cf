import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import type { Server } from 'node:net';
import { hasProvider } from './channels-module-missing';

/**
 * Builds the app exactly as the app's own `main.ts` does (adapter, middleware, global pipes, prefix…),
 * from the module it is given, and returns it without listening. `runServer` (and
 * `nestjs-channels runserver`, when the module file exports `createApp`) calls it with the app's
 * module already wrapped in this process's role, and listens itself:
 *
 * ```ts
 * export async function createApp(module: DynamicModule | Type = AppModule): Promise<INestApplication> {
 *   const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter());
 *   app.setGlobalPrefix('api');
 *   return app;
 * }
 * ```
 */
export type AppFactory = (module: DynamicModule) => Promise<INestApplication>;

/**
 * What an `AppFactory` returned must be a Nest application built from the module it was given
 * (checked through `roleToken`, which only that module provides), and not listening yet.
 */
export function checkFactoryApp(app: INestApplication | undefined, module: Type<unknown>, roleToken: string): void {
  if (typeof app?.listen !== 'function') {
    throw new TypeError(`createApp must return the Nest application (a Promise<INestApplication>), got ${typeof app}`);
  }
  if ((app.getHttpServer() as Server | undefined)?.listening) {
    throw new Error('createApp must not call app.listen(): runServer listens on the host and port it is given itself');
  }
  if (!hasProvider(app, roleToken)) {
    throw new Error(
      `createApp must build the app from the module it is given (NestFactory.create(module, …)), not from ` +
        `${module.name || 'the module'} itself: that module carries this process's role ` +
        `(--noworker, --http-timeout, --only-channels, …)`,
    );
  }
}

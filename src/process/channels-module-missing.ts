import type { INestApplicationContext, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';

/**
 * `runServer` / `runWorker` (and the CLI) were given a module that does not import
 * `ChannelsModule`: there are no channels, workers or interface to run.
 */
export class ChannelsModuleMissing extends Error {
  constructor(readonly moduleName: string) {
    super(
      `${moduleName} does not import ChannelsModule: add ChannelsModule.forRoot() (or forRootAsync()) to the ` +
        `imports of ${moduleName}, e.g. @Module({ imports: [ChannelsModule.forRoot()] })`,
    );
    this.name = 'ChannelsModuleMissing';
  }
}

/**
 * Whether the app has a provider for `token`. Asked through the root's `ModuleRef`: `app.get` of an
 * app made with Nest's default `abortOnError` logs an unknown token and exits the process.
 */
export function hasProvider(app: INestApplicationContext, token: string | Type<unknown>): boolean {
  try {
    app.get(ModuleRef).get(token, { strict: false });
    return true;
  } catch {
    return false;
  }
}

/** Throws `ChannelsModuleMissing` unless the app has the ChannelsModule service `service`. */
export function assertChannelsModule(
  app: INestApplicationContext,
  module: Type<unknown>,
  service: Type<unknown>,
): void {
  if (!hasProvider(app, service)) throw new ChannelsModuleMissing(module.name || 'the module');
}

/** Closes an app that failed a check after it was created, keeping the check's error. */
export async function closeAndThrow(app: INestApplicationContext, error: unknown): Promise<never> {
  await app.close().catch(() => undefined);
  throw error;
}

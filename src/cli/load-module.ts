import type { Type } from '@nestjs/common';
import { isAbsolute, resolve } from 'node:path';

/**
 * Loads the user's Nest module from `path[#ExportName]` (default export name `AppModule`), resolved
 * against the working directory: compiled JavaScript, or TypeScript under a loader such as tsx.
 */
export function loadModule(spec: string): Type<unknown> {
  const [path, exportName = 'AppModule'] = spec.split('#');
  const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let exports: Record<string, unknown>;
  try {
    // A run-time load of the user's module: require also takes TypeScript when a loader (tsx) is active.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exports = require(file) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`Cannot load ${file}: ${(error as Error).message}`);
  }
  const module = exports[exportName];
  if (typeof module !== 'function') {
    throw new Error(`${file} has no export "${exportName}" (give it as path#ExportName)`);
  }
  return module as Type<unknown>;
}

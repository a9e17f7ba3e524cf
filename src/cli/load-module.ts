import type { Type } from '@nestjs/common';
import type { AppFactory } from '../process/app-factory';
import { existsSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve } from 'node:path';

/** The export the CLI calls to build the app as the app's `main.ts` does, when the module file has it. */
export const APP_FACTORY_EXPORT = 'createApp';
const DEFAULT_MODULE_EXPORT = 'AppModule';
const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
/** Node's own TypeScript support (type stripping) cannot run a Nest app: decorators are not erasable. */
const TYPESCRIPT_ERRORS = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
]);

export interface LoadedModule {
  /** The Nest module class. */
  module: Type<unknown>;
  /** The file it came from (absolute). */
  file: string;
  /** The module file's `createApp` export, if it has one. */
  createApp?: AppFactory;
}

/**
 * Loads the user's Nest module from `path[#ExportName]` (default export name `AppModule`), resolved
 * against the working directory: compiled JavaScript, or TypeScript under a loader such as tsx.
 * Also picks up the file's `createApp` export (see `AppFactory`).
 */
export function loadModule(spec: string): LoadedModule {
  const hash = spec.lastIndexOf('#');
  const path = hash < 0 ? spec : spec.slice(0, hash);
  const exportName = (hash < 0 ? '' : spec.slice(hash + 1)) || DEFAULT_MODULE_EXPORT;
  const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
  let resolved: string;
  try {
    resolved = require.resolve(file);
  } catch {
    throw new Error(`Cannot load ${path}: no such file: ${file}${existsSync(file) ? ' (a directory?)' : ''}`);
  }
  let exports: Record<string, unknown>;
  try {
    // A run-time load of the user's module: require also takes TypeScript when a loader (tsx) is active.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exports = require(resolved) as Record<string, unknown>;
  } catch (error) {
    if (isTypeScriptWithoutLoader(resolved, error)) throw new Error(typeScriptHelp(path, resolved, error));
    throw new Error(`Cannot load ${resolved}: ${(error as Error).message}`);
  }
  const module = exports[exportName];
  if (typeof module !== 'function') {
    throw new Error(missingExportHelp(path, resolved, exportName, exports, module));
  }
  const createApp = exports[APP_FACTORY_EXPORT];
  if (createApp !== undefined && typeof createApp !== 'function') {
    throw new Error(`${resolved}: its "${APP_FACTORY_EXPORT}" export must be a function (module) => Promise<app>`);
  }
  return { module: module as Type<unknown>, file: resolved, createApp: createApp as AppFactory | undefined };
}

/** A TypeScript file Node tried to run as JavaScript (no tsx or ts-node), or with its own type stripping. */
function isTypeScriptWithoutLoader(file: string, error: unknown): boolean {
  const extension = extname(file);
  if (!TYPESCRIPT.has(extension)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TYPESCRIPT_ERRORS.has(code)) return true;
  // tsx and ts-node register a require hook for the extension; without one Node parses it as JavaScript.
  return !Object.prototype.hasOwnProperty.call(require.extensions, extension);
}

function typeScriptHelp(path: string, file: string, error: unknown): string {
  const compiled = `dist/${path.replace(/^(\.\/)?(src\/)?/, '').replace(/\.[cm]?tsx?$/, '.js')}`;
  const args = process.argv
    .slice(2)
    .map((arg) => (/^[\w./#:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
  return [
    `Cannot load ${file}: it is TypeScript, and Node is running it without a TypeScript loader`,
    `(${firstLine(error)}). Either run the command under tsx:`,
    `  npx tsx node_modules/.bin/nestjs-channels ${args}`,
    `  node --import tsx node_modules/.bin/nestjs-channels ${args}`,
    `or build your app and give the compiled module file, e.g. ${compiled}.`,
  ].join('\n');
}

function missingExportHelp(
  path: string,
  file: string,
  exportName: string,
  exports: Record<string, unknown>,
  found: unknown,
): string {
  const names = Object.keys(exports).filter((name) => name !== '__esModule');
  const classes = names
    .filter((name) => isClass(exports[name]))
    .sort((a, b) => Number(b.endsWith('Module')) - Number(a.endsWith('Module')));
  const lines = [
    found === undefined
      ? `${file} has no export "${exportName}"`
      : `${file}: its export "${exportName}" is a ${typeof found}, not a Nest module class`,
    `  its exports: ${names.length > 0 ? names.join(', ') : '(none)'}`,
  ];
  if (classes.length > 0 && found === undefined) {
    lines.push(`  give the one that is your root module as ${path}#${classes[0]}`);
  }
  lines.push(
    `  give the file that declares your root module (often src/app.module.ts, or dist/app.module.js once built),`,
    `  not main.ts: a main.ts that calls NestFactory.create() and listen() when loaded starts its own server.`,
    `  To keep main.ts's set-up (adapter, middleware, pipes, prefix), export createApp(module) from the module`,
    `  file (see nestjs-channels runserver --help).`,
  );
  return lines.join('\n');
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim() !== '') ?? message;
}

/** `file` relative to the working directory when inside it (for messages). */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

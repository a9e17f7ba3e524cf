#!/usr/bin/env node
// Builds the browser client into dist/client/:
//   index.mjs (+ .map)   ESM bundle for `import { WebSocketBridge } from 'nestjs-channels/client'`
//   websocketbridge.js   minified IIFE setting the global `channels` = { WebSocketBridge }, served by the app
//   *.d.ts               declarations (tsc -p tsconfig.client.json --emitDeclarationOnly)
// reconnecting-websocket is bundled into both files, so they work as-is in a browser.
// Idempotent: a file is only rewritten (atomically) when its content changed.
// Usage: node scripts/build-client.mjs [--no-types]
import { build } from 'esbuild';
import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'client');
const withTypes = !process.argv.includes('--no-types');
const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));

const common = {
  bundle: true,
  platform: 'browser',
  target: ['es2018'],
  tsconfig: path.join(root, 'tsconfig.client.json'),
  write: false,
  logLevel: 'warning',
  absWorkingDir: root,
};

async function writeIfChanged(file, contents) {
  const next = Buffer.from(contents);
  const previous = await readFile(file).catch(() => null);
  if (previous && previous.equals(next)) return false;
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, next);
  await rename(temporary, file);
  return true;
}

async function bundle(options) {
  const result = await build({ ...common, ...options });
  const changed = await Promise.all(result.outputFiles.map((file) => writeIfChanged(file.path, file.contents)));
  return result.outputFiles.filter((_, index) => changed[index]).map((file) => path.relative(root, file.path));
}

// tsc emits into a temporary directory; the files are then copied only when they changed.
async function declarations() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const temporary = await mkdtemp(path.join(tmpdir(), 'nestjs-channels-client-types-'));
  try {
    const args = [tsc, '-p', 'tsconfig.client.json', '--emitDeclarationOnly', '--outDir', temporary];
    await promisify(execFile)(process.execPath, args, { cwd: root });
    const written = [];
    for (const name of await readdir(temporary)) {
      if (await writeIfChanged(path.join(outDir, name), await readFile(path.join(temporary, name)))) {
        written.push(`dist/client/${name}`);
      }
    }
    return written;
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

const started = Date.now();
await mkdir(outDir, { recursive: true });
try {
  const written = (
    await Promise.all([
      bundle({
        entryPoints: [path.join(root, 'src', 'client', 'index.ts')],
        format: 'esm',
        outfile: path.join(outDir, 'index.mjs'),
        sourcemap: true,
      }),
      bundle({
        stdin: {
          contents: "export { WebSocketBridge } from './src/client/websocket-bridge';",
          resolveDir: root,
          sourcefile: 'websocketbridge-global.ts',
          loader: 'ts',
        },
        format: 'iife',
        globalName: 'channels',
        minify: true,
        banner: {
          js: `/*! nestjs-channels ${version} WebSocketBridge | MIT | includes reconnecting-websocket (MIT) */`,
        },
        outfile: path.join(outDir, 'websocketbridge.js'),
      }),
      withTypes ? declarations() : Promise.resolve([]),
    ])
  ).flat();
  process.stdout.write(
    `build-client: ${written.length ? written.join(', ') : 'nothing changed'} (${Date.now() - started} ms)\n`,
  );
} catch (error) {
  const details = error && typeof error === 'object' && 'stdout' in error ? `${error.stdout}${error.stderr}` : '';
  process.stderr.write(`build-client failed: ${details || (error instanceof Error ? error.message : String(error))}\n`);
  process.exitCode = 1;
}

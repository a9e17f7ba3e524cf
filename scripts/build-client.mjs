#!/usr/bin/env node
// Builds the browser client into dist/client/:
//   index.mjs (+ .map)   ESM bundle for `import { WebSocketBridge } from 'nestjs-channels/client'`; the map
//                        embeds its sources (sourcesContent), as src/ is not published
//   websocketbridge.js   minified IIFE setting the global `channels` = { WebSocketBridge }, served by the app
//   *.d.mts              declarations (tsc -p tsconfig.client.json --emitDeclarationOnly), renamed to .d.mts
//                        with `.mjs` relative imports: they describe an ES module (index.mjs) in a CommonJS
//                        package, where a .d.ts would read as CommonJS types ("masquerading as CJS");
//                        vendor/reconnecting-websocket/*.d.mts: the types of the bundled reconnecting-websocket
// reconnecting-websocket is bundled into both files, so they work as-is in a browser.
// Idempotent: a file is only rewritten (atomically) when its content changed.
// Usage: node scripts/build-client.mjs [--no-types] [--out-dir <dir>]   (default dir: dist/client)
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
const outDirIndex = process.argv.indexOf('--out-dir');
const outDir = outDirIndex >= 0 ? path.resolve(process.argv[outDirIndex + 1] ?? '') : path.join(root, 'dist', 'client');
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

/** Where the types of the bundled reconnecting-websocket go, under the output directory. */
const VENDOR_TYPES = 'vendor/reconnecting-websocket';

/**
 * A .d.ts made a .d.mts: relative imports (`'./websocket-bridge'`) get the `.mjs` an ES module needs, and
 * `reconnecting-websocket` (bundled into index.mjs, so not a dependency) is read from its types shipped
 * beside ours: from an ES module, its own CommonJS-typed `export default` would be the module object.
 */
function esmDeclaration(text, fromDir) {
  const vendored = path.posix.join(path.posix.relative(fromDir, VENDOR_TYPES) || '.', 'reconnecting-websocket.mjs');
  return text
    .replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]+?)(?:\.js)?\2/g, '$1$2$3.mjs$2')
    .replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])reconnecting-websocket\2/g, (_, head, quote) => {
      const specifier = vendored.startsWith('.') ? vendored : `./${vendored}`;
      return `${head}${quote}${specifier}${quote}`;
    });
}

/** Writes `text` to `relative` under the output directory as a .d.mts; returns its path when it changed. */
async function writeDeclaration(relative, text) {
  const target = relative.replace(/\.d\.ts$/, '.d.mts');
  const file = path.join(outDir, target);
  await mkdir(path.dirname(file), { recursive: true });
  const changed = await writeIfChanged(file, esmDeclaration(text, path.posix.dirname(target)));
  return changed ? [path.relative(root, file)] : [];
}

// tsc emits into a temporary directory; the files are then copied only when they changed.
async function declarations() {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  const temporary = await mkdtemp(path.join(tmpdir(), 'nestjs-channels-client-types-'));
  try {
    const args = [tsc, '-p', 'tsconfig.client.json', '--emitDeclarationOnly', '--outDir', temporary];
    await promisify(execFile)(process.execPath, args, { cwd: root });
    const written = [];
    for (const name of await readdir(temporary)) {
      if (name.endsWith('.d.ts'))
        written.push(...(await writeDeclaration(name, await readFile(path.join(temporary, name), 'utf8'))));
    }
    const vendor = path.join(path.dirname(require.resolve('reconnecting-websocket/package.json')), 'dist');
    for (const name of ['reconnecting-websocket.d.ts', 'events.d.ts']) {
      const text = await readFile(path.join(vendor, name), 'utf8');
      written.push(...(await writeDeclaration(`${VENDOR_TYPES}/${name}`, text)));
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
        sourcesContent: true,
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

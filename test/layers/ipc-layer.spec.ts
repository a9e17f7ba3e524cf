import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcChannelLayer } from '../../src';
import { describeLayerContract } from './layer-contract';

// Every layer of this file shares one store, as the processes of one app would (the contract
// flushes it before each test).
const folder = mkdtempSync(join(tmpdir(), 'ipc-contract-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describeLayerContract(
  'IpcChannelLayer',
  async (options) => new IpcChannelLayer({ ...options, path: join(folder, 'store.db') }),
);

describe('IpcChannelLayer options', () => {
  it('needs a path, with a TypeError that says so', () => {
    expect(() => new IpcChannelLayer(undefined as never)).toThrow(/needs `path`/);
    expect(() => new IpcChannelLayer({} as never)).toThrow(TypeError);
    expect(() => new IpcChannelLayer({ path: '' })).toThrow(TypeError);
  });

  it('refuses a bad lockTimeout, pollInterval or driver', () => {
    const path = join(folder, 'options.db');
    expect(() => new IpcChannelLayer({ path, lockTimeout: 0 })).toThrow(TypeError);
    expect(() => new IpcChannelLayer({ path, pollInterval: -1 })).toThrow(TypeError);
    expect(() => new IpcChannelLayer({ path, driver: 'sqlite4' as never })).toThrow(TypeError);
  });
});

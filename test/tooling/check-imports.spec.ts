import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findCycles, findImportViolations, LayerOrder } from '../../scripts/check-imports';

/** A small order for fixtures: layers (root < memory, redis) < channels < sessions < security, generic. */
const ORDER: LayerOrder = [
  [{ folder: 'layers', inner: [['.'], ['memory', 'redis']] }],
  ['channels'],
  ['sessions'],
  ['security', 'generic'],
];
const SEE = 'see ARCHITECTURE.md';

const roots: string[] = [];
afterAll(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

/** Writes a fixture tree (root-relative path → file text) into a fresh temp dir. */
function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-imports-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

const check = (files: Record<string, string>, order: LayerOrder = ORDER): string[] =>
  findImportViolations(tree(files), order);

describe('check-imports: cycles', () => {
  it('passes a clean layered tree (packages, .js extensions and folder indexes resolve)', () => {
    const violations = check({
      'src/layers/channel-layer.ts': `import { Observable } from 'rxjs';\nexport type Layer = Observable<string>;`,
      'src/layers/memory/memory-layer.ts': `import type { Layer } from '../channel-layer.js';\nexport let l: Layer;`,
      'src/channels/message.ts': `import { l } from '../layers/memory/memory-layer';\nexport const m = l;`,
      'src/sessions/index.ts': `export * from './session';`,
      'src/sessions/session.ts': `import { m } from '../channels/message';\nexport const s = m;`,
      'src/generic/consumer.ts': `import { s } from '../sessions';\nimport '../layers/channel-layer';\nexport const g = s;`,
      'test/generic/consumer.spec.ts': `import { g } from '../../src/generic/consumer';\nvoid g;`,
      'scripts/tool.ts': `import * as fs from 'node:fs';\nvoid fs;`,
    });
    expect(violations).toEqual([]);
  });

  it.each([
    ['import type', `import type { A } from './a';`],
    ['export ... from', `export { A } from './a';`],
    ['export type ... from', `export type { A } from './a';`],
    ['export * from', `export * from './a';`],
    ['side-effect import', `import './a';`],
    ['dynamic import()', `export const load = () => import('./a');`],
    ['require()', `export const a = require('./a');`],
    ['import = require()', `import a = require('./a');\nexport { a };`],
    ['declare module augmentation', `declare module './a' {\n  interface A {\n    b: true;\n  }\n}\nexport {};`],
    // Without imports or exports TypeScript lists the declaration under ambientExternalModules instead.
    ['declare module in a script file', `declare module './a' {\n  interface A {\n    b: true;\n  }\n}`],
    ['.js extension', `import { A } from './a.js';\nexport const b: A = 1;`],
  ])('reports a two-file cycle closed by %s', (_form, importOfA) => {
    const violations = check({
      'src/channels/a.ts': `import { b } from './b';\nexport type A = number;\nvoid b;`,
      'src/channels/b.ts': importOfA,
    });
    expect(violations).toEqual(['import cycle: src/channels/a.ts → src/channels/b.ts → src/channels/a.ts']);
  });

  it('reports a three-file cycle once, in import order', () => {
    const violations = check({
      'test/support/a.ts': `import './b';`,
      'test/support/b.ts': `import './nested';`,
      'test/support/nested/index.ts': `import '../a';`,
      'test/support/c.ts': `import './a';`, // leads into the cycle but is not part of it
    });
    expect(violations).toEqual([
      'import cycle: test/support/a.ts → test/support/b.ts → test/support/nested/index.ts → test/support/a.ts',
    ]);
  });

  it('reports each cycle of several, and a file importing itself', () => {
    const violations = check({
      'bench/a.ts': `import './b';`,
      'bench/b.ts': `import './a';`,
      'sample/self.mts': `import './self.mjs';`,
    });
    expect(violations).toEqual([
      'import cycle: bench/a.ts → bench/b.ts → bench/a.ts',
      'import cycle: sample/self.mts → sample/self.mts',
    ]);
  });

  it('ignores bench/results, node_modules and dist', () => {
    const cycle = { 'a.ts': `import './b';`, 'b.ts': `import './a';` };
    const files: Record<string, string> = {};
    for (const dir of ['bench/results', 'test/node_modules/pkg', 'sample/dist']) {
      for (const [name, text] of Object.entries(cycle)) files[`${dir}/${name}`] = text;
    }
    expect(check(files)).toEqual([]);
  });

  it('findCycles prints the shortest cycle of a component from its first file', () => {
    const graph = new Map([
      ['c', ['a']],
      ['a', ['b', 'x']],
      ['b', ['c', 'a']],
      ['x', []],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'a']]);
  });
});

describe('check-imports: layer order', () => {
  it('reports an upward import naming both folders and levels', () => {
    const violations = check({
      'src/channels/message.ts': `import { S } from '../sessions/channel-session';\nexport type M = S;`,
      'src/sessions/channel-session.ts': `export type S = string;`,
    });
    expect(violations).toEqual([
      `src/channels/message.ts imports src/sessions/channel-session.ts: channels (level 1) may not import sessions (level 2); ${SEE}`,
    ]);
  });

  it('reports a sideways import between siblings', () => {
    const violations = check({
      'src/security/origin.ts': `import '../generic/consumer';`,
      'src/generic/consumer.ts': `export {};`,
    });
    expect(violations).toEqual([
      `src/security/origin.ts imports src/generic/consumer.ts: security (level 3) may not import generic (level 3); ${SEE}`,
    ]);
  });

  it('orders the units inside a folder: root files below subfolders, sibling subfolders apart', () => {
    const violations = check({
      'src/layers/errors.ts': `export {};`,
      'src/layers/memory/memory-layer.ts': `import '../errors';\nimport '../redis/redis-layer';`,
      'src/layers/redis/redis-layer.ts': `import '../errors';`,
      'src/layers/capacity.ts': `import './memory/memory-layer';`,
    });
    expect(violations).toEqual([
      `src/layers/capacity.ts imports src/layers/memory/memory-layer.ts: layers root files (level 0 within layers) may not import layers/memory (level 1 within layers); ${SEE}`,
      `src/layers/memory/memory-layer.ts imports src/layers/redis/redis-layer.ts: layers/memory (level 1 within layers) may not import layers/redis (level 1 within layers); ${SEE}`,
    ]);
  });

  it('lets a folder barrel re-export its own subfolders, but not other folders', () => {
    const violations = check({
      'src/layers/index.ts': `export * from './memory/memory-layer';\nexport * from './redis/redis-layer';`,
      'src/layers/memory/memory-layer.ts': `export {};`,
      'src/layers/redis/redis-layer.ts': `export {};`,
      'src/channels/index.ts': `export * from '../sessions/session';`,
      'src/sessions/session.ts': `export {};`,
    });
    expect(violations).toEqual([
      `src/channels/index.ts imports src/sessions/session.ts: channels (level 1) may not import sessions (level 2); ${SEE}`,
    ]);
  });

  it('lets src/index.ts import anything in src/, but nothing in src/ may import it', () => {
    const violations = check({
      'src/index.ts': [
        `export * from './layers/memory/memory-layer';`,
        `export * from './generic/consumer';`,
        `export * from './security/origin';`,
      ].join('\n'),
      'src/layers/memory/memory-layer.ts': `export {};`,
      'src/generic/consumer.ts': `export {};`,
      'src/security/origin.ts': `import type {} from '../index';`,
    });
    expect(violations).toEqual([
      'import cycle: src/index.ts → src/security/origin.ts → src/index.ts',
      `src/security/origin.ts imports src/index.ts: only code outside src/ may import the public barrel; ${SEE}`,
    ]);
  });

  it('reports a src/ folder or file that is not in the order, once', () => {
    const violations = check({
      'src/foo/a.ts': `import '../channels/message';`,
      'src/foo/deep/b.ts': `export {};`,
      'src/layers/extra/c.ts': `export {};`,
      'src/stray.ts': `export {};`,
      'src/channels/message.ts': `import '../foo/a';`, // no layer message for an unknown target: its folder is reported
      'src/channels/nested/helper.ts': `import '../message';`, // a subfolder of a plain unit belongs to it
    });
    const hint = 'is not in the layer order: add it to LAYERS in scripts/check-imports.ts and to ARCHITECTURE.md';
    expect(violations).toEqual([
      'import cycle: src/channels/message.ts → src/foo/a.ts → src/channels/message.ts',
      `src/foo/ ${hint}`,
      `src/layers/extra/ ${hint}`,
      `src/stray.ts ${hint}`,
    ]);
  });

  it('reports src/ importing from test/', () => {
    const violations = check({
      'src/channels/message.ts': `import { helper } from '../../test/support/helper';\nvoid helper;`,
      'test/support/helper.ts': `export const helper = 1;`,
    });
    expect(violations).toEqual([
      'src/channels/message.ts imports test/support/helper.ts: nothing in src/ may import from outside src/',
    ]);
  });

  it("counts `declare module '../channels/message'` as an import", () => {
    const violations = check({
      'src/layers/augment.ts': `declare module '../channels/message' {\n  interface Message {\n    extra: true;\n  }\n}\nexport {};`,
      'src/channels/message.ts': `export interface Message {\n  body: string;\n}`,
    });
    expect(violations).toEqual([
      `src/layers/augment.ts imports src/channels/message.ts: layers (level 0) may not import channels (level 1); ${SEE}`,
    ]);
  });

  it('uses the real order from ARCHITECTURE.md by default', () => {
    const violations = findImportViolations(
      tree({
        'src/channels/message.ts': `import '../sessions/channel-session';`,
        'src/sessions/channel-session.ts': `import '../registry/registry';\nimport '../layers/redis/redis-layer';`,
        'src/registry/registry.ts': `import '../routing/router';`,
        'src/routing/router.ts': `export {};`,
        'src/layers/redis/redis-layer.ts': `export {};`,
        'src/interface/index.ts': `import './http/http-interface';`,
        'src/interface/http/http-interface.ts': `import '../common/options';\nimport '../../http/helpers';`,
        'src/interface/common/options.ts': `import '../websocket/connection';`,
        'src/interface/websocket/connection.ts': `export {};`,
        'src/http/helpers.ts': `import '../security/hosts';`,
        'src/security/hosts.ts': `export {};`,
        'src/module/channels.module.ts': `import '../process/run-worker';\nimport '../client/bridge';\nimport '../worker/w';`,
        'src/process/run-worker.ts': `export {};`,
        'src/client/bridge.ts': `export {};`,
        'src/worker/w.ts': `import '../consumers/c';`,
        'src/consumers/c.ts': `export {};`,
        'src/cli/main.ts': `import '../testing/index';\nimport '../module/channels.module';`,
        'src/testing/index.ts': `export {};`,
      }),
    );
    expect(violations).toEqual([
      `src/channels/message.ts imports src/sessions/channel-session.ts: channels (level 2) may not import sessions (level 5); ${SEE}`,
      `src/cli/main.ts imports src/testing/index.ts: cli (level 13) may not import testing (level 13); ${SEE}`,
      `src/http/helpers.ts imports src/security/hosts.ts: http (level 7) may not import security (level 7); ${SEE}`,
      `src/interface/common/options.ts imports src/interface/websocket/connection.ts: interface/common (level 0 within interface) may not import interface/websocket (level 1 within interface); ${SEE}`,
    ]);
  });
});

describe('check-imports: command line', () => {
  const script = path.resolve(__dirname, '../../scripts/check-imports.ts');
  const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
  const run = (root: string) => spawnSync(tsx, [script], { cwd: root, encoding: 'utf8' });

  it('exits 0 with one line on a clean tree', () => {
    const result = run(tree({ 'src/channels/a.ts': `import '../layers/b';`, 'src/layers/b.ts': `export {};` }));
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('exits 1 and prints every violation', () => {
    const result = run(
      tree({ 'src/layers/a.ts': `import '../channels/b';`, 'src/channels/b.ts': `import '../layers/a';` }),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('import cycle: src/channels/b.ts → src/layers/a.ts → src/channels/b.ts');
    expect(result.stderr).toContain(
      'src/layers/a.ts imports src/channels/b.ts: layers (level 1) may not import channels (level 2)',
    );
  });
});

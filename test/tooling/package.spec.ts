// The package as a new user gets it: built with the real build (tsconfig.build.json, scripts/build-client.mjs) into a
// temporary directory (the repository's own dist/ is left alone), packed with `npm pack`, and unpacked into a temporary
// project's node_modules beside links to what `npm install` would add: its dependencies and required peers, never its
// devDependencies (so neither express-session, an optional peer, nor @types/express-session or @types/ws are there).
// The project is then compiled with `skipLibCheck: false`, as an app with Nest's old defaults
// (`moduleResolution: "node"`) and as an ES module (node16) using the browser client.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);
const SETUP_TIMEOUT = 240_000;
/** Type-checking Nest's, rxjs's, ioredis's and Node's declarations takes a while. */
const COMPILE_TIMEOUT = 120_000;

interface PackedFile {
  path: string;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

let temporary = '';
/** Paths in the tarball, relative to the package root. */
let packed: string[] = [];
/** The temporary project, with the package in node_modules/nestjs-channels. */
let project = '';
let installed = '';

/** Builds like `npm run build`, into `<dir>/dist`. */
async function build(dir: string): Promise<void> {
  const tsc = require.resolve('typescript/bin/tsc');
  await Promise.all([
    run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'dist')], { cwd: ROOT }),
    run(process.execPath, ['scripts/build-client.mjs', '--out-dir', path.join(dir, 'dist', 'client')], { cwd: ROOT }),
  ]);
}

/** Links `node_modules/<name>` of the project to the repository's copy (what npm would have installed). */
function link(name: string): void {
  const target = path.join(project, 'node_modules', name);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules', name), target, 'dir');
}

function write(file: string, text: string): string {
  const full = path.join(project, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  return full;
}

/** Nest's long-time tsconfig (`nest new` before Nest 11): CommonJS, `moduleResolution: node`, decorators. */
const NEST_DEFAULTS: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  target: ts.ScriptTarget.ES2021,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
};

/** Errors of compiling `files` (none expected), formatted. */
function compile(files: string[], options: ts.CompilerOptions): string {
  const program = ts.createProgram(files, { ...options, noEmit: true, skipLibCheck: false, strict: true });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => project,
    getNewLine: () => '\n',
  });
}

beforeAll(async () => {
  temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'nestjs-channels-package-'));
  const source = path.join(temporary, 'package');
  fs.mkdirSync(source);
  for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
    fs.copyFileSync(path.join(ROOT, file), path.join(source, file));
  }
  await build(source);
  const pack = ['pack', '--ignore-scripts', '--json', '--pack-destination', temporary];
  const { stdout } = await run('npm', pack, { cwd: source, maxBuffer: 16 << 20 });
  const [result] = JSON.parse(stdout) as Array<{ filename: string; files: PackedFile[] }>;
  packed = result.files.map((file) => file.path);

  project = path.join(temporary, 'app');
  installed = path.join(project, 'node_modules', 'nestjs-channels');
  fs.mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', path.join(temporary, result.filename), '-C', installed, '--strip-components=1']);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as PackageJson;
  const optional = manifest.peerDependenciesMeta ?? {};
  const peers = Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optional[name]?.optional);
  // @nestjs/testing is an optional peer that nestjs-channels/testing needs: the app below installs it.
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...peers, '@nestjs/testing', '@types/node']) {
    link(name);
  }
}, SETUP_TIMEOUT);

afterAll(() => {
  if (temporary) fs.rmSync(temporary, { recursive: true, force: true });
});

describe('the published package', () => {
  it(
    'has types for every entry point under moduleResolution "node", without devDependency types',
    () => {
      const app = write(
        'app.ts',
        `import { Injectable, Module } from '@nestjs/common';
import {
  ChannelSession,
  ChannelsModule,
  Consumer,
  Group,
  RedisSessionStore,
  type Message,
  type SessionStore,
} from 'nestjs-channels';
import { getNextMessage } from 'nestjs-channels/testing';
import { WebSocketBridge } from 'nestjs-channels/client';

/** A store of one's own (or connect-redis, whose get returns a promise and takes an optional callback). */
class PromiseStore {
  async get(_sid: string, callback?: (error: unknown, session?: Record<string, unknown> | null) => void) {
    callback?.(null, null);
    return null;
  }
  set(_sid: string, _session: { cookie: { expires?: Date } }, callback?: (error?: unknown) => void): void {
    callback?.();
  }
  destroy(_sid: string, callback?: (error?: unknown) => void): void {
    callback?.();
  }
}
const custom: SessionStore = new PromiseStore();
// @ts-expect-error a session store is typed: not just anything
const wrong: SessionStore = { get: 42 };
export const redisStore: (client: ConstructorParameters<typeof RedisSessionStore>[0]['client']) => SessionStore = (
  client,
) => new RedisSessionStore({ client });

@Injectable()
export class ChatConsumers {
  @ChannelSession()
  @Consumer('websocket.connect', { path: /^\\/chat\\/$/ })
  async connect(message: Message): Promise<void> {
    message.channelSession?.set('seen', true);
    await new Group('chat').add(message.replyChannel!);
  }
}

@Module({
  imports: [ChannelsModule.forRoot({ sessions: { store: custom, secret: 's3cret' } })],
  providers: [ChatConsumers],
})
export class AppModule {}
export { getNextMessage, WebSocketBridge, wrong };
`,
      );
      // Nest's long-time tsconfig, with skipLibCheck off: every .d.ts the app reaches is checked.
      const errors = compile([app], NEST_DEFAULTS);
      expect(errors).toBe('');
    },
    COMPILE_TIMEOUT,
  );

  it(
    'types the ES-module-only browser client for ESM projects (node16)',
    () => {
      const client = write(
        'client.mts',
        `import { WebSocketBridge, type WebSocketBridgeOptions } from 'nestjs-channels/client';
const options: WebSocketBridgeOptions = {};
const bridge = new WebSocketBridge(options);
bridge.connect('/chat/');
const socket: { readonly readyState: number } | null = bridge.socket;
export { socket };
`,
      );
      const errors = compile([client], {
        module: ts.ModuleKind.Node16,
        moduleResolution: ts.ModuleResolutionKind.Node16,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
        types: [],
      });
      expect(errors).toBe('');
    },
    COMPILE_TIMEOUT,
  );

  it(
    "compiles the README's Getting started, file by file, unchanged",
    () => {
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      const section = readme.slice(readme.indexOf('## Getting started'));
      // The blocks that open with their file's name (`// app.module.ts`); the production variant after
      // them is a fragment.
      const blocks = [
        ...section.slice(0, section.indexOf('\n## ', 5)).matchAll(/```ts\n\/\/ ([\w.-]+\.ts)\n([\s\S]*?)```/g),
      ];
      const files = blocks.map(([, name, code]) => write(`getting-started/${name}`, code));
      expect(files.map((file) => path.basename(file))).toEqual(['chat.consumers.ts', 'app.module.ts', 'main.ts']);
      const errors = compile(files, NEST_DEFAULTS);
      expect(errors).toBe('');
    },
    COMPILE_TIMEOUT,
  );

  it('loads without express-session (an optional peer)', async () => {
    const script = `require('reflect-metadata');
const channels = require('nestjs-channels');
require('nestjs-channels/testing');
if (typeof channels.ChannelsModule !== 'function' || typeof channels.RedisSessionStore !== 'function') process.exit(2);
const loaded = Object.keys(require.cache).filter((file) => file.includes('express-session'));
if (loaded.length > 0) throw new Error('loaded ' + loaded.join(', '));
`;
    await expect(run(process.execPath, ['-e', script], { cwd: project })).resolves.toBeDefined();
    expect(fs.existsSync(path.join(project, 'node_modules', 'express-session'))).toBe(false);
  });

  it('ships source maps whose sources are all there (embedded)', () => {
    const maps = packed.filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourcesContent = [] } = JSON.parse(fs.readFileSync(path.join(installed, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      sources.forEach((source, index) => {
        const there = fs.existsSync(path.resolve(installed, path.dirname(map), source));
        if (typeof sourcesContent[index] !== 'string' && !there) missing.push(`${map}: ${source}`);
      });
    }
    expect(missing).toEqual([]);
    // Every sourceMappingURL comment names a map in the package.
    const unmapped: string[] = [];
    for (const file of packed.filter((name) => /\.(m?js)$/.test(name))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(installed, file), 'utf8'))?.[1];
      if (url && !packed.includes(path.posix.join(path.posix.dirname(file), url))) unmapped.push(`${file}: ${url}`);
    }
    expect(unmapped).toEqual([]);
  });

  it('ships the browser bridge only as dist/client (no CommonJS copy in dist/src/client)', () => {
    const browserCopy = packed.filter((file) => /^dist\/src\/client\/(index|websocket-bridge)\./.test(file));
    expect(browserCopy).toEqual([]);
    expect(packed).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'dist/client/index.mjs',
        'dist/client/index.d.mts',
        'dist/client/websocketbridge.js',
        // The server side that serves websocketbridge.js stays.
        'dist/src/client/websocket-bridge-script.js',
      ]),
    );
  });
});

import { buildSync } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { killAllCli, startCli } from '../support/cli-process';
import { openSocket } from '../support/websocket';
import { browserLike, inbox, login } from '../sample/sample-client';
import {
  cleanUpRabbitPrefixes,
  findOrStartRabbitmq,
  uniqueRabbitPrefix,
  type TestRabbitmq,
} from '../support/rabbitmq-server';
import { freePort, findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';

const root = join(__dirname, '..', '..');
const fixture = (name: string): string => `test/cli/fixtures/${name}`;
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr, as they came. */
  output: string;
}
/** Runs the CLI to its end: from source under tsx, or `node <cli>` for a CLI file run without a loader. */
function run(args: string[], cli?: string): Promise<Run> {
  const command = cli ? [cli] : ['--import', 'tsx', 'src/cli/main.ts'];
  const child = spawn(process.execPath, [...command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Run = { code: null, stdout: '', stderr: '', output: '' };
  child.stdout.on('data', (d: Buffer) => ((result.stdout += d.toString()), (result.output += d.toString())));
  child.stderr.on('data', (d: Buffer) => ((result.stderr += d.toString()), (result.output += d.toString())));
  return new Promise((resolve) => child.once('close', (code) => resolve({ ...result, code })));
}

describe('the nestjs-channels CLI', () => {
  let redis: TestRedis;
  let rabbitmq: TestRabbitmq | undefined;
  const ipcFolders: string[] = [];

  beforeAll(async () => {
    redis = await findOrStartRedis();
  });
  afterAll(async () => {
    killAllCli();
    await redis.stop();
    if (rabbitmq) {
      await cleanUpRabbitPrefixes(rabbitmq.url);
      await rabbitmq.stop();
    }
    for (const folder of ipcFolders) rmSync(folder, { recursive: true, force: true });
  });

  it('explains its usage on a bad command line', async () => {
    const [nonsense, badPort, unknownOption, missingValue, topLevelV, none] = await Promise.all([
      run(['nonsense']),
      run(['runserver', 'sample/app.module.ts', '-p', 'x']),
      run(['runworker', 'sample/app.module.ts', '--bogus']),
      run(['runserver', 'sample/app.module.ts', '-p']),
      run(['-v']),
      run([]),
    ]);
    expect(nonsense).toMatchObject({ code: 2, stdout: '' });
    expect(nonsense.stderr).toContain('unknown command "nonsense"');
    expect(nonsense.stderr).toContain('Usage:');
    expect(badPort).toMatchObject({ code: 2, stdout: '' });
    expect(badPort.stderr).toContain('bad port');
    expect(badPort.stderr).toContain('Usage: nestjs-channels runserver');
    // Unknown options (parseArgs' errors) are usage errors too, with the command's usage.
    expect(unknownOption).toMatchObject({ code: 2, stdout: '' });
    expect(unknownOption.stderr).toContain("unknown option '--bogus'");
    expect(unknownOption.stderr).toContain('Usage: nestjs-channels runworker');
    expect(missingValue.code).toBe(2);
    expect(missingValue.stderr).toContain("'-p, --port <value>' argument missing");
    // -v is runworker's --verbose, not a top-level --version.
    expect(topLevelV.code).toBe(2);
    expect(topLevelV.stderr).toContain("unknown option '-v'");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage:');
  }, 30_000);

  it('prints help and its version on stdout and exits 0', async () => {
    const [help, h, helpCommand, server, serverH, worker, version] = await Promise.all([
      run(['--help']),
      run(['-h']),
      run(['help']),
      run(['runserver', '--help']),
      run(['help', 'runserver']),
      run(['runworker', '--help', '--bogus']),
      run(['--version']),
    ]);
    for (const result of [help, h, helpCommand, server, serverH, worker, version]) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
    }
    expect(h.stdout).toBe(help.stdout);
    expect(helpCommand.stdout).toBe(help.stdout);
    expect(help.stdout).toContain('runserver');
    expect(help.stdout).toContain('runworker');
    expect(help.stdout).toContain('--version');
    expect(serverH.stdout).toBe(server.stdout);
    // Every option, with its meaning, default and an example.
    for (const option of ['--bind', '--port', '--noworker', '--http-timeout', '--ws-protocol', '--proxy-headers']) {
      expect(server.stdout).toMatch(new RegExp(`${option}\\b.*\\n\\s+default: .+; e\\.g\\. `));
    }
    expect(server.stdout).toMatch(/--root-path <prefix>.*\n\s+default: .+; e\.g\. --root-path \/app/);
    expect(server.stdout).toContain('createApp');
    expect(server.stdout).toContain('runServer(AppModule, { port: 8000, createApp })');
    for (const option of ['--only-channels', '--exclude-channels', '--layer', '--controllers', '--verbose']) {
      expect(worker.stdout).toMatch(new RegExp(`${option}\\b.*\\n\\s+default: .+; e\\.g\\. `));
    }
    const { version: packageVersion } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version.stdout).toBe(`${packageVersion}\n`);
    expect(help.stdout).toContain(`nestjs-channels ${packageVersion}`);
  }, 30_000);

  it('says why a module cannot be loaded or run', async () => {
    const [missing, withoutChannels, serverWithoutChannels, noExport, noRoutes, allFiltered] = await Promise.all([
      run(['runworker', 'sample/nope.ts']),
      run(['runworker', fixture('without-channels.module.ts')]),
      run(['runserver', fixture('without-channels.module.ts'), '-p', '0']),
      run(['runworker', `${fixture('factory-app.module.ts')}#Main`]),
      run(['runworker', fixture('no-routes.module.ts')]),
      run(['runworker', fixture('factory-app.module.ts'), '--only-channels', 'nothing.*']),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`Cannot load sample/nope.ts: no such file: ${join(root, 'sample', 'nope.ts')}`);
    for (const result of [withoutChannels, serverWithoutChannels]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('AppModule does not import ChannelsModule');
      expect(result.stderr).toContain('add ChannelsModule.forRoot()');
      expect(result.stderr).not.toContain('could not find');
    }
    // A file without the export (say, main.ts): what it does export, and where the module is.
    expect(noExport.code).toBe(1);
    expect(noExport.stderr).toContain('has no export "Main"');
    expect(noExport.stderr).toContain('its exports: AppModule, Pings, StatusController, createApp');
    expect(noExport.stderr).toContain(`as ${fixture('factory-app.module.ts')}#AppModule`);
    expect(noRoutes.code).toBe(1);
    expect(noRoutes.stderr).toContain(
      `no consumers to run: AppModule (${fixture('no-routes.module.ts')}) routes no channels on layer "default"`,
    );
    expect(noRoutes.stdout).not.toContain('worker listening on');
    expect(allFiltered.code).toBe(1);
    expect(allFiltered.stderr).toContain(
      `no consumers to run: AppModule (${fixture('factory-app.module.ts')}) routes on layer "default": ` +
        `cli-fixture.ping, and --only-channels 'nothing.*' leave(s) none of them`,
    );
  }, 30_000);

  it('says how to run a TypeScript module file when Node runs it without a loader', async () => {
    // The CLI as a plain JavaScript file (as installed), run by node without tsx.
    const cli = join(root, 'node_modules', '.cache', `cli-spec-${process.pid}`, 'main.js');
    buildSync({
      entryPoints: [join(root, 'src/cli/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      outfile: cli,
      logLevel: 'error',
    });
    try {
      const result = await run(['runworker', fixture('no-routes.module.ts')], cli);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('it is TypeScript, and Node is running it without a TypeScript loader');
      expect(result.stderr).toContain(
        `npx tsx node_modules/.bin/nestjs-channels runworker ${fixture('no-routes.module.ts')}`,
      );
      expect(result.stderr).toContain('node --import tsx node_modules/.bin/nestjs-channels runworker');
      expect(result.stderr).toContain('the compiled module file, e.g. dist/');
      expect(result.stderr).not.toContain('    at ');
    } finally {
      rmSync(join(cli, '..'), { recursive: true, force: true });
    }
  }, 30_000);

  it("serves the app the module file's createApp builds, in the runserver role", async () => {
    const port = await freePort();
    const server = await startCli(
      ['runserver', fixture('factory-app.module.ts'), '-p', String(port), '--noworker'],
      {},
      /serving on/,
    );
    expect(server.output()).toContain(`(app built by createApp of ${fixture('factory-app.module.ts')})`);
    // The factory's global prefix and middleware…
    const response = await fetch(`http://127.0.0.1:${port}/api/status`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-built-by')).toBe('createApp');
    // …over the module runserver gave it: --noworker left this process without workers.
    expect(await response.json()).toEqual({ workers: 0 });
    expect((await fetch(`http://127.0.0.1:${port}/status`)).status).toBe(404);

    // A factory that builds the app from its own module would drop the role: refused.
    const ignoring = await run(['runserver', fixture('factory-ignores-module.module.ts'), '-p', '0']);
    expect(ignoring.code).toBe(1);
    expect(ignoring.stderr).toContain('createApp must build the app from the module it is given');
  }, 30_000);

  /** The sample's environment on each layer (its sessions and history live in Redis on all but memory). */
  async function sampleEnv(layer: 'redis' | 'rabbitmq' | 'ipc'): Promise<Record<string, string>> {
    const env = { CHANNELS_LAYER: layer, REDIS_URL: redis.url, CHANNELS_PREFIX: uniquePrefix('cli') };
    if (layer === 'rabbitmq') {
      rabbitmq ??= await findOrStartRabbitmq();
      return { ...env, RABBITMQ_URL: rabbitmq.url, CHANNELS_PREFIX: uniqueRabbitPrefix('cli') };
    }
    if (layer === 'ipc') {
      const folder = mkdtempSync(join(tmpdir(), 'channels-cli-ipc-'));
      ipcFolders.push(folder);
      return { ...env, CHANNELS_IPC_PATH: join(folder, 'layer') };
    }
    return env;
  }

  it.each(['redis', 'rabbitmq', 'ipc'] as const)(
    'runs the sample as an interface server and a separate worker on the %s layer',
    async (layer) => {
      const port = await freePort();
      const env = await sampleEnv(layer);
      await startCli(['runserver', 'sample/app.module.ts', '-p', String(port), '--noworker'], env, /serving on/);
      const worker = await startCli(['runworker', 'sample/app.module.ts', '-v'], env, /worker listening on/);
      expect(worker.output()).toContain('websocket.connect');
      // The sample's chat checks Origin: these sockets come as from the sample's own page.
      const origin = `http://127.0.0.1:${port}`;
      const join = (): Promise<WebSocket> =>
        openSocket(`ws://127.0.0.1:${port}/chat/cli/?username=ann`, [], browserLike(origin));
      const ann = await join();
      const bob = await join();
      const heard = new Promise<string>((resolve) => bob.once('message', (data) => resolve(String(data))));
      ann.send(`through ${layer}`);
      expect(JSON.parse(await heard)).toEqual({ text: `through ${layer}`, username: 'ann' });
      // -v logs each consumer the worker ran (the line may reach us after the chat message does).
      for (let i = 0; i < 50 && !/websocket\.receive → ChatConsumer \(/.test(worker.output()); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(worker.output()).toMatch(/websocket\.receive → ChatConsumer \(/);
      ann.close();
      bob.close();

      // Logged in over HTTP at the interface server; the consumers in the worker process read that
      // HTTP session from Redis on connect, and the user from the channel session on every frame.
      const privateRoom = `ws://127.0.0.1:${port}/private/cli/`;
      await expect(openSocket(privateRoom, [], browserLike(origin))).rejects.toThrow('refused with 403');
      const alice = await openSocket(privateRoom, [], browserLike(origin, await login(origin, 'alice', 'wonderland')));
      const bobby = await openSocket(privateRoom, [], browserLike(origin, await login(origin, 'bob', 'builder')));
      const [aliceHears, bobHears] = [inbox(alice), inbox(bobby)];
      alice.send('from alice');
      expect(JSON.parse(await bobHears.next())).toEqual({ text: 'from alice', username: 'alice' });
      bobby.send('from bob');
      expect(JSON.parse(await aliceHears.next())).toEqual({ text: 'from alice', username: 'alice' });
      expect(JSON.parse(await aliceHears.next())).toEqual({ text: 'from bob', username: 'bob' });
      for (let i = 0; i < 50 && !/websocket\.receive → PrivateChatConsumer \(/.test(worker.output()); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(worker.output()).toMatch(/websocket\.connect → PrivateChatConsumer \(/);
      expect(worker.output()).toMatch(/websocket\.receive → PrivateChatConsumer \(/);
      alice.close();
      bobby.close();
    },
    60_000,
  );

  it('keeps sockets open while a worker is killed and replaced', async () => {
    const port = await freePort();
    const env = { CHANNELS_LAYER: 'redis', REDIS_URL: redis.url, CHANNELS_PREFIX: uniquePrefix('restart') };
    await startCli(['runserver', 'sample/app.module.ts', '-p', String(port), '--noworker'], env, /serving on/);
    const first = await startCli(['runworker', 'sample/app.module.ts'], env, /worker listening on/);
    const join = (): Promise<WebSocket> =>
      openSocket(`ws://127.0.0.1:${port}/chat/restart/?username=ann`, [], browserLike(`http://127.0.0.1:${port}`));
    const ann = await join();
    const bob = await join();
    const say = async (text: string): Promise<unknown> => {
      const heard = new Promise<string>((resolve) => bob.once('message', (data) => resolve(String(data))));
      ann.send(text);
      return JSON.parse(await heard);
    };
    expect(await say('before')).toMatchObject({ text: 'before' });
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    // While no worker runs, the socket stays open; the frame waits on the channel.
    const late = say('while down');
    await startCli(['runworker', 'sample/app.module.ts'], env, /worker listening on/);
    expect(await late).toMatchObject({ text: 'while down' });
    expect(await say('after')).toMatchObject({ text: 'after' });
    expect([ann.readyState, bob.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
    ann.close();
    bob.close();
  }, 60_000);
});

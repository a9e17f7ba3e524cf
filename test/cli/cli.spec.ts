import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { killAllCli, startCli } from '../support/cli-process';
import { openSocket } from '../support/websocket';
import { browserLike, inbox, login } from '../sample/sample-client';
import { freePort, findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';

const root = join(__dirname, '..', '..');
function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('the nestjs-channels CLI', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await findOrStartRedis();
  });
  afterAll(async () => {
    killAllCli();
    await redis.stop();
  });

  it('explains its usage on a bad command line', async () => {
    const result = await run(['nonsense']);
    expect(result.code).toBe(2);
    expect(result.output).toContain('Usage:');
    expect((await run(['runserver', 'sample/app.module.ts', '-p', 'x'])).output).toContain('bad port');
    expect((await run(['runworker', 'sample/nope.ts'])).output).toContain('Cannot load');
  }, 30_000);

  it('runs the sample as an interface server and a separate worker over Redis', async () => {
    const port = await freePort();
    const env = { CHANNELS_LAYER: 'redis', REDIS_URL: redis.url, CHANNELS_PREFIX: uniquePrefix('cli') };
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
    ann.send('through redis');
    expect(JSON.parse(await heard)).toEqual({ text: 'through redis', username: 'ann' });
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
  }, 60_000);

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

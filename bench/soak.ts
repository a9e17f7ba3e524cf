// `npm run soak [-- --minutes 10 --users 40]`: the sample's chat on Redis (an interface process and a
// worker process, started with the CLI) under a steady churn of users who connect, chat and leave.
// It prints RSS and Redis figures every 10 s and, at the end, checks that memory stayed flat and that
// no per-connection key outlived the clients once expiry passed. Not part of CI: run it on demand.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import WebSocket from 'ws';
import { freePort, startRedisServer } from '../test/support/redis-server';

const ROOT = join(__dirname, '..');
const PREFIX = 'soak:';
/** The layer's message expiry (the sample keeps the default): how long to wait for leftovers to expire. */
const EXPIRY_SECONDS = 60;
const SAMPLE_EVERY_MS = 10_000;
/** Keys that are not per connection: the app's chat history, and each process's liveness marker and statistics. */
const LONG_LIVED = [/^soak:history:/, /^soak:alive:/, /^soak:stats:/];

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at === -1 ? fallback : Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 30 s:\n${output}`)), 30_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${String(code)}:\n${output}`)));
  });
}

interface Counters {
  connects: number;
  sent: number;
  received: number;
  errors: number;
}

/** One user, over and over: connect, say 5 lines 200 ms apart, leave. */
async function user(url: string, origin: string, id: number, until: () => boolean, counters: Counters): Promise<void> {
  for (let round = 0; !until(); round++) {
    try {
      const socket = new WebSocket(`${url}/chat/room${id % 10}/?username=u${id}`, { origin });
      socket.on('message', () => counters.received++);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      counters.connects++;
      for (let i = 0; i < 5 && !until(); i++) {
        socket.send(`line ${round}.${i}`);
        counters.sent++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
    } catch {
      counters.errors++;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function main(): Promise<number> {
  const minutes = argument('minutes', 10);
  const users = argument('users', 40);
  const redis = await startRedisServer();
  const admin = new Redis(redis.url);
  const port = await freePort();
  const env = { CHANNELS_LAYER: 'redis', REDIS_URL: redis.url, CHANNELS_PREFIX: PREFIX };
  const children: ChildProcess[] = [];
  try {
    children.push(
      await startCli(['runserver', 'sample/app.module.ts', '-p', String(port), '--noworker'], env, /serving on/),
    );
    children.push(await startCli(['runworker', 'sample/app.module.ts'], env, /worker listening on/));
    const [server, worker] = children.map((child) => child.pid!);
    const counters: Counters = { connects: 0, sent: 0, received: 0, errors: 0 };
    const endAt = Date.now() + minutes * 60_000;
    const running = (): boolean => Date.now() >= endAt;
    const url = `ws://127.0.0.1:${port}`;
    const crowd = Array.from({ length: users }, (_, id) =>
      user(url, `http://127.0.0.1:${port}`, id, running, counters),
    );
    const samples: Array<{ at: number; server: number; worker: number }> = [];
    console.log('   s  server MB  worker MB  redis MB   keys  connects     sent  received  errors');
    const started = Date.now();
    while (!running()) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(SAMPLE_EVERY_MS, Math.max(0, endAt - Date.now()))));
      const memory = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1] ?? 0) / 1048576;
      const sample = { at: (Date.now() - started) / 1000, server: rssMb(server), worker: rssMb(worker) };
      samples.push(sample);
      console.log(
        `${sample.at.toFixed(0).padStart(4)}  ${sample.server.toFixed(1).padStart(9)}  ${sample.worker.toFixed(1).padStart(9)}` +
          `  ${memory.toFixed(1).padStart(8)}  ${String(await admin.dbsize()).padStart(5)}  ${String(counters.connects).padStart(8)}` +
          `  ${String(counters.sent).padStart(7)}  ${String(counters.received).padStart(8)}  ${String(counters.errors).padStart(6)}`,
      );
    }
    await Promise.all(crowd);
    console.log(`clients gone; waiting ${EXPIRY_SECONDS + 5} s for expiry…`);
    await new Promise((resolve) => setTimeout(resolve, (EXPIRY_SECONDS + 5) * 1000));
    const leftovers = (await admin.keys(`${PREFIX}*`)).filter(
      (key) => !LONG_LIVED.some((pattern) => pattern.test(key)),
    );

    // Flat: the last third's mean RSS within 5% of the middle third's (the first third is warm-up).
    const third = Math.max(1, Math.floor(samples.length / 3));
    const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    const checks: Array<[string, boolean, string]> = [];
    for (const name of ['server', 'worker'] as const) {
      const middle = mean(samples.slice(third, 2 * third).map((s) => s[name]));
      const last = mean(samples.slice(-third).map((s) => s[name]));
      const growth = (last - middle) / middle;
      checks.push([
        `${name} RSS flat within 5%`,
        growth <= 0.05,
        `${middle.toFixed(1)} → ${last.toFixed(1)} MB (${(growth * 100).toFixed(1)}%)`,
      ]);
    }
    checks.push([
      'no per-connection Redis keys left',
      leftovers.length === 0,
      leftovers.slice(0, 10).join(', ') || 'none',
    ]);
    checks.push([
      'no client errors',
      counters.errors === 0,
      `${counters.errors} errors in ${counters.connects} connects`,
    ]);
    for (const [what, ok, detail] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}: ${detail}`);
    return checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    admin.disconnect();
    await redis.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

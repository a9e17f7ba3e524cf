import Redis from 'ioredis';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis the tests can use: its URL, and how to stop it if the tests started it. */
export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A redis-server process owned by the test: it can be stopped and started again on the same port. */
export interface SpawnedRedis extends TestRedis {
  start(): Promise<void>;
  kill(): Promise<void>;
}

/** A port free just now on 127.0.0.1 (whoever asked listens on it next); used by the tests and the bench. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Sends PING over a raw socket; true when a Redis answers PONG within `timeoutMs`. */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function assertRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'No Redis answered and `redis-server` is not installed, so the Redis tests cannot run. ' +
        'Install it (e.g. `apt-get install redis-server`) or set REDIS_URL to a Redis you can use.',
    );
  }
}

/** Starts a throwaway redis-server (no persistence) on a spare port. */
export async function startRedisServer(): Promise<SpawnedRedis> {
  assertRedisServerInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-channels-redis-'));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (await pingRedis('127.0.0.1', port, 200)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill: () => stopWith('SIGKILL'),
    stop: async () => {
      await stopWith('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Redis for a test file: REDIS_URL if set, else the local one on 6379 if it answers, else
 * a redis-server started on a spare port. Never skips: no Redis is a failure.
 */
export async function findOrStartRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) {
    const url = new URL(process.env.REDIS_URL);
    return { url: process.env.REDIS_URL, port: Number(url.port || 6379), stop: async () => undefined };
  }
  if (await pingRedis('127.0.0.1', 6379)) {
    return { url: 'redis://127.0.0.1:6379', port: 6379, stop: async () => undefined };
  }
  return startRedisServer();
}

/** A key prefix no other test run uses, so tests can share one Redis. */
export function uniquePrefix(name: string): string {
  return `test:${name}:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
}

/** The redis-server's pid, from INFO (SIGSTOP/SIGCONT stall it without closing any connection). */
export async function serverPid(url: string): Promise<number> {
  const direct = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await direct.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1]);
  } finally {
    direct.disconnect();
  }
}

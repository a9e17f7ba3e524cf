import { connect as amqpConnect } from 'amqplib';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server';

/** A RabbitMQ the tests can use: its URL, and how to stop it if the tests started it. */
export interface TestRabbitmq {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A broker node owned by the test (its own node name, ports and data dir): it can be stopped and started again. */
export interface SpawnedRabbitmq extends TestRabbitmq {
  /** Starts the node again on the same port and data dir (non-durable queues are gone: a restart). */
  start(): Promise<void>;
  /** Stops the node (SIGTERM, a clean shutdown) without removing its data dir. */
  halt(): Promise<void>;
}

export const DEFAULT_RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Sends the AMQP protocol header; true when a broker answers (with its Connection.Start frame). */
export function pingRabbitmq(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    // A method frame (type 1) on channel 0: Connection.Start.
    socket.once('data', (data) => done(data[0] === 1));
  });
}

/** The broker's own start script (the /usr/sbin wrapper insists on switching to the rabbitmq user). */
function serverScript(): string {
  for (const candidate of ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server']) {
    if (existsSync(candidate)) return candidate;
  }
  const probe = spawnSync('sh', ['-c', 'command -v rabbitmq-server'], { encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim()) return probe.stdout.trim();
  throw new Error(
    'No RabbitMQ answered and `rabbitmq-server` is not installed, so the RabbitMQ tests cannot run. ' +
      'Install it (e.g. `apt-get install rabbitmq-server`) or set RABBITMQ_URL to a broker you can use.',
  );
}

/**
 * Starts a throwaway broker node on spare ports with its own node name, data and log dirs and
 * Erlang cookie (HOME), so the machine's shared broker is never touched. Takes a few seconds.
 */
export async function startRabbitmqServer(): Promise<SpawnedRabbitmq> {
  const script = serverScript();
  const port = await freePort();
  const distPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-channels-rabbitmq-'));
  writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users = none\n');
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const node = `nestjs-channels-${process.pid}-${port}@localhost`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
  };
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const started = spawn(script, [], { env, stdio: 'ignore', detached: true });
    child = started;
    for (let i = 0; i < 240; i++) {
      if (started.exitCode !== null) break;
      if (await pingRabbitmq('127.0.0.1', port, 300)) return;
      await new Promise((resolve) => setTimeout(resolve, 125));
    }
    throw new Error(`rabbitmq-server (${node}) did not start on port ${port}; see ${join(dir, 'log')}`);
  };
  const halt = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      // The whole process group: the start script and the Erlang VM under it.
      process.kill(-running.pid!, 'SIGTERM');
    });
    // The VM may outlive the script by a moment: wait until the port is free.
    for (let i = 0; i < 100 && (await pingRabbitmq('127.0.0.1', port, 200)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    start,
    halt,
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The broker for a test file: RABBITMQ_URL if set, else the local one on 5672 if it answers,
 * else a node started on a spare port. Never skips (also not with CI=true): no broker is a failure.
 */
export async function findOrStartRabbitmq(): Promise<TestRabbitmq> {
  if (process.env.RABBITMQ_URL) {
    const url = new URL(process.env.RABBITMQ_URL);
    if (!(await pingRabbitmq(url.hostname, Number(url.port || 5672)))) {
      throw new Error(`RABBITMQ_URL is set to ${process.env.RABBITMQ_URL} but no broker answers there`);
    }
    return { url: process.env.RABBITMQ_URL, port: Number(url.port || 5672), stop: async () => undefined };
  }
  if (await pingRabbitmq('127.0.0.1', 5672)) {
    return { url: DEFAULT_RABBITMQ_URL, port: 5672, stop: async () => undefined };
  }
  return startRabbitmqServer();
}

const usedPrefixes = new Set<string>();

/** A layer prefix no other test run uses, so tests can share one broker; `cleanUpRabbitPrefixes` deletes what it left. */
export function uniqueRabbitPrefix(name: string): string {
  const prefix = `test.${name}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  usedPrefixes.add(prefix);
  return prefix;
}

/** After a test file's layers are closed: deletes what every prefix it made left on the shared broker. */
export async function cleanUpRabbitPrefixes(url: string): Promise<void> {
  const prefixes = [...usedPrefixes];
  usedPrefixes.clear();
  await deleteRabbitPrefixes(url, prefixes);
}

/**
 * Deletes what a layer prefix leaves on the broker once its layers are closed: its durable group
 * stream (a stream has no `x-expires`; a real app keeps its one stream), its dead-letter queue and
 * exchange. Channel and anchor queues expire by themselves. Tests use a prefix each, so they clean up.
 */
export async function deleteRabbitPrefixes(url: string, prefixes: Iterable<string>): Promise<void> {
  const model = await amqpConnect(url);
  try {
    for (const prefix of prefixes) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      try {
        await channel.deleteQueue(`${prefix}.groups`);
        await channel.deleteQueue(`${prefix}.expired`);
        await channel.deleteExchange(`${prefix}.dlx`);
        await channel.close();
      } catch {
        // gone already (or never made): the channel closed, the next prefix gets a new one
      }
    }
  } finally {
    await model.close();
  }
}

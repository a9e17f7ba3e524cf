// IpcChannelLayer beside the in-memory and Redis layers: closed-loop send → receive at 1, 16 and
// 256 in flight (runRound of layer-send-receive.ts), in two shapes:
// - one process: the bench sends on and receives from the same layer instance (as the `layers`
//   section's rows do);
// - relay: the bench sends on `bench.in`, a second process (bench/ipc-relay.ts) receives it and
//   sends it on to `bench.out`, where the bench receives it: two hops between processes, the
//   honest shape for a layer whose point is crossing processes. The Redis layer runs the same relay.
// Also measures the CPU a process blocked in an IPC receive uses while nothing is sent (10 s).
//
// Run alone: node --require ./bench/compiled-library.cjs --import tsx bench/layer-ipc.ts
// (after `npm run build`; REDIS_URL, else a Redis on 127.0.0.1:6379 or a redis-server started for it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryChannelLayer, IpcChannelLayer, RedisChannelLayer, type ChannelLayer } from '../src';
import { findOrStartRedis } from '../test/support/redis-server';
import type { SectionResult } from './bench-section';
import { startBenchChild, type BenchChild } from './child-process';
import { cpu, integer, ms, table } from './format';
import { runRound } from './layer-send-receive';
import { addCpuTime, Samples, type CpuTime } from './stats';
import type { Endpoint } from './targets';

const CAPACITY = 100_000;
const IN_FLIGHT = [1, 16, 256] as const;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 1) * 1000;
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const RELAY = join(__dirname, 'ipc-relay.ts');

/** One row of the table: how to open its endpoint, and the relay process it needs, if any. */
export interface IpcBenchTarget {
  name: string;
  open(): Promise<Endpoint>;
}

function sameLayer(layer: ChannelLayer, channel: string): Endpoint {
  return {
    send: (message) => layer.send(channel, message),
    receive: async (timeout) => (await layer.receive([channel], { block: true, timeout }))[1],
    close: () => layer.close(),
  };
}

/** Sends on `bench.in`, receives from `bench.out`; a relay process carries messages between them. */
async function throughRelay(layer: ChannelLayer, kind: 'ipc' | 'redis', where: string): Promise<Endpoint> {
  const relay = await startBenchChild(RELAY, [kind, where]);
  return {
    send: (message) => layer.send('bench.in', message),
    receive: async (timeout) => (await layer.receive(['bench.out'], { block: true, timeout }))[1],
    close: async () => {
      await relay.stop();
      await layer.close();
    },
  };
}

/** The IPC layer on a fresh store in `folder`, the bench's two shapes. */
export function ipcTargets(folder: string): IpcBenchTarget[] {
  return [
    {
      name: 'ipc layer, one process',
      open: async () =>
        sameLayer(new IpcChannelLayer({ path: join(folder, 'same.db'), capacity: CAPACITY }), 'bench.echo'),
    },
    {
      name: 'ipc layer, relay process',
      open: async () => {
        const path = join(folder, 'relay.db');
        const layer = new IpcChannelLayer({ path, capacity: CAPACITY });
        await layer.flush!();
        return throughRelay(layer, 'ipc', path);
      },
    },
  ];
}

function redisTargets(url: string): IpcBenchTarget[] {
  const layer = (): RedisChannelLayer => new RedisChannelLayer({ hosts: [url], prefix: 'bench:', capacity: CAPACITY });
  return [
    {
      name: 'redis layer, one process',
      open: async () => {
        const made = layer();
        await made.flush();
        return sameLayer(made, 'bench.echo');
      },
    },
    {
      name: 'redis layer, relay process',
      open: async () => {
        const made = layer();
        await made.flush();
        return throughRelay(made, 'redis', url);
      },
    },
  ];
}

/** CPU use of a relay process blocked in an IPC receive with nothing sent, as % of one core. */
export async function idleCpuPercent(path: string, seconds: number): Promise<number> {
  const relay: BenchChild = await startBenchChild(RELAY, ['ipc', path]);
  try {
    const usage = async (): Promise<number> => {
      const reply = (await relay.request({ type: 'cpu' })) as { usage: NodeJS.CpuUsage };
      return (reply.usage.user + reply.usage.system) / 1000;
    };
    // Past start-up before measuring: module loading, compilation, and the garbage collection V8's
    // memory reducer runs some 8–10 s after a process goes idle (a one-off of ~70 ms).
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const before = await usage();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = await usage();
    return ((after - before) / (performance.now() - started)) * 100;
  } finally {
    await relay.stop();
  }
}

interface Row {
  target: IpcBenchTarget;
  inFlight: number;
  endpoint?: Endpoint;
  latencies: Samples;
  cpu?: CpuTime;
  messages: number;
  error?: string;
}

/** The `ipc` section of `npm run bench` (bench/sections.ts), or run alone (below). */
export async function runIpcBench(redisUrl: string | undefined): Promise<SectionResult> {
  const folder = mkdtempSync(join(tmpdir(), 'bench-ipc-'));
  try {
    const targets: IpcBenchTarget[] = [
      {
        name: 'in-memory, one process',
        open: async () => sameLayer(new InMemoryChannelLayer({ capacity: CAPACITY }), 'bench.echo'),
      },
      ...ipcTargets(folder),
      ...(redisUrl ? redisTargets(redisUrl) : []),
    ];
    const lines: string[] = [];
    const idle = await idleCpuPercent(join(folder, 'idle.db'), IDLE_SECONDS);
    lines.push(
      `A process blocked in an IPC receive, nothing sent for ${IDLE_SECONDS} s: ${idle.toFixed(3)}% of one core`,
    );
    const rows: Row[] = [];
    for (const inFlight of IN_FLIGHT) {
      const level = targets.map((target): Row => ({ target, inFlight, latencies: new Samples(), messages: 0 }));
      for (let round = 0; round < ROUNDS; round++) {
        for (const row of level) {
          if (row.error) continue;
          try {
            row.endpoint ??= await row.target.open();
            const settings = {
              inFlight,
              warmupMs: round === 0 ? 500 : 200,
              measureMs: MEASURE_MS,
              receiveTimeoutSeconds: 5,
            };
            const result = await runRound(row.endpoint, settings, row.latencies);
            row.messages += result.messages;
            row.cpu = row.cpu ? addCpuTime(row.cpu, result.cpu) : result.cpu;
          } catch (error) {
            row.error = (error as Error).message;
          }
        }
      }
      for (const row of level) await row.endpoint?.close().catch(() => undefined);
      rows.push(...level);
    }
    const header = ['target', 'in flight', 'msgs/s', 'p50 ms', 'p99 ms', 'cpu (bench process)'];
    const body = rows.map((row) => {
      if (row.error || !row.cpu) return [row.target.name, String(row.inFlight), `failed: ${row.error}`, '', '', ''];
      const summary = row.latencies.summary();
      return [
        row.target.name,
        String(row.inFlight),
        integer(row.messages / (row.cpu.wallMs / 1000)),
        ms(summary.p50),
        ms(summary.p99),
        cpu((row.cpu.clientMs / row.cpu.wallMs) * 100),
      ];
    });
    lines.push(table(header, body, 1));
    const figures = rows.map((row) => {
      const summary = row.latencies.summary();
      return {
        target: row.target.name,
        inFlight: row.inFlight,
        ...(row.error || !row.cpu
          ? { error: row.error ?? 'no round ran' }
          : {
              messagesPerSecond: row.messages / (row.cpu.wallMs / 1000),
              latencyMs: summary,
              cpuPercent: (row.cpu.clientMs / row.cpu.wallMs) * 100,
            }),
      };
    });
    return {
      text: lines.join('\n'),
      json: { idleCpuPercent: idle, idleSeconds: IDLE_SECONDS, rows: figures },
      failed: rows.filter((row) => row.error).length,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (require.main === module) {
  void (async () => {
    const redis = await findOrStartRedis().catch(() => undefined);
    try {
      process.stdout.write(`IpcChannelLayer bench, Node ${process.version}\n`);
      const { text, failed } = await runIpcBench(redis?.url);
      process.stdout.write(`${text}\n`);
      if (failed > 0) process.exitCode = 1;
    } finally {
      await redis?.stop();
    }
  })().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
}

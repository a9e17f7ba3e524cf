// Consumer dispatch: each message goes to a consumer run by a worker, and its reply is what is received.
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { ChannelLayerRegistry, RedisChannelLayer, type ChannelLayer, type ChannelMessage } from '../src';
import {
  DISPATCH_CAPACITY,
  DISPATCH_CHANNEL,
  DISPATCH_PREFIX,
  REPLY_CHANNEL,
  REPLY_RECEIVE,
  dispatchAppModule,
} from './dispatch-app';
import { startBenchChild } from './child-process';
import { remoteLoad } from './remote-rounds';
import { closeOnFailure, type Endpoint, type Target } from './targets';
import type { WorkerProcess } from './worker-process';

/** Seconds to wait for the reply to the message sent when a target opens, to see the worker consume. */
const PROBE_TIMEOUT_SECONDS = 10;
const PROBE_N = -1;

function numberOf(message: ChannelMessage, key: string): number {
  const value = message[key];
  if (typeof value !== 'number') throw new Error(`expected a number at ${key}: ${JSON.stringify(message)}`);
  return value;
}

/** Sends one message through the consumer and waits for its reply: the worker runs, and answers. */
async function probe(layer: ChannelLayer): Promise<void> {
  await layer.send(DISPATCH_CHANNEL, { n: PROBE_N, reply_channel: REPLY_CHANNEL });
  const [, reply] = await layer.receive([REPLY_RECEIVE], { block: true, timeout: PROBE_TIMEOUT_SECONDS });
  if (!reply) throw new Error(`the consumer did not reply within ${PROBE_TIMEOUT_SECONDS} s`);
  if (reply.n !== PROBE_N) throw new Error(`unexpected reply to the probe: ${JSON.stringify(reply)}`);
}

/**
 * The load generator's side: `send` puts `{ n, reply_channel }` on the consumer's channel and
 * keeps the message's `sent_at` here; `receive` takes a reply `{ n }` and gives it back with its
 * `sent_at`, so latency is the whole round trip. A reply to no message in flight fails the round.
 */
function dispatchEndpoint(layer: ChannelLayer, close: () => Promise<void>, workerCpuMs?: () => number): Endpoint {
  const sentAt = new Map<number, number>();
  return {
    send: (message) => {
      const n = numberOf(message, 'n');
      sentAt.set(n, numberOf(message, 'sent_at'));
      return layer.send(DISPATCH_CHANNEL, { n, reply_channel: REPLY_CHANNEL });
    },
    receive: async (timeout) => {
      const [, reply] = await layer.receive([REPLY_RECEIVE], { block: true, timeout });
      if (!reply) return null;
      const n = numberOf(reply, 'n');
      const at = sentAt.get(n);
      if (at === undefined) throw new Error(`a reply to no message in flight: ${JSON.stringify(reply)}`);
      sentAt.delete(n);
      return { n, sent_at: at };
    },
    close,
    ...(workerCpuMs ? { workerCpuMs } : {}),
  };
}

/**
 * The in-memory scenario's load generator, run in the helper process (bench/dispatch-in-process.ts):
 * a Nest application context with `ChannelsModule.forRoot()` on the in-memory layer and its
 * in-process worker (default concurrency), and the load generator on the app's layer.
 */
export async function openInMemoryDispatch(): Promise<Endpoint> {
  const module = dispatchAppModule({ backend: 'memory', options: { capacity: DISPATCH_CAPACITY } });
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  const close = (): Promise<void> => app.close();
  const layer = app.get(ChannelLayerRegistry).layer();
  await closeOnFailure(probe(layer), close);
  return dispatchEndpoint(layer, close);
}

/**
 * The in-memory scenario runs in a helper process of its own (one per in-flight level), not in the
 * bench process: running a consumer turns on async_hooks promise hooks for the whole process (the
 * AsyncLocalStorage that holds a consumer's sends) and they stay on, which made every later
 * scenario of the bench slower (in-memory send→receive cost 40-70% more CPU per message after
 * one dispatch round). Its figures are the helper's: the worker and the load generator together.
 */
export function inMemoryDispatchTarget(): Target {
  return {
    layer: 'in-memory',
    channel: DISPATCH_CHANNEL,
    worker: 'in-process',
    open: async () => remoteLoad(await startBenchChild(join('bench', 'dispatch-in-process.ts'))),
  };
}

/**
 * The worker runs in its own process (started once for the whole bench, see worker-process.ts);
 * the load generator sends and receives through a RedisChannelLayer of its own on the same Redis.
 * Redis figures (commands, CPU) count both processes.
 */
export function redisDispatchTarget(url: string, worker: Promise<WorkerProcess>): Target {
  return {
    layer: 'redis layer',
    channel: DISPATCH_CHANNEL,
    worker: 'separate process',
    clientCommands: ['evalsha', 'eval', 'blpop'],
    open: async () => {
      const { cpuMs } = await worker;
      const layer = new RedisChannelLayer({ hosts: [url], prefix: DISPATCH_PREFIX, capacity: DISPATCH_CAPACITY });
      const close = (): Promise<void> => layer.close();
      // Leftovers of a failed round of an earlier level would come back as replies to no message.
      await closeOnFailure(
        layer.flush().then(() => probe(layer)),
        close,
      );
      return dispatchEndpoint(layer, close, cpuMs);
    },
  };
}

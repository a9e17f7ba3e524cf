import Redis from 'ioredis';
import { pack, unpack } from 'msgpackr';
import { InMemoryChannelLayer, RedisChannelLayer, type ChannelLayer, type ChannelMessage } from '../src';
import type { RoundResult, RoundSettings } from './closed-loop-round';

/** One side of a queue under test: sends from the load generator, blocking receives of the worker. */
export interface Endpoint {
  send(message: ChannelMessage): Promise<void>;
  /** Waits up to `timeoutSeconds` for the next message; null when none came. */
  receive(timeoutSeconds: number): Promise<ChannelMessage | null>;
  close(): Promise<void>;
  /** CPU milliseconds the worker process (running the consumers) has used so far, when it is another process. */
  workerCpuMs?(): number;
}

/**
 * A load generator in a helper process: it runs whole rounds there (its loop, its CPU meter) and
 * reports them. For scenarios that must not share the bench process (see dispatch-targets.ts).
 */
export interface RemoteLoad {
  runRound(settings: RoundSettings): Promise<{ round: RoundResult; latencies: Float64Array }>;
  close(): Promise<void>;
}

export type LayerKind = 'in-memory' | 'redis layer' | 'raw ioredis' | 'rabbitmq layer' | 'raw amqplib';

export type WorkerPlacement = 'in-process' | 'separate process';

/** What a scenario measures: a queue implementation and the channel it sends to. */
export interface Target {
  layer: LayerKind;
  /** Channel (or key) messages are sent to. */
  channel: string;
  /** Redis commands the client itself issues per message; absent for targets without Redis. */
  clientCommands?: readonly string[];
  /** Set when messages go through a consumer (consumer dispatch): where its worker runs. */
  worker?: WorkerPlacement;
  open(): Promise<Endpoint | RemoteLoad>;
}

/** Raised well above the in-flight levels so a send never fails with ChannelFull. */
const CAPACITY = 100_000;
const LAYER_PREFIX = 'bench:';

/** A connection that reports failures through rejected commands only (no unhandled `error` events). */
export function connect(url: string): Redis {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  return redis;
}

/** Closes gracefully when connected, else drops the connection (no reconnect timers left behind). */
export async function disconnect(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

/** Awaits a setup step; if it fails, releases what was opened before rethrowing. */
export async function closeOnFailure<T>(step: Promise<T>, close: () => Promise<unknown>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** The `foo!` prefix a process receives `foo!bar` messages on, or the channel itself. */
function receiveName(channel: string): string {
  const bang = channel.indexOf('!');
  return bang === -1 ? channel : channel.slice(0, bang + 1);
}

function layerEndpoint(layer: ChannelLayer, channel: string): Endpoint {
  const from = [receiveName(channel)];
  return {
    send: (message) => layer.send(channel, message),
    receive: async (timeout) => (await layer.receive(from, { block: true, timeout }))[1],
    close: () => layer.close(),
  };
}

export function inMemoryTarget(channel: string): Target {
  return {
    layer: 'in-memory',
    channel,
    open: async () => layerEndpoint(new InMemoryChannelLayer({ capacity: CAPACITY }), channel),
  };
}

export function redisLayerTarget(url: string, channel: string): Target {
  return {
    layer: 'redis layer',
    channel,
    clientCommands: ['evalsha', 'eval', 'blpop'],
    open: async () => {
      const layer = new RedisChannelLayer({ hosts: [url], prefix: LAYER_PREFIX, capacity: CAPACITY });
      await closeOnFailure(layer.flush(), () => layer.close());
      return layerEndpoint(layer, channel);
    },
  };
}

/**
 * The least a Redis list queue can cost: LPUSH on one plain connection, BRPOP on a second one,
 * the message packed with msgpackr. Plain means ioredis defaults, so no auto-pipelining: in
 * this loop a flush never holds more than one command, and deferring each write to
 * setImmediate only adds CPU and latency.
 */
export function rawIoredisTarget(url: string, channel: string): Target {
  return {
    layer: 'raw ioredis',
    channel,
    clientCommands: ['lpush', 'brpop'],
    open: async () => {
      const key = `${LAYER_PREFIX}raw:${channel}`;
      const sender = connect(url);
      const receiver = connect(url);
      const close = async (): Promise<void> => {
        await Promise.all([disconnect(sender), disconnect(receiver)]);
      };
      await closeOnFailure(Promise.all([sender.del(key), receiver.ping()]), close);
      return {
        send: async (message) => void (await sender.lpush(key, pack(message))),
        receive: async (timeout) => {
          const reply = await receiver.brpopBuffer(key, timeout);
          return reply ? (unpack(reply[1]) as ChannelMessage) : null;
        },
        close,
      };
    },
  };
}

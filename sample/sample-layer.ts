import Redis from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelLayerConfig } from '../src';

/** The layers the sample runs on: `CHANNELS_LAYER`. */
export const SAMPLE_LAYERS = ['memory', 'redis', 'rabbitmq', 'ipc'] as const;
export type SampleLayer = (typeof SAMPLE_LAYERS)[number];

/** `CHANNELS_LAYER` (default `memory`); anything else stops the start with the choices. */
export function sampleLayer(env: NodeJS.ProcessEnv = process.env): SampleLayer {
  const layer = env.CHANNELS_LAYER ?? 'memory';
  if (!(SAMPLE_LAYERS as readonly string[]).includes(layer)) {
    throw new Error(`CHANNELS_LAYER must be one of ${SAMPLE_LAYERS.join(', ')}; got "${layer}"`);
  }
  return layer as SampleLayer;
}

/**
 * The Redis that keeps the sample's own shared state (sessions, chat history, the counter), or
 * undefined on the in-memory layer, where one process holds it all. On every other layer the web
 * process and the worker processes must see the same sessions, so they live in Redis (`REDIS_URL`)
 * whichever layer carries the messages, as an app's sessions live in its cache.
 */
export function sharedStateRedisUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return sampleLayer(env) === 'memory' ? undefined : (env.REDIS_URL ?? 'redis://127.0.0.1:6379');
}

/** A client of the shared-state Redis (see sharedStateRedisUrl), or undefined on the in-memory layer. */
export function sharedRedis(env: NodeJS.ProcessEnv = process.env): Redis | undefined {
  const url = sharedStateRedisUrl(env);
  return url === undefined ? undefined : new Redis(url);
}

/** The sample's channel layer, from `CHANNELS_LAYER` and the variables of that layer. */
export function sampleLayerConfig(env: NodeJS.ProcessEnv = process.env): ChannelLayerConfig {
  const prefix = env.CHANNELS_PREFIX ?? 'sample:';
  switch (sampleLayer(env)) {
    case 'memory':
      return { backend: 'memory' };
    case 'redis':
      return { backend: 'redis', options: { hosts: [env.REDIS_URL ?? 'redis://127.0.0.1:6379'], prefix } };
    case 'rabbitmq':
      return {
        backend: 'rabbitmq',
        options: { url: env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672', prefix },
      };
    case 'ipc':
      return { backend: 'ipc', options: { path: env.CHANNELS_IPC_PATH ?? join(tmpdir(), 'nestjs-channels-sample') } };
  }
}

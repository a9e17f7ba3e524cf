import type { ChannelsModuleOptions } from '../src';

/**
 * In-memory layer and an in-process worker by default (one command, nothing to install).
 * `CHANNELS_LAYER=redis` uses Redis (`REDIS_URL`); `CHANNELS_WORKER=off` leaves the consumers to
 * separate worker processes.
 */
export function channelsConfig(env: NodeJS.ProcessEnv = process.env): ChannelsModuleOptions {
  const redis = env.CHANNELS_LAYER === 'redis';
  return {
    layers: {
      default: redis
        ? {
            backend: 'redis',
            options: { hosts: [env.REDIS_URL ?? 'redis://127.0.0.1:6379'], prefix: env.CHANNELS_PREFIX ?? 'sample:' },
          }
        : { backend: 'memory' },
    },
    worker: { enabled: env.CHANNELS_WORKER !== 'off' },
  };
}

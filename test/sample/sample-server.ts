// Starts the sample app for the tests, on the in-memory layer or on Redis.
import type { INestApplication, LogLevel } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../sample/app.module';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';

/** The sample app listening on `port` (0: any free port) of 127.0.0.1. */
export async function startSample(
  port = 0,
  logger: false | LogLevel[] = false,
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.listen(port, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

/**
 * Points the sample (its environment) at `kind`'s layer: Redis found or started, under a prefix of
 * its own. `restore` undoes it and stops a Redis it started.
 */
export async function sampleLayer(
  kind: string,
  name: string,
): Promise<{ redis: TestRedis | undefined; restore(): Promise<void> }> {
  const redis = kind === 'redis' ? await findOrStartRedis() : undefined;
  if (redis) {
    process.env.CHANNELS_LAYER = 'redis';
    process.env.REDIS_URL = redis.url;
    process.env.CHANNELS_PREFIX = uniquePrefix(name);
  }
  return {
    redis,
    async restore() {
      delete process.env.CHANNELS_LAYER;
      delete process.env.REDIS_URL;
      delete process.env.CHANNELS_PREFIX;
      await redis?.stop();
    },
  };
}

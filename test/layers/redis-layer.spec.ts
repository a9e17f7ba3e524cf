import { RedisChannelLayer } from '../../src';
import { findOrStartRedis, uniquePrefix, type TestRedis } from '../support/redis-server';
import { describeLayerContract } from './layer-contract';

let redis: TestRedis;
beforeAll(async () => {
  redis = await findOrStartRedis();
});
afterAll(async () => {
  await redis.stop();
});

describeLayerContract(
  'RedisChannelLayer',
  async (options) => new RedisChannelLayer({ ...options, hosts: [redis.url], prefix: uniquePrefix('contract') }),
);

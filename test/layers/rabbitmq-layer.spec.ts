import { RabbitmqChannelLayer } from '../../src';
import {
  cleanUpRabbitPrefixes,
  findOrStartRabbitmq,
  uniqueRabbitPrefix,
  type TestRabbitmq,
} from '../support/rabbitmq-server';
import { describeLayerContract } from './layer-contract';

jest.setTimeout(30_000);

let broker: TestRabbitmq;
beforeAll(async () => {
  broker = await findOrStartRabbitmq();
}, 60_000);
afterAll(async () => {
  await cleanUpRabbitPrefixes(broker.url);
  await broker.stop();
});

describeLayerContract('RabbitmqChannelLayer', async (options) => {
  const layer = new RabbitmqChannelLayer({ ...options, url: broker.url, prefix: uniqueRabbitPrefix('contract') });
  await layer.waitUntilReady(10_000);
  return layer;
});

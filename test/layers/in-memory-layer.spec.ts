import { InMemoryChannelLayer } from '../../src';
import { describeLayerContract } from './layer-contract';

describeLayerContract('InMemoryChannelLayer', async (options) => new InMemoryChannelLayer(options));

describe('InMemoryChannelLayer queues', () => {
  it('keeps a message sent to a full channel whose messages all expired before any sweep ran', async () => {
    // A long expiry keeps the sweeper away; time is moved on instead of waited for.
    const layer = new InMemoryChannelLayer({ capacity: 2, expiry: 30 });
    const realNow = Date.now;
    try {
      await layer.send('stale', { n: 1 });
      await layer.send('stale', { n: 2 });
      const later = realNow() + 31_000;
      Date.now = () => later;
      await layer.send('stale', { fresh: true });
      expect(await layer.receive(['stale'])).toEqual(['stale', { fresh: true }]);
    } finally {
      Date.now = realNow;
      await layer.close();
    }
  });
});

import { InMemoryChannelLayer } from '../../src';
import { getNextMessage } from '../../src/testing';

describe('getNextMessage', () => {
  const layer = new InMemoryChannelLayer();
  afterAll(() => layer.close());

  it('returns the next message with its channel, or null', async () => {
    await layer.send('reply!abc', { text: 'hi' });
    expect(await getNextMessage(layer, 'reply!')).toEqual({ channel: 'reply!abc', content: { text: 'hi' } });
    expect(await getNextMessage(layer, 'reply!')).toBeNull();
  });

  it('throws with require when nothing arrives, and waits with a timeout', async () => {
    await expect(getNextMessage(layer, 'empty', { require: true })).rejects.toThrow(/Expected a message on channel/);
    setTimeout(() => void layer.send('later', { n: 1 }), 50);
    expect(await getNextMessage(layer, 'later', { timeout: 2, require: true })).toEqual({
      channel: 'later',
      content: { n: 1 },
    });
  });
});

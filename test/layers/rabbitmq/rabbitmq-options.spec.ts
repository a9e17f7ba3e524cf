import { RabbitmqChannelLayer, type RabbitmqChannelLayerOptions } from '../../../src';

describe('RabbitmqChannelLayer options', () => {
  it.each<[string, RabbitmqChannelLayerOptions, RegExp]>([
    ['a URL that does not parse', { url: 'not a url' }, /url must be an AMQP URL/],
    ['a URL of another scheme', { url: 'redis://127.0.0.1:6379' }, /amqp:\/\/ or amqps:\/\//],
    ['an empty prefix', { prefix: '' }, /prefix must be 1 to 100 characters/],
    ['a prefix with a space', { prefix: 'my app' }, /prefix must be/],
    ['a negative outage buffer', { outageBuffer: { maxMessages: -1 } }, /outageBuffer.maxMessages/],
    ['a zero outage age', { outageBuffer: { maxAge: 0 } }, /outageBuffer.maxAge/],
    ['a bad expiry', { expiry: 0 }, /expiry/],
  ])('refuses %s with a TypeError, before connecting', (_what, options, message) => {
    expect(() => new RabbitmqChannelLayer(options)).toThrow(TypeError);
    expect(() => new RabbitmqChannelLayer(options)).toThrow(message);
  });
});

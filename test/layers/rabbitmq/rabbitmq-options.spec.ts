import { Logger } from '@nestjs/common';
import { RabbitmqChannelLayer, type RabbitmqChannelLayerOptions } from '../../../src';
import { assertAmqplibInstalled } from '../../../src/layers/rabbitmq/amqp-link';
import { freePort } from '../../support/redis-server';

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

describe('RabbitmqChannelLayer set-up mistakes', () => {
  it('refuses to start without amqplib installed, naming the install', () => {
    const missing = (id: string): string => {
      throw new Error(`Cannot find module '${id}'`);
    };
    expect(() => assertAmqplibInstalled(missing)).toThrow(
      "RabbitmqChannelLayer needs the amqplib package (npm install amqplib): Cannot find module 'amqplib'",
    );
    expect(() => assertAmqplibInstalled()).not.toThrow();
  });

  it('warns once that the broker is unreachable, naming it, while it retries', async () => {
    const port = await freePort(); // nothing listens there
    const warnings: string[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    const layer = new RabbitmqChannelLayer({ url: `amqp://guest:guest@127.0.0.1:${port}` });
    try {
      await new Promise((resolve) => setTimeout(resolve, 800)); // several attempts with backoff
      const said = warnings.filter((line) => line.includes(`RabbitMQ 127.0.0.1:${port} unreachable`));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain('retrying with backoff');
    } finally {
      warn.mockRestore();
      await layer.close();
    }
  });
});

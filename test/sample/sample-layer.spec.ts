import { sampleLayer, sampleLayerConfig, sharedStateRedisUrl } from '../../sample/sample-layer';

describe("the sample's CHANNELS_LAYER", () => {
  it('defaults to the in-memory layer, with its state in the process', () => {
    expect(sampleLayer({})).toBe('memory');
    expect(sampleLayerConfig({})).toEqual({ backend: 'memory' });
    expect(sharedStateRedisUrl({})).toBeUndefined();
  });

  it('builds each layer from its variables; state shared through Redis on every layer but memory', () => {
    expect(
      sampleLayerConfig({ CHANNELS_LAYER: 'rabbitmq', RABBITMQ_URL: 'amqp://h:5672', CHANNELS_PREFIX: 'p:' }),
    ).toEqual({
      backend: 'rabbitmq',
      options: { url: 'amqp://h:5672', prefix: 'p:' },
    });
    expect(sampleLayerConfig({ CHANNELS_LAYER: 'ipc', CHANNELS_IPC_PATH: '/tmp/x.db' })).toEqual({
      backend: 'ipc',
      options: { path: '/tmp/x.db' },
    });
    expect(sampleLayerConfig({ CHANNELS_LAYER: 'redis' })).toMatchObject({ backend: 'redis' });
    for (const layer of ['redis', 'rabbitmq', 'ipc']) {
      expect(sharedStateRedisUrl({ CHANNELS_LAYER: layer, REDIS_URL: 'redis://r:1' })).toBe('redis://r:1');
    }
  });

  it('refuses an unknown layer at start, naming the choices', () => {
    expect(() => sampleLayer({ CHANNELS_LAYER: 'rabbit' })).toThrow(
      'CHANNELS_LAYER must be one of memory, redis, rabbitmq, ipc; got "rabbit"',
    );
  });
});

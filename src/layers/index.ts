export * from './channel-layer';
export * from './errors';
export type { ChannelMessage, ChannelValue } from './channel-message';
export type { ChannelCapacityOption, ChannelPattern } from './capacity';
export type { ChannelLayerOptions } from './layer-options';
export { InMemoryChannelLayer, type InMemoryChannelLayerOptions } from './memory/in-memory-channel-layer';
export { RedisChannelLayer } from './redis/redis-channel-layer';
export type { OutageBufferOptions, RedisChannelLayerOptions } from './redis/redis-options';
export { DecryptionFailed } from './redis/fernet';

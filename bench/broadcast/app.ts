// The nestjs-channels app of the broadcast scenario: every socket joins group `bc` when it connects
// and leaves it when it closes. The same module runs as interface processes (no worker) and as
// the worker process (runWorker), as an app in production would.
import { Module, type Type } from '@nestjs/common';
import { ChannelsModule, type ChannelLayerConfig } from '../../src';
import { roomConsumers } from '../room-consumers';
import { GROUP } from './protocol';

/** Redis keys of this scenario, apart from the other sections' (`bench:`, `bench-ws:` …). */
export const BROADCAST_PREFIX = 'bench-bc:';
/**
 * Far above anything a run queues (a group send is one entry per interface process, so even the
 * maximum-rate runs keep a handful waiting): a ChannelFull drop here would be a finding, not a limit.
 */
export const BROADCAST_CAPACITY = 1_000_000;

export function broadcastLayer(redisUrl: string): ChannelLayerConfig {
  return { backend: 'redis', options: { hosts: [redisUrl], prefix: BROADCAST_PREFIX, capacity: BROADCAST_CAPACITY } };
}

/** Every socket in group `bc` while it is open (it joins before it is accepted). */
const BroadcastConsumers = roomConsumers(GROUP);

/** The app module; `worker` says whether this process runs the consumers. */
export function broadcastAppModule(redisUrl: string, worker: boolean): Type<unknown> {
  @Module({
    imports: [ChannelsModule.forRoot({ layers: { default: broadcastLayer(redisUrl) }, worker: { enabled: worker } })],
    providers: [BroadcastConsumers],
  })
  class BroadcastAppModule {}
  return BroadcastAppModule;
}

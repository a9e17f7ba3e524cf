// The app the consumer dispatch scenarios run: one trivial consumer that answers on the reply channel.
import 'reflect-metadata';
import { Injectable, Module, type Type } from '@nestjs/common';
import { ChannelsModule, Consumer, type ChannelLayerConfig, type Message } from '../src';

/** Where the load generator sends, the reply channel it names, and the prefix it receives replies on. */
export const DISPATCH_CHANNEL = 'bench.dispatch';
export const REPLY_CHANNEL = 'bench.dispatch.reply!x';
export const REPLY_RECEIVE = 'bench.dispatch.reply!';
/** Raised well above the in-flight levels so neither side's sends fail with ChannelFull. */
export const DISPATCH_CAPACITY = 100_000;
/** Redis keys of the dispatch scenario, apart from those of the layer scenarios (`bench:`). */
export const DISPATCH_PREFIX = 'bench-dispatch:';

@Injectable()
export class DispatchConsumer {
  @Consumer(DISPATCH_CHANNEL)
  async echo(message: Message): Promise<void> {
    await message.replyChannel?.send({ n: message.content.n });
  }
}

/** An app module on one layer (alias `default`) with the consumer; the worker uses default settings. */
export function dispatchAppModule(layer: ChannelLayerConfig): Type<unknown> {
  @Module({ imports: [ChannelsModule.forRoot({ layers: { default: layer } })], providers: [DispatchConsumer] })
  class DispatchAppModule {}
  return DispatchAppModule;
}

import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { GroupsChannelLayer } from '../src';
import { CHANNEL_LAYER, createChannelLayer } from './channel-layer.provider';
import { LayerController } from './layer.controller';

@Module({
  controllers: [LayerController],
  providers: [{ provide: CHANNEL_LAYER, useFactory: () => createChannelLayer() }],
})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(CHANNEL_LAYER) private readonly layer: GroupsChannelLayer) {}

  async onApplicationShutdown(): Promise<void> {
    await this.layer.close();
  }
}

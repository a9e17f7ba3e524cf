import { Inject, Injectable } from '@nestjs/common';
import { Channel } from '../channels/channel';
import { Group } from '../channels/group';
import type { ChannelLayer } from '../layers/channel-layer';
import { ChannelLayerRegistry } from './channel-layer-registry';

/** Channel and Group objects bound to this app's layers: `channels.channel('chat.log').send({...})`. */
@Injectable()
export class ChannelsService {
  constructor(@Inject(ChannelLayerRegistry) private readonly registry: ChannelLayerRegistry) {}

  channel(name: string, alias = 'default'): Channel {
    return new Channel(name, this.registry.layer(alias));
  }

  group(name: string, alias = 'default'): Group {
    return new Group(name, this.registry.layer(alias));
  }

  layer(alias = 'default'): ChannelLayer {
    return this.registry.layer(alias);
  }
}

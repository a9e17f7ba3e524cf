import { Inject, Injectable } from '@nestjs/common';
import { Channel } from '../channels/channel';
import { Group } from '../channels/group';
import type { ChannelLayer } from '../layers/channel-layer';
import { ChannelLayerRegistry } from './channel-layer-registry';
import { userGroupName } from './user-group';

/** The close code `closeUserSockets` sends by default: 4003, "forbidden", like HTTP's 403. */
export const USER_SOCKETS_CLOSE_CODE = 4003;

export interface CloseUserSocketsOptions {
  /** The WebSocket close code the sockets get (1000, or 3000–4999). Default 4003. */
  code?: number;
}

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

  /**
   * Closes every open WebSocket of a user, on every layer with groups: call it on logout, on a
   * password change or a ban, so a socket opened before it stops speaking for the user.
   * `serializedUser` is what the session keeps (passport's `session.passport.user`). Reaches the
   * sockets that joined the user's group (`userGroupName`) on connect.
   */
  async closeUserSockets(serializedUser: unknown, options: CloseUserSocketsOptions = {}): Promise<void> {
    const code = options.code ?? USER_SOCKETS_CLOSE_CODE;
    if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999)))
      throw new TypeError(`closeUserSockets: the close code must be 1000 or 3000–4999, got ${code}`);
    const group = userGroupName(serializedUser);
    const layers = this.registry.aliases.map((alias) => this.registry.layer(alias));
    await Promise.all(
      layers
        .filter((layer) => layer.extensions.includes('groups'))
        .map((layer) => new Group(group, layer).send({ close: code }, { immediately: true })),
    );
  }
}

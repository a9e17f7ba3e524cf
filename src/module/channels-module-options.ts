import type { ClientModuleOptions } from '../client/client-options';
import type { InterfaceModuleOptions } from '../interface/interface-options';
import type { ChannelLayersConfig } from '../registry/channel-layer-config';
import type { SecurityModuleOptions } from '../security/security-options';
import type { SessionsModuleOptions } from '../sessions/sessions-options';
import type { WorkerModuleOptions } from '../worker/worker-options';

/** `ChannelsModule.forRoot()`: one slice per feature; each feature reads only its own. */
export interface ChannelsModuleOptions {
  /** Layers by alias; `default` is used when no alias is given. Default: `{ default: { backend: 'memory' } }`. */
  layers?: ChannelLayersConfig;
  /** The in-process worker. */
  worker?: WorkerModuleOptions;
  /** The interface server on the app's HTTP server. */
  interface?: InterfaceModuleOptions;
  /** Channel and HTTP sessions, and how users are found. */
  sessions?: SessionsModuleOptions;
  /** Origin checks. */
  security?: SecurityModuleOptions;
  /** The WebSocketBridge browser script served by the app; `false` to not serve it. */
  client?: ClientModuleOptions | false;
}

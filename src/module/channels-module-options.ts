import type { HttpInterfaceOptions } from '../interface/http-interface';
import type { WebsocketInterfaceOptions } from '../interface/interface-options';
import type { ChannelLayer } from '../layers/channel-layer';
import type { InMemoryChannelLayerOptions } from '../layers/memory/in-memory-channel-layer';
import type { RedisChannelLayerOptions } from '../layers/redis/redis-options';
import type { RoutingEntry } from '../routing/route';
import type { SessionsModuleOptions } from '../sessions/sessions-options';
import type { WorkerOptions } from '../worker/worker-options';

/** A layer class of your own: constructed with `options`. */
export type ChannelLayerClass = new (...args: never[]) => ChannelLayer;

export type ChannelLayerBackend = 'memory' | 'redis' | ChannelLayer | ChannelLayerClass;

export interface ChannelLayerConfig {
  /** `'memory'` (default), `'redis'`, a layer instance, or a layer class constructed with `options`. */
  backend?: ChannelLayerBackend;
  /** Options for the backend (InMemoryChannelLayerOptions, RedisChannelLayerOptions, or your class's). */
  options?: InMemoryChannelLayerOptions | RedisChannelLayerOptions | Record<string, unknown>;
  /** Explicit routes, matched before the ones found on `@Consumer` decorators. */
  routing?: readonly RoutingEntry[];
}

export interface WorkerModuleOptions extends WorkerOptions {
  /** Run workers inside the app process. Default true (development); set false for interface-only processes. */
  enabled?: boolean;
  /** Aliases whose consumers this process runs. Default: every layer that has routes. */
  layers?: readonly string[];
}

export interface ChannelsModuleOptions {
  /** Layers by alias; `default` is used when no alias is given. Default: `{ default: { backend: 'memory' } }`. */
  layers?: Readonly<Record<string, ChannelLayerConfig>>;
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

export interface ClientModuleOptions {
  /** Where the script is served (the full path, global prefix included). Default `/channels/websocketbridge.js`. */
  path?: string;
}

export interface SecurityModuleOptions {
  /**
   * Hosts `@AllowedHostsOnly()` lets WebSockets come from, with Django's ALLOWED_HOSTS rules:
   * `example.com`, `.example.com` (and its subdomains), `*`, `host:port` for one port only.
   * Default `['localhost', '127.0.0.1', '[::1]']`.
   */
  allowedHosts?: readonly string[];
}

export interface InterfaceModuleOptions {
  /** WebSockets carried over channels (default on when the app has an HTTP server); `false` turns them off. */
  websocket?: WebsocketInterfaceOptions | false;
  /** HTTP over channels for requests an `http.request` route takes (the rest go to controllers); `false` turns it off. */
  http?: HttpInterfaceOptions | false;
}

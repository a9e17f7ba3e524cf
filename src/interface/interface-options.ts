import type { HttpInterfaceOptions } from './http/http-options';
import type { WebsocketInterfaceOptions } from './websocket/websocket-options';

/** `ChannelsModule.forRoot({ interface })`: the interface server on the app's HTTP server. */
export interface InterfaceModuleOptions {
  /** WebSockets carried over channels (default on when the app has an HTTP server); `false` turns them off. */
  websocket?: WebsocketInterfaceOptions | false;
  /** HTTP over channels for requests an `http.request` route takes (the rest go to controllers); `false` turns it off. */
  http?: HttpInterfaceOptions | false;
}

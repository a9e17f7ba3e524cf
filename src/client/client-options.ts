/** `ChannelsModule.forRoot({ client })`: the WebSocketBridge browser script the app serves. */
export interface ClientModuleOptions {
  /** Where the script is served (the full path, global prefix included). Default `/channels/websocketbridge.js`. */
  path?: string;
}

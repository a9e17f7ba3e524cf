/** How a worker runs. */
export interface WorkerOptions {
  /** Consumers running at once in this process. Default 64. */
  concurrency?: number;
  /** Only listen on channels matching one of these globs. */
  onlyChannels?: readonly string[];
  /** Never listen on channels matching one of these globs. */
  excludeChannels?: readonly string[];
  /** Times a message may be put back by `ConsumeLater` before it is dropped. Default 10. */
  messageRetries?: number;
}

export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_MESSAGE_RETRIES = 10;

/** `ChannelsModule.forRoot({ worker })`: the workers of this process. */
export interface WorkerModuleOptions extends WorkerOptions {
  /** Run workers inside the app process. Default true (development); set false for interface-only processes. */
  enabled?: boolean;
  /** Aliases whose consumers this process runs. Default: every layer that has routes. */
  layers?: readonly string[];
}

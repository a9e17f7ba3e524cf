import type { InterfaceModuleOptions } from '../interface/interface-options';
import type { WorkerModuleOptions } from '../worker/worker-options';

/**
 * What this process is for, set by `runServer` / `runWorker` (and the CLI) over the app's own
 * settings: an interface server with or without workers, or a worker only.
 */
export interface ProcessRole {
  /** Worker settings forced over `ChannelsModule.forRoot({ worker })`. */
  worker?: WorkerModuleOptions;
  /** Interface settings forced over `ChannelsModule.forRoot({ interface })`. */
  interface?: InterfaceModuleOptions;
}

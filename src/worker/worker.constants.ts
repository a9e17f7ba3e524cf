import { channelsToken } from '../registry/injection-token';

/** Injection token of the `worker` options of ChannelsModule (`WorkerModuleOptions`). */
export const CHANNELS_WORKER_OPTIONS = channelsToken('worker-options');

/**
 * Injection token of the worker settings this process's role forces over the app's own
 * (`runWorker`, `runServer({ noWorker })` and the CLI set it).
 */
export const WORKER_ROLE = channelsToken('worker-role');

import type { WorkerModuleOptions } from '../module/channels-module-options';

let override: WorkerModuleOptions | undefined;

/** Set by `runWorker` (and the CLI) while the app is created, to force this process's worker settings. */
export function setWorkerOverride(options: WorkerModuleOptions | undefined): void {
  override = options;
}

export function workerOverride(): WorkerModuleOptions | undefined {
  return override;
}

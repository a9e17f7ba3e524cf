import type { InterfaceModuleOptions } from '../module/channels-module-options';

let override: InterfaceModuleOptions | undefined;

/** Set by `runServer` (and the CLI) while the app is created, to force this process's interface settings. */
export function setInterfaceOverride(options: InterfaceModuleOptions | undefined): void {
  override = options;
}

export function interfaceOverride(): InterfaceModuleOptions | undefined {
  return override;
}

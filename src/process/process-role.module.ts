import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { INTERFACE_ROLE } from '../interface/interface.constants';
import { WORKER_ROLE } from '../worker/worker.constants';
import type { ProcessRole } from './process-role';

/**
 * A global module giving this app its process role: the worker and the interface services read
 * it through their role tokens. One per app, so two apps in one process never share a role.
 */
@Module({})
export class ProcessRoleModule {
  static forRole(role: ProcessRole): DynamicModule {
    const providers: Provider[] = [];
    if (role.worker) providers.push({ provide: WORKER_ROLE, useValue: role.worker });
    if (role.interface) providers.push({ provide: INTERFACE_ROLE, useValue: role.interface });
    return {
      module: ProcessRoleModule,
      global: true,
      providers,
      exports: providers.map((provider) => (provider as { provide: string }).provide),
    };
  }
}

/** The root the process starts: the app's module, with the role beside it. */
@Module({})
class ChannelsProcessModule {}

/** The app's module wrapped with the role this process plays. */
export function withProcessRole(module: Type<unknown>, role: ProcessRole): DynamicModule {
  return { module: ChannelsProcessModule, imports: [ProcessRoleModule.forRole(role), module] };
}

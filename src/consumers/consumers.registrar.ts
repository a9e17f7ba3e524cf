import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ConsumerExplorer } from './consumer-explorer';

/**
 * Finds and binds every consumer once, when the module starts (before any worker or interface
 * starts at bootstrap), the way `@nestjs/bullmq`'s registrar starts its explorer.
 */
@Injectable()
export class ConsumersRegistrar implements OnModuleInit {
  constructor(@Inject(ConsumerExplorer) private readonly explorer: ConsumerExplorer) {}

  onModuleInit(): void {
    this.explorer.explore();
  }
}

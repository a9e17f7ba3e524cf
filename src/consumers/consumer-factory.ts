import type { Type } from '@nestjs/common';

/**
 * Makes the sub-consumers a generic consumer hands messages to (a demultiplexer's streams), through
 * Nest's DI, one fresh instance per message. The invoker gives each instance one before dispatch.
 */
export type ConsumerFactory = <T extends object>(type: Type<T>) => Promise<T>;

/** Where the invoker leaves the factory on a generic consumer instance. */
export const CONSUMER_FACTORY = Symbol('nestjs-channels:consumer-factory');

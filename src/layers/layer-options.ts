import { CapacityTable, type ChannelCapacityOption } from './capacity';

/** Options every built-in layer takes. Times are in seconds. */
export interface ChannelLayerOptions {
  /** Seconds a message waits on a channel before it is dropped. Default 60. */
  expiry?: number;
  /** Seconds a group membership lives after its latest `groupAdd`. Default 86400. */
  groupExpiry?: number;
  /** Default maximum number of messages waiting on one channel. Default 100. */
  capacity?: number;
  /** Per-channel capacity overrides (globs or RegExps → number), first match wins. */
  channelCapacity?: ChannelCapacityOption;
  /**
   * Capacity of a process channel (`name!`, counted on its prefix), unless `channelCapacity`
   * says otherwise. One carries every reply of a process (all its sockets and requests, group
   * sends included), so it defaults to 10 × `capacity`.
   */
  processCapacity?: number;
  /** Largest accepted message, in encoded bytes. Default 1 MiB. */
  maxMessageSize?: number;
}

export interface ResolvedLayerOptions {
  expiry: number;
  groupExpiry: number;
  capacity: number;
  capacities: CapacityTable;
  maxMessageSize: number;
}

export const DEFAULT_EXPIRY = 60;
export const DEFAULT_GROUP_EXPIRY = 86_400;
export const DEFAULT_CAPACITY = 100;
/** A process channel holds this many times `capacity` by default. */
export const PROCESS_CAPACITY_FACTOR = 10;
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

function positive(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved <= 0) {
    throw new TypeError(`${name} must be a positive number of seconds, got ${String(value)}`);
  }
  return resolved;
}

export function resolveLayerOptions(options: ChannelLayerOptions = {}): ResolvedLayerOptions {
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  const capacities = new CapacityTable(
    capacity,
    options.channelCapacity,
    options.processCapacity ?? capacity * PROCESS_CAPACITY_FACTOR,
  );
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 1) {
    throw new TypeError(`maxMessageSize must be a positive integer number of bytes, got ${String(maxMessageSize)}`);
  }
  return {
    expiry: positive(options.expiry, DEFAULT_EXPIRY, 'expiry'),
    groupExpiry: positive(options.groupExpiry, DEFAULT_GROUP_EXPIRY, 'groupExpiry'),
    capacity: capacities.defaultCapacity,
    capacities,
    maxMessageSize,
  };
}

/** Default seconds a blocking `receive` waits before resolving `[null, null]`. */
export const DEFAULT_RECEIVE_TIMEOUT = 5;

/** Milliseconds a `receive` may wait: 0 when not blocking, `Infinity` for no limit. */
export function receiveWaitMs(block: boolean | undefined, timeout: number | undefined): number {
  if (!block) return 0;
  const seconds = timeout ?? DEFAULT_RECEIVE_TIMEOUT;
  if (typeof seconds !== 'number' || Number.isNaN(seconds) || seconds < 0) {
    throw new TypeError(`receive() timeout must be a number of seconds >= 0, got ${String(timeout)}`);
  }
  return seconds * 1000;
}

/** `receiveMany`'s `max`, checked: a positive integer. */
export function assertMax(max: unknown): number {
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new TypeError(`receiveMany() max must be a positive integer, got ${String(max)}`);
  }
  return max;
}

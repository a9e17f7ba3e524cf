import { globToRegExp } from './names';

/** A channel-name pattern: a shell-style glob (`*`, `?`, `[...]`) or a RegExp. */
export type ChannelPattern = string | RegExp;

/**
 * Per-channel capacity overrides, first match wins. A `Map` or an array of pairs keeps the order
 * explicit; a plain object works too (its string keys keep insertion order).
 */
export type ChannelCapacityOption =
  | ReadonlyMap<ChannelPattern, number>
  | ReadonlyArray<readonly [ChannelPattern, number]>
  | Readonly<Record<string, number>>;

function assertCapacity(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${where} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Resolves the capacity of a channel: the first matching override, else the default. */
export class CapacityTable {
  private readonly rules: ReadonlyArray<readonly [RegExp, number]>;
  private readonly cache = new Map<string, number>();

  constructor(
    readonly defaultCapacity: number,
    overrides: ChannelCapacityOption = [],
    /** Capacity of process channels (`name!`) no override matches: they carry a whole process's replies. */
    readonly processCapacity = defaultCapacity,
  ) {
    assertCapacity(defaultCapacity, 'capacity');
    assertCapacity(processCapacity, 'processCapacity');
    const pairs: Array<readonly [ChannelPattern, number]> =
      overrides instanceof Map || Array.isArray(overrides)
        ? [...(overrides as Iterable<readonly [ChannelPattern, number]>)]
        : Object.entries(overrides);
    this.rules = pairs.map(([pattern, capacity]) => {
      const regexp = pattern instanceof RegExp ? pattern : typeof pattern === 'string' ? globToRegExp(pattern) : null;
      if (!regexp) throw new TypeError(`channelCapacity patterns must be strings or RegExps, got ${typeof pattern}`);
      return [regexp, assertCapacity(capacity, `channelCapacity[${String(pattern)}]`)] as const;
    });
  }

  /** Capacity for a (non-local) channel name. Results are cached; names are a bounded set in practice. */
  capacityOf(name: string): number {
    const fallback = name.endsWith('!') ? this.processCapacity : this.defaultCapacity;
    if (this.rules.length === 0) return fallback;
    let capacity = this.cache.get(name);
    if (capacity === undefined) {
      capacity = fallback;
      for (const [regexp, value] of this.rules) {
        regexp.lastIndex = 0;
        if (regexp.test(name)) {
          capacity = value;
          break;
        }
      }
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(name, capacity);
    }
    return capacity;
  }
}

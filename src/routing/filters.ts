/** Route filters: content key → RegExp (or its source). Matched from the start of the value. */
export type RouteFilters = Readonly<Record<string, RegExp | string>>;

/** Named groups of the matched filters: a route's keyword arguments. */
export type RouteKwargs = Record<string, string | undefined>;

export interface CompiledFilter {
  key: string;
  /** Sticky copy of the user's RegExp, so it only matches at the start of the value. */
  regexp: RegExp;
  source: string;
}

export class RouteConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteConfigurationError';
  }
}

function countGroups(regexp: RegExp): { total: number; named: number } {
  // An alternative that matches the empty string reveals how many groups the pattern has.
  const match = new RegExp(`(?:${regexp.source})|`, regexp.flags.replace(/[gy]/g, '')).exec('');
  return { total: (match?.length ?? 1) - 1, named: Object.keys(match?.groups ?? {}).length };
}

/** Compiles filters; unnamed capturing groups are refused (they could not become kwargs). */
export function compileFilters(filters: RouteFilters = {}, where: string, allowUnnamed = false): CompiledFilter[] {
  return Object.entries(filters).map(([key, value]) => {
    let regexp: RegExp;
    try {
      regexp = value instanceof RegExp ? value : new RegExp(value);
    } catch (error) {
      throw new RouteConfigurationError(
        `${where}: filter "${key}" is not a valid regular expression (${String(error)})`,
      );
    }
    if (!(value instanceof RegExp) && typeof value !== 'string') {
      throw new RouteConfigurationError(`${where}: filter "${key}" must be a RegExp or a string`);
    }
    const groups = countGroups(regexp);
    if (!allowUnnamed && groups.total !== groups.named) {
      throw new RouteConfigurationError(
        `${where}: filter "${key}" (/${regexp.source}/) has unnamed capturing groups; ` +
          'name them, (?<name>…), so they become kwargs, or make them non-capturing, (?:…)',
      );
    }
    return {
      key,
      regexp: new RegExp(regexp.source, `${regexp.flags.replace(/[gy]/g, '')}y`),
      source: regexp.toString(),
    };
  });
}

/** The string value of a content key for matching: strings as they are, bytes as latin-1. */
export function filterValue(content: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = content[key];
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  return undefined;
}

/** Runs one filter: its named groups and where the match ended, or null. */
export function runFilter(filter: CompiledFilter, value: string): { kwargs: RouteKwargs; end: number } | null {
  filter.regexp.lastIndex = 0;
  const match = filter.regexp.exec(value);
  if (!match) return null;
  return { kwargs: { ...(match.groups ?? {}) }, end: match.index + match[0].length };
}

/** Canonical text of a filter set, to find two routes claiming the same thing. */
export function filtersKey(filters: readonly CompiledFilter[]): string {
  return filters
    .map((filter) => `${filter.key}=${filter.source}`)
    .sort()
    .join('&');
}

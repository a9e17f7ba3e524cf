/**
 * Daphne 1.4.2's `daphne/tests/http_strategies.py` (Hypothesis strategies), rebuilt on a seeded
 * pseudo-random generator so every run draws the same examples. The alphabets and the size bounds
 * (`min_size`, `max_size`, and `average_size` as the mean of a geometric length) are the
 * original's; Hypothesis's shrinking is not reproduced: `forAll` reports the first failing example
 * as it was drawn. Example 0 of every property is the minimal one (every size at its minimum), as
 * Hypothesis tends to try first.
 */

/** A source of draws: mulberry32 over a 32-bit seed. */
export class Draw {
  private state: number;

  constructor(
    seed: number,
    /** Every size at its minimum (the first example of a property). */
    readonly minimal = false,
  ) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /**
   * A length in [min, max] whose mean is about `average` (geometric above `min`), as Hypothesis's
   * `average_size` asks; `min` for the minimal example.
   */
  size(min: number, average: number, max: number): number {
    if (this.minimal) return min;
    const extra = Math.max(0, average - min);
    const more = extra / (extra + 1);
    let n = min;
    while (n < max && this.next() < more) n++;
    return n;
  }
}

export type Strategy<T> = (draw: Draw) => T;

/** Hypothesis 3's default `average_size` for lists and text when none is given. */
function defaultAverage(min: number, max: number): number {
  return Math.min(Math.max(min * 2, min + 5), 0.5 * (min + max));
}

// Python's `string` module.
const DIGITS = '0123456789';
const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const WHITESPACE = ' \t\n\r\x0b\x0c';
const PRINTABLE = DIGITS + ASCII_LETTERS + PUNCTUATION + WHITESPACE;

export const HTTP_METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'CONNECT'] as const;

/** `strategies.text(alphabet=…, min_size, average_size, max_size)` over a string alphabet. */
function text(alphabet: string | Strategy<string>, min: number, max: number, average = defaultAverage(min, max)) {
  const char: Strategy<string> =
    typeof alphabet === 'string' ? (draw) => alphabet[draw.int(0, alphabet.length - 1)] : alphabet;
  return (draw: Draw): string => {
    const length = draw.size(min, average, max);
    let out = '';
    for (let i = 0; i < length; i++) out += char(draw);
    return out;
  };
}

/** `strategies.lists(element, min_size, average_size, max_size)`. */
function lists<T>(element: Strategy<T>, min: number, max: number, average = defaultAverage(min, max)) {
  return (draw: Draw): T[] => {
    const length = draw.size(min, average, max);
    const out: T[] = [];
    for (let i = 0; i < length; i++) out.push(element(draw));
    return out;
  };
}

/** `filter`: draws again until the predicate holds (Hypothesis gives up after a while too). */
function filtered<T>(strategy: Strategy<T>, keep: (value: T) => boolean): Strategy<T> {
  return (draw) => {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const value = strategy(draw);
      if (keep(value)) return value;
    }
    throw new Error('a strategy filter rejected 1000 draws in a row');
  };
}

/**
 * `strategies.characters(whitelist_categories=('Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Nl'))`: Unicode
 * letters. Like Hypothesis, small code points come often: half the draws are below U+0800.
 */
const LETTER = /^[\p{Lu}\p{Ll}\p{Lt}\p{Lm}\p{Lo}\p{Nl}]$/u;
export const letters: Strategy<string> = (draw) => {
  for (;;) {
    const codePoint = draw.next() < 0.5 ? draw.int(0x41, 0x7ff) : draw.int(0x800, 0x3134f);
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) continue;
    const char = String.fromCodePoint(codePoint);
    if (LETTER.test(char)) return char;
  }
};

export const httpMethod: Strategy<string> = (draw) => draw.pick(HTTP_METHODS);

const httpPathPortion = text(ASCII_LETTERS + DIGITS + '-._~', 1, 128, 10);

/** A URL path (not encoded): `'/' + '/'.join(portions)`, 0 to 10 portions. */
export const httpPath: Strategy<string> = (draw) => '/' + lists(httpPathPortion, 0, 10)(draw).join('/');

/** Random printable ASCII (`string.printable`), 0 to 1500 characters, about 600. */
export const httpBody: Strategy<string> = text(PRINTABLE, 0, 1500, 600);

/** `strategies.binary(min_size=0, average_size=600, max_size=1500)`. */
export const binaryPayload: Strategy<Buffer> = (draw) => {
  const length = draw.size(0, 600, 1500);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = draw.int(0, 255);
  return out;
};

/** One query parameter: Unicode letters, 1 to 255, about 10, as UTF-8 bytes. */
const queryParam: Strategy<Buffer> = (draw) => Buffer.from(text(letters, 1, 255, 10)(draw), 'utf8');

export type QueryParams = [Buffer, Buffer][];

/** Two-tuples of byte strings whose `urlencode` is shorter than 1500 characters. */
export const queryParams: Strategy<QueryParams> = filtered(
  lists((draw): [Buffer, Buffer] => [queryParam(draw), queryParam(draw)], 0, Infinity, 5),
  (params) => urlencode(params).length < 1500,
);

/** Something like a header field name: ASCII letters, digits and `-`, 1 to 30 characters. */
export const headerName: Strategy<string> = text(ASCII_LETTERS + DIGITS + '-', 1, 30);

/**
 * Something like a header value. The alphabet is the original's to the letter, `' /t'` included
 * (a space, a slash and the letter t: the original meant a tab, but this is what it tested).
 */
export const headerValue: Strategy<string> = filtered(
  text(ASCII_LETTERS + DIGITS + PUNCTUATION + ' /t', 1, 8190, 40),
  (value) => Buffer.byteLength(value, 'utf8') < 8190,
);

export type Headers = [string, string][];

/** 0 to 100 `(name, value)` pairs, about 10. */
export const headers: Strategy<Headers> = lists(
  (draw): [string, string] => [headerName(draw), headerValue(draw)],
  0,
  100,
  10,
);

/** `strategies.integers(min_value=1)`: unbounded above; here up to the largest safe integer. */
export const positiveInteger: Strategy<number> = (draw) => {
  const bound = draw.pick([10, 1000, 65535, 2 ** 31, Number.MAX_SAFE_INTEGER]);
  return draw.minimal ? 1 : 1 + Math.floor(draw.next() * bound);
};

// Python's urllib.parse, as the original's request factory used it.

const UNRESERVED = new Set((ASCII_LETTERS + DIGITS + '_.-~').split(''));

function percentEncode(bytes: Buffer, safe: string, plus: boolean): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (byte < 0x80 && (UNRESERVED.has(char) || safe.includes(char))) out += char;
    else if (plus && char === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** `parse.quote(path)` (UTF-8, `/` safe). */
export function quote(path: string): string {
  return percentEncode(Buffer.from(path, 'utf8'), '/', false);
}

/** `parse.urlencode(params)` for a list of byte-string pairs (each side `quote_plus`ed). */
export function urlencode(params: readonly (readonly [Uint8Array, Uint8Array])[]): string {
  return params
    .map(
      ([name, value]) => `${percentEncode(Buffer.from(name), '', true)}=${percentEncode(Buffer.from(value), '', true)}`,
    )
    .join('&');
}

/** `parse.unquote(text)`: %XX sequences decoded as UTF-8 (invalid ones replaced), the rest kept. */
export function unquote(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

const SEED = 0x1a2b3c4d;

/**
 * Runs `check` on `count` examples drawn from `strategy` (each from its own seeded Draw; example 0
 * minimal), one after another, skipping the ones `assume` rejects, as `@given` does. Stops at the
 * first failure and rethrows it with the example.
 */
export async function forAll<T>(
  count: number,
  strategy: Strategy<T>,
  check: (example: T) => Promise<void>,
  assume: (example: T) => boolean = () => true,
): Promise<void> {
  let run = 0;
  for (let index = 0; run < count && index < count * 20; index++) {
    const example = strategy(new Draw(SEED + index * 7919, index === 0));
    if (!assume(example)) continue;
    run++;
    try {
      await check(example);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      failure.message = `Falsifying example #${index}: ${describe(example)}\n${failure.message}`;
      throw failure;
    }
  }
  if (run < count) throw new Error(`only ${run} of ${count} examples passed the assumptions`);
}

/** An example, shortened for a failure message. */
function describe(example: unknown): string {
  const text = JSON.stringify(example, (_key, value: unknown) => {
    if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer') {
      return `<${((value as { data: number[] }).data ?? []).length} bytes: ${Buffer.from(
        (value as { data: number[] }).data,
      )
        .toString('latin1')
        .slice(0, 60)}>`;
    }
    return value;
  });
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text;
}

// Channel and group name rules of ASGI 1 (asgiref 1.1), with ASCII-only classes.
const CHANNEL_NAME = /^[A-Za-z0-9_.-]+([?!][A-Za-z0-9_.-]*)?$/;
const GROUP_NAME = /^[A-Za-z0-9_.-]+$/;
const MAX_NAME_LENGTH = 99;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

/** Throws a `TypeError` unless `name` is a valid channel name to send to. */
export function assertChannelName(name: unknown): asserts name is string {
  if (
    typeof name !== 'string' ||
    name.length > MAX_NAME_LENGTH ||
    !CHANNEL_NAME.test(name) ||
    (name.includes('?') && name.endsWith('?'))
  ) {
    throw new TypeError(
      `Invalid channel name ${describe(name)}: use at most ${MAX_NAME_LENGTH} characters of ` +
        'A-Z a-z 0-9 - _ . with at most one "?" or "!" (a "?" name must not end with "?")',
    );
  }
}

/** Like `assertChannelName`, plus the receive-only rule: a `!` name must end at the `!`. */
export function assertReceiveChannelName(name: unknown): asserts name is string {
  assertChannelName(name);
  const bang = name.indexOf('!');
  if (bang !== -1 && bang !== name.length - 1) {
    throw new TypeError(
      `Cannot receive on "${name}": receive on the process prefix "${name.slice(0, bang + 1)}" instead`,
    );
  }
}

/** Validates the channel list given to `receive`. */
export function assertReceiveChannels(channels: unknown): asserts channels is readonly string[] {
  if (!Array.isArray(channels) || channels.length === 0) {
    throw new TypeError('receive() needs a non-empty array of channel names');
  }
  for (const channel of channels) assertReceiveChannelName(channel);
}

export function assertGroupName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !GROUP_NAME.test(name)) {
    throw new TypeError(
      `Invalid group name ${describe(name)}: use at most ${MAX_NAME_LENGTH} characters of A-Z a-z 0-9 - _ .`,
    );
  }
}

/** Validates a `newChannel` pattern: it must be a single-reader pattern ending in `?`. */
export function assertNewChannelPattern(pattern: unknown): asserts pattern is string {
  if (typeof pattern !== 'string' || !pattern.endsWith('?') || pattern.indexOf('?') !== pattern.length - 1) {
    throw new TypeError(
      `newChannel() needs a pattern ending in "?", got ${describe(pattern)} ` +
        '(process-specific "!" local parts are made by the process that reads them)',
    );
  }
  assertChannelName(`${pattern}a`);
}

/**
 * The part of a name that capacity, queues and sharding use: everything up to and including
 * the `!` of a process-specific channel, or the whole name.
 */
export function nonLocalName(channel: string): string {
  const bang = channel.indexOf('!');
  return bang === -1 ? channel : channel.slice(0, bang + 1);
}

/** `!` and `?` channels have one reader and must be kept on one shard, in order. */
export function isSingleReader(channel: string): boolean {
  return channel.includes('!') || channel.includes('?');
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Random bytes drawn in blocks: one call to the system's generator per 4 KiB, not per name. */
const RANDOM_POOL = new Uint8Array(4096);
let poolOffset = RANDOM_POOL.length;

/** `length` random ASCII letters, used for `?` channel suffixes and process prefixes. */
export function randomLetters(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    if (poolOffset === RANDOM_POOL.length) {
      crypto.getRandomValues(RANDOM_POOL);
      poolOffset = 0;
    }
    // 52 letters: bytes of 208 and above are skipped, so every letter is equally likely.
    const byte = RANDOM_POOL[poolOffset++];
    if (byte >= 208) {
      i--;
      continue;
    }
    out += LETTERS[byte % LETTERS.length];
  }
  return out;
}

/**
 * Turns a shell glob over channel names (`chat.*`, `http.request?`) into an anchored RegExp, the
 * way Python's fnmatch does: capacity overrides and a worker's channel filters use it.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
      } else {
        let set = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        source += `[${set}]`;
        i = end;
      }
    } else source += char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

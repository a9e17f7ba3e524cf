/**
 * The ASGI value model: what a channel message may contain. Bytes come back as `Buffer`
 * (a `Uint8Array`) from every layer; strings stay strings.
 */
export type ChannelValue =
  string | number | boolean | null | Uint8Array | readonly ChannelValue[] | { readonly [key: string]: ChannelValue };

/** A channel message: a plain object at the top level. */
export interface ChannelMessage {
  [key: string]: ChannelValue;
}

const MAX_DEPTH = 64;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeName(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value !== 'object' || value === null) return typeof value;
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return ctor?.name ? `an instance of ${ctor.name}` : 'a non-plain object';
}

function invalid(path: string, value: unknown): TypeError {
  return new TypeError(
    `Message value at ${path} is ${typeName(value)}; messages may hold only strings, numbers, ` +
      'booleans, null, bytes (Buffer/Uint8Array), arrays and plain objects',
  );
}

/**
 * Walks a message once: checks every value against the ASGI value model (throwing a
 * `TypeError` that names the offending path), estimates its MessagePack-encoded size in
 * bytes and, when `copy` is set, returns a deep copy (bytes copied as `Buffer`).
 */
function walkMessage(message: unknown, copy: boolean): { copy: ChannelMessage; size: number } {
  if (typeof message !== 'object' || message === null || Array.isArray(message) || !isPlainObject(message)) {
    throw new TypeError(`A channel message must be a plain object, got ${typeName(message)}`);
  }
  let size = 0;
  const visit = (value: unknown, path: string, depth: number): ChannelValue => {
    switch (typeof value) {
      case 'string':
        size += 5 + Buffer.byteLength(value);
        return value;
      case 'number':
        size += 9;
        return value;
      case 'boolean':
        size += 1;
        return value;
      case 'object':
        break;
      default:
        throw invalid(path, value);
    }
    if (value === null) {
      size += 1;
      return null;
    }
    if (depth > MAX_DEPTH) {
      throw new TypeError(`Message is nested more than ${MAX_DEPTH} levels deep at ${path} (is it circular?)`);
    }
    if (value instanceof Uint8Array) {
      size += 5 + value.byteLength;
      return copy ? Buffer.from(value) : value;
    }
    if (Array.isArray(value)) {
      size += 5;
      const out: ChannelValue[] | undefined = copy ? new Array<ChannelValue>(value.length) : undefined;
      for (let i = 0; i < value.length; i++) {
        const item = visit(value[i], `${path}[${i}]`, depth + 1);
        if (out) out[i] = item;
      }
      return out ?? (value as ChannelValue[]);
    }
    if (!isPlainObject(value)) throw invalid(path, value);
    size += 5;
    const out: Record<string, ChannelValue> | undefined = copy ? {} : undefined;
    for (const key of Object.keys(value)) {
      size += 5 + Buffer.byteLength(key);
      const item = visit((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
      if (out) out[key] = item;
    }
    return out ?? (value as ChannelMessage);
  };
  return { copy: visit(message, 'message', 0) as ChannelMessage, size };
}

/** Validates a message and returns a deep copy with its estimated encoded size. */
export function copyMessage(message: unknown): { copy: ChannelMessage; size: number } {
  return walkMessage(message, true);
}

/** Validates a message without copying it; returns its estimated encoded size. */
export function validateMessage(message: unknown): number {
  return walkMessage(message, false).size;
}

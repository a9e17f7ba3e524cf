// Parses the list entries the Lua scripts write: `<expiry ms, 14 digits><local,local…>\n<payload>`.
const NEWLINE = 0x0a;
const EXPIRY_DIGITS = 14;

export interface ParsedEntry {
  /** Expiry time in Redis server milliseconds. */
  expiresAt: number;
  /** Full channel names the entry is for (several for a bundled group send). */
  channels: string[];
  payload: Buffer;
}

export function parseEntry(base: string, entry: Buffer): ParsedEntry {
  const newline = entry.indexOf(NEWLINE, EXPIRY_DIGITS);
  const expiresAt = Number(entry.toString('latin1', 0, EXPIRY_DIGITS));
  const locals = entry.toString('latin1', EXPIRY_DIGITS, newline);
  const channels = locals.includes(',') ? locals.split(',').map((local) => base + local) : [base + locals];
  return { expiresAt, channels, payload: entry.subarray(newline + 1) };
}

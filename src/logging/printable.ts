/** Longest piece of outside text a log line carries. */
const DEFAULT_MAX = 200;
// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators: matching them
// is the point here.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escape(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  if (char === '\t') return '\\t';
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text from outside (a path, a frame, an error message quoting one) made safe for one log line:
 * control characters escaped, so a client cannot forge log lines with newlines or terminal codes,
 * and cut to `max` characters, so it cannot fill the log.
 */
export function printable(value: unknown, max = DEFAULT_MAX): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length - max} more)` : text;
  return cut.replace(CONTROL, escape);
}

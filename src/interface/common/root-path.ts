import type { IncomingMessage } from 'node:http';

/** The proxy header that names the mount point (Daphne's), lower-cased as Node gives it. */
export const ROOT_PATH_HEADER = 'daphne-root-path';

/** A configured `rootPath`, checked: `''`, or a path starting with `/` and not ending with one. */
export function checkRootPath(value: string | undefined, option: string): string {
  const path = value ?? '';
  if (typeof path !== 'string' || (path !== '' && (!path.startsWith('/') || path.endsWith('/')))) {
    throw new TypeError(
      `${option} must be '' or a path like '/app' (a leading /, no trailing /), got ${String(value)}`,
    );
  }
  return path;
}

/**
 * The `root_path` of a request: the configured mount point, or (with trusted proxy headers) the
 * URL-decoded `Daphne-Root-Path` header the proxy set, as Daphne did.
 */
export function rootPathOf(request: IncomingMessage, configured: string, proxyHeaders: boolean): string {
  if (!proxyHeaders) return configured;
  const header = request.headers[ROOT_PATH_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return configured;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

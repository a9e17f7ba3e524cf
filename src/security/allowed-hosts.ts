// Django's ALLOWED_HOSTS matching (django.http.request.validate_host), applied to WebSocket Origins.

/** The origin schemes a browser can send for a page that opens a WebSocket (and ws/wss for non-browser clients). */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/** An origin is serialised as `scheme://host[:port]`: no credentials, path, query or fragment. */
const ORIGIN_SHAPE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The host of an Origin header value, with its effective port: `host:port`, lower-cased, the port
 * always written out (`https://Example.com` → `example.com:443`, `http://[::1]:3000` → `[::1]:3000`).
 *
 * Returns null for what is not an http/https/ws/wss origin: `null` (sent by sandboxed and `file:`
 * pages), an empty or scheme-less value (`example.com`), another scheme (`file://`), or anything
 * the WHATWG URL parser refuses or that carries credentials, a path, a query or a fragment.
 *
 * Unlike Channels 1.x (quirk Q11), IPv6 hosts keep their brackets, so the pattern `[::1]` matches
 * them, and the scheme is checked instead of ignored.
 */
export function hostFromOrigin(origin: string): string | null {
  if (!ORIGIN_SHAPE.test(origin)) return null;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined || !url.hostname) return null;
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return null;
  // WHATWG URL already lower-cases the host, punycodes IDNs and drops a default port.
  return `${url.hostname}:${url.port || defaultPort}`;
}

/** `[domain, port]` of `host[:port]`; port null when absent. IPv6 literals stay bracketed. */
function splitDomainPort(value: string): [string, number | null] {
  const lower = value.toLowerCase();
  const ipv6 = /^(\[[^\]]*\])(?::(\d+))?$/.exec(lower);
  if (ipv6) return [ipv6[1], ipv6[2] === undefined ? null : Number(ipv6[2])];
  const withPort = /^([^:]*):(\d+)$/.exec(lower);
  if (withPort) return [withPort[1], Number(withPort[2])];
  return [lower, null];
}

/** Django's `is_same_domain`: `.example.com` covers `example.com` and its subdomains; else exact. */
function isSameDomain(domain: string, pattern: string): boolean {
  if (!pattern) return false;
  if (pattern.startsWith('.')) return domain.endsWith(pattern) || domain === pattern.slice(1);
  return domain === pattern;
}

/**
 * Django's `validate_host(host, allowed_hosts)`: does `host` (`domain[:port]`, e.g. from
 * `hostFromOrigin`) match one of the ALLOWED_HOSTS-style `patterns`?
 *
 * - `*` matches any host.
 * - `.example.com` matches `example.com` and every subdomain (`a.example.com`, `a.b.example.com`).
 * - Any other pattern must equal the domain, case-insensitively. A trailing dot on the host is ignored
 *   (`example.com.` is `example.com`). IPv6 patterns are written bracketed: `[::1]`.
 *
 * Ports: a pattern without a port matches any port, as in Django, which ignores them. As an extension,
 * a pattern with a port (`example.com:8443`, `localhost:3000`, `.example.com:8443`, `*:8443`) matches
 * only a host with that port; `hostFromOrigin` always writes the port out, so `example.com:443` matches
 * the origin `https://example.com`. A host given without a port never matches a pattern with one.
 */
export function isAllowedHost(host: string, patterns: readonly string[]): boolean {
  const [withDot, port] = splitDomainPort(host);
  const domain = withDot.endsWith('.') ? withDot.slice(0, -1) : withDot;
  if (!domain) return false;
  return patterns.some((raw) => {
    if (raw === '*') return true;
    const [pattern, patternPort] = splitDomainPort(raw);
    if (patternPort !== null && patternPort !== port) return false;
    return pattern === '*' || isSameDomain(domain, pattern);
  });
}

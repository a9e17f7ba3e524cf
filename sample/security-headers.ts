import { createHash } from 'node:crypto';
import helmet from 'helmet';
import { chatPage } from './chat.page';
import { multiPage } from './multi.page';
import { loginPage, privatePage } from './private.page';

/** `'sha256-…'` of every inline `<tag>` body in `html`, as a CSP source. */
function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(pattern)].map(
    ([, body]) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`,
  );
}

/**
 * helmet's headers with a Content-Security-Policy that fits the sample's pages exactly: scripts and
 * styles from this site, plus the pages' own inline ones by hash (no `'unsafe-inline'`), sockets
 * and fetches to this site only ('self' covers ws: and wss: on the same host), forms posting only
 * here, and no page of another site may frame them (clickjacking).
 */
export function securityHeaders(): ReturnType<typeof helmet> {
  const pages = [chatPage(), privatePage(), multiPage(), loginPage()].join('\n');
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...new Set(inlineHashes(pages, 'script'))],
        styleSrc: ["'self'", ...new Set(inlineHashes(pages, 'style'))],
        connectSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
  });
}

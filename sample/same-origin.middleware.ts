import { ForbiddenException, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Methods that change nothing: never checked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for the sample's forms and JSON endpoints: a request that can change something
 * (POST, PUT, PATCH, DELETE) must come from a page of this site. Browsers say where a request comes
 * from: `Sec-Fetch-Site` (`same-origin`, or `none` when the user typed it), else `Origin`, which
 * must be this server's own (its host equal to the Host header). A request with neither comes from
 * no browser page (curl, a server), so it carries no victim's cookies and is let through.
 *
 * Without it, a page on another site could log the browser in as the attacker with a plain form
 * POST (login CSRF), log it out, or run tasks: no preflight guards simple form posts.
 */
@Injectable()
export class SameOriginMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    if (SAFE_METHODS.has(req.method) || isSameOrigin(req)) return next();
    throw new ForbiddenException('Cross-site request refused: this form only accepts posts from its own pages');
  }
}

function isSameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false; // `null` (sandboxed pages, file:) and anything unparsable
  }
}

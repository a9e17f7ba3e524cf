import { sessionExpiry, type SessionStore } from './session-store';

/** How often, at most, `set` sweeps out expired sessions (ms). */
const SWEEP_INTERVAL_MS = 60_000;

interface Entry {
  readonly json: string;
  readonly expiresAt: number | undefined;
}

/**
 * Sessions in this process's memory, as express-session's MemoryStore keeps them (a JSON copy per
 * session, dropped once its `cookie.expires` has passed), without needing express-session: the
 * default store of channel sessions when none is configured. Fine for one process; separate worker
 * processes need a shared store (`RedisSessionStore`).
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private lastSweep = Date.now();

  get(sid: string, callback: (error: unknown, session?: object | null) => void): void {
    const entry = this.sessions.get(sid);
    let session: object | null = null;
    if (entry && entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) this.sessions.delete(sid);
    else if (entry) session = JSON.parse(entry.json) as object;
    setImmediate(() => callback(null, session));
  }

  set(sid: string, session: object, callback?: (error?: unknown) => void): void {
    this.sessions.set(sid, { json: JSON.stringify(session), expiresAt: sessionExpiry(session) });
    this.sweep();
    if (callback) setImmediate(() => callback());
  }

  destroy(sid: string, callback?: (error?: unknown) => void): void {
    this.sessions.delete(sid);
    if (callback) setImmediate(() => callback());
  }

  /** How many sessions are held (expired ones included until swept). */
  get size(): number {
    return this.sessions.size;
  }

  /** Drops expired sessions, at most once a minute, so sessions nobody reads again do not pile up. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [sid, entry] of this.sessions) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.sessions.delete(sid);
    }
  }
}

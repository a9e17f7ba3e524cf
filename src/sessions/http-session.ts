import { parse as parseCookies } from 'cookie';
import { unsign } from 'cookie-signature';
import { headerValues, queryParameter } from '../channels/message-headers';
import type { ChannelMessage } from '../layers/channel-message';
import { isStoredChannelSession } from './channel-session';
import type { SessionStoreAdapter, StoredSession } from './session-store';

/** The browser's express-session, as a consumer may read it: a frozen snapshot. */
export type HttpSessionData = Readonly<Record<string, unknown>>;

/** Where the HTTP session comes from: the app's express-session store, cookie name and secret(s). */
export interface HttpSessionSource {
  store: SessionStoreAdapter;
  cookieName: string;
  secrets: readonly string[];
}

/**
 * The session id in a signed value (`s:<id>.<signature>`, as express-session writes its cookie),
 * checked against every secret; undefined when unsigned, forged or tampered with.
 */
export function unsignSessionId(value: string, secrets: readonly string[]): string | undefined {
  if (!value.startsWith('s:')) return undefined;
  for (const secret of secrets) {
    const id = unsign(value.slice(2), secret);
    if (id !== false) return id;
  }
  return undefined;
}

/**
 * The session id a message carries: the signed session cookie first, else a `session_key` query
 * parameter holding the same signed value. The cookie wins so a link carrying someone else's key
 * cannot swap a logged-in browser's identity.
 */
export function sessionIdOf(
  content: ChannelMessage,
  cookieName: string,
  secrets: readonly string[],
): string | undefined {
  for (const header of headerValues(content, 'cookie')) {
    let cookies: Record<string, string | undefined>;
    try {
      cookies = parseCookies(header);
    } catch {
      continue;
    }
    const value = cookies[cookieName];
    if (value !== undefined) return unsignSessionId(value, secrets);
  }
  const key = queryParameter(content, 'session_key');
  return key === undefined ? undefined : unsignSessionId(key, secrets);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The HTTP session stored under `id`, read-only; null when there is none or the key holds a channel session. */
export async function readHttpSession(store: SessionStoreAdapter, id: string): Promise<HttpSessionData | null> {
  const stored: StoredSession | null = await store.get(id);
  if (!stored || isStoredChannelSession(stored)) return null;
  return deepFreeze(structuredClone(stored));
}

/** Loads the browser's session read-only; null with no (valid) key or no such session. */
export async function loadHttpSession(
  content: ChannelMessage,
  source: HttpSessionSource,
): Promise<{ id: string; data: HttpSessionData } | null> {
  const id = sessionIdOf(content, source.cookieName, source.secrets);
  if (id === undefined) return null;
  const data = await readHttpSession(source.store, id);
  return data ? { id, data } : null;
}

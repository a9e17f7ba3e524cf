import type { Store } from 'express-session';
import { passportUserResolver, type ChannelsModuleOptions } from '../src';
import { sampleLayerConfig } from './sample-layer';
import type { UsersStore } from './users.store';

/** The session cookie's name (express-session's default). */
export const SESSION_COOKIE = 'connect.sid';

/** The development default of `SESSION_SECRET`: public, so anyone can sign a session cookie with it. */
export const DEVELOPMENT_SECRET = 'nestjs-channels sample: development secret, set SESSION_SECRET';

/**
 * The secret the session cookie is signed with: `SESSION_SECRET`. Unset, the development default
 * is used, except with `NODE_ENV=production`, where a missing or default secret stops the start:
 * anyone who reads this file could sign a session cookie for any session id.
 */
export function sessionSecret(env: NodeJS.ProcessEnv = process.env): string {
  const secret = env.SESSION_SECRET || DEVELOPMENT_SECRET;
  if (env.NODE_ENV === 'production' && secret === DEVELOPMENT_SECRET) {
    throw new Error(
      'SESSION_SECRET is not set (or is the public development secret) while NODE_ENV=production: ' +
        'set SESSION_SECRET to a long random value, e.g. `openssl rand -base64 32`',
    );
  }
  return secret;
}

/** `LOGIN_ATTEMPTS_PER_MINUTE`: login posts a client may make per minute (default 10), then 429. */
export function loginAttemptsPerMinute(env: NodeJS.ProcessEnv = process.env): number {
  const limit = Number(env.LOGIN_ATTEMPTS_PER_MINUTE ?? 10);
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`LOGIN_ATTEMPTS_PER_MINUTE must be a positive integer, got ${env.LOGIN_ATTEMPTS_PER_MINUTE}`);
  return limit;
}

/** `ALLOWED_HOSTS`, comma-separated (`example.com,.example.org`); unset or empty: the library default (localhost). */
export function allowedHosts(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const hosts = (env.ALLOWED_HOSTS ?? '')
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  return hosts.length > 0 ? hosts : undefined;
}

export interface SampleSessions {
  /** The express-session Store the app's session middleware uses (SessionStoreModule's). */
  store: Store;
  /** Turns the username passport's layout keeps in the session into the user. */
  users: Pick<UsersStore, 'find'>;
}

/**
 * In-memory layer and an in-process worker by default (one command, nothing to install).
 * `CHANNELS_LAYER=redis|rabbitmq|ipc` picks another layer (sample-layer.ts); `CHANNELS_WORKER=off` leaves the consumers to
 * separate worker processes. Consumers read the HTTP session from `store` (signed with
 * `SESSION_SECRET`), and `@AllowedHostsOnly()` lets WebSockets in from `ALLOWED_HOSTS`.
 */
export function channelsConfig(
  { store, users }: SampleSessions,
  env: NodeJS.ProcessEnv = process.env,
): ChannelsModuleOptions {
  const hosts = allowedHosts(env);
  return {
    layers: { default: sampleLayerConfig(env) },
    worker: { enabled: env.CHANNELS_WORKER !== 'off' },
    sessions: {
      store,
      secret: sessionSecret(env),
      cookieName: SESSION_COOKIE,
      userResolver: passportUserResolver((username) => users.find(username)),
    },
    // The Origin's port must be the one the handshake came to: another app on another port of an
    // allowed host cannot open these sockets. Behind a proxy that rewrites Host to its upstream's
    // host:port (nginx's default `proxy_set_header Host $proxy_host`), pass Host through instead.
    security: { ...(hosts ? { allowedHosts: hosts } : {}), matchOriginPort: true },
  };
}

import type { Store } from 'express-session';
import { passportUserResolver, type ChannelsModuleOptions } from '../src';
import type { UsersStore } from './users.store';

/** The session cookie's name (express-session's default). */
export const SESSION_COOKIE = 'connect.sid';

/**
 * The secret the session cookie is signed with: `SESSION_SECRET`. The default is for development
 * only (anyone who reads this file can forge a session cookie): set SESSION_SECRET anywhere else.
 */
export function sessionSecret(env: NodeJS.ProcessEnv = process.env): string {
  return env.SESSION_SECRET || 'nestjs-channels sample: development secret, set SESSION_SECRET';
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
 * `CHANNELS_LAYER=redis` uses Redis (`REDIS_URL`); `CHANNELS_WORKER=off` leaves the consumers to
 * separate worker processes. Consumers read the HTTP session from `store` (signed with
 * `SESSION_SECRET`), and `@AllowedHostsOnly()` lets WebSockets in from `ALLOWED_HOSTS`.
 */
export function channelsConfig(
  { store, users }: SampleSessions,
  env: NodeJS.ProcessEnv = process.env,
): ChannelsModuleOptions {
  const redis = env.CHANNELS_LAYER === 'redis';
  const hosts = allowedHosts(env);
  return {
    layers: {
      default: redis
        ? {
            backend: 'redis',
            options: { hosts: [env.REDIS_URL ?? 'redis://127.0.0.1:6379'], prefix: env.CHANNELS_PREFIX ?? 'sample:' },
          }
        : { backend: 'memory' },
    },
    worker: { enabled: env.CHANNELS_WORKER !== 'off' },
    sessions: {
      store,
      secret: sessionSecret(env),
      cookieName: SESSION_COOKIE,
      userResolver: passportUserResolver((username) => users.find(username)),
    },
    ...(hosts ? { security: { allowedHosts: hosts } } : {}),
  };
}

// Talks to the sample app as a browser would: logs in over HTTP, then opens WebSockets with the
// session cookie and an Origin (browsers always send one; `@AllowedHostsOnly()` refuses sockets without).
import type WebSocket from 'ws';
import type { ClientOptions } from 'ws';

/** POSTs the login form; resolves with the response as it is (303 on success, no redirect followed). */
export function postLogin(url: string, username: string, password: string): Promise<Response> {
  return fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
    redirect: 'manual',
  });
}

/** The `connect.sid=…` pair a response sets, ready for a Cookie header. */
export function sessionCookie(response: Response): string {
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('connect.sid='));
  if (!cookie) throw new Error(`no session cookie in ${JSON.stringify(response.headers.getSetCookie())}`);
  return cookie.split(';')[0];
}

/** Logs in and returns the session cookie. */
export async function login(url: string, username: string, password: string): Promise<string> {
  const response = await postLogin(url, username, password);
  if (response.status !== 303) throw new Error(`login as ${username} answered ${response.status}`);
  return sessionCookie(response);
}

/** `ws` client options of a page of `origin`, with the session cookie when there is one. */
export function browserLike(origin: string | undefined, cookie?: string): ClientOptions {
  return { ...(origin === undefined ? {} : { origin }), headers: cookie ? { cookie } : {} };
}

/** Every text frame a socket receives, in order; `next()` waits for the next unread one. */
export function inbox(socket: WebSocket): { frames: string[]; next(timeoutMs?: number): Promise<string> } {
  const frames: string[] = [];
  const waiting: Array<(frame: string) => void> = [];
  let read = 0;
  socket.on('message', (data) => {
    frames.push(String(data));
    waiting.shift()?.(frames[read++]);
  });
  return {
    frames,
    next(timeoutMs = 5000) {
      if (read < frames.length) return Promise.resolve(frames[read++]);
      return new Promise((resolve, reject) => {
        const take = (frame: string): void => {
          clearTimeout(timer);
          resolve(frame);
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(take), 1);
          reject(new Error(`no frame within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.push(take);
      });
    },
  };
}

import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message } from '../channels/message';
import { readHttpRequest } from './http-request';
import { sendHttpResponse } from './http-response';

/** Marks requests the controller consumer forwards; the value is secret to this process. */
const FORWARDED_HEADER = 'x-nestjs-channels-forwarded';
const FORWARD_TOKEN = randomBytes(16).toString('hex');

/** A request forwarded by the controller consumer: the HTTP middleware lets it through to Nest. */
export function isForwardedRequest(request: IncomingMessage): boolean {
  return request.headers[FORWARDED_HEADER] === FORWARD_TOKEN;
}

/** Where to reach the app's own server: its address, or a private loopback port when it is not listening. */
async function loopback(server: Server): Promise<{ host?: string; port?: number; socketPath?: string }> {
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo | string | null;
  if (typeof address === 'string') return { socketPath: address };
  if (!address) throw new Error('the HTTP server has no address');
  const wildcard = address.address === '::' || address.address === '0.0.0.0';
  return { host: wildcard ? '127.0.0.1' : address.address, port: address.port };
}

/**
 * Runs the app's own Nest controllers for an `http.request` message: the request is replayed to
 * the app's HTTP server on loopback (any adapter, real request and response objects) and the
 * response is sent back as `http.response` messages. This is what lets interface servers and
 * workers be separate processes running the same app.
 */
export function controllerConsumer(server: Server): (message: Message) => Promise<void> {
  let target: Promise<{ host?: string; port?: number; socketPath?: string }> | undefined;
  return async (message) => {
    target ??= loopback(server);
    const request = await readHttpRequest(message);
    const query = request.query.toString();
    const response = await new Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }>(
      (resolve, reject) => {
        void target!.then((where) => {
          const forward = httpRequest(
            {
              ...where,
              method: request.method,
              path: request.path + (query ? `?${query}` : ''),
              headers: {
                ...request.headers,
                [FORWARDED_HEADER]: FORWARD_TOKEN,
                'content-length': String(request.body.length),
              },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (chunk: Buffer) => chunks.push(chunk));
              res.on('end', () => {
                const headers: Record<string, string | string[]> = {};
                for (const [name, value] of Object.entries(res.headers)) {
                  // Hop-by-hop headers belong to this loopback connection, not to the client's.
                  if (
                    value !== undefined &&
                    name !== 'connection' &&
                    name !== 'transfer-encoding' &&
                    name !== 'keep-alive'
                  ) {
                    headers[name] = value;
                  }
                }
                resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
              });
              res.on('error', reject);
            },
          );
          forward.on('error', reject);
          forward.end(request.body);
        }, reject);
      },
    );
    await sendHttpResponse(message, { status: response.status, headers: response.headers, body: response.body });
  };
}

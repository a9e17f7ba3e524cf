import WebSocket, { type ClientOptions } from 'ws';

/**
 * Opens a real WebSocket; rejects with `refused with <status>` when the handshake is answered with
 * HTTP. `options` go to `ws` as they are: `origin` (browsers always send one), `headers` (a Cookie)…
 */
export function openSocket(url: string, protocols?: string | string[], options?: ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`refused with ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

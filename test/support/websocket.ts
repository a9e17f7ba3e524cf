import WebSocket from 'ws';

/** Opens a real WebSocket; rejects with `refused with <status>` when the handshake is answered with HTTP. */
export function openSocket(url: string, protocols?: string | string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`refused with ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

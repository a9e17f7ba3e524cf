import type { IncomingMessage } from 'node:http';
import type { ChannelMessage } from '../layers/message';

/** `[host, port]` of the client, from the socket or (with proxy headers) X-Forwarded-For/-Port. */
function clientAddress(request: IncomingMessage, proxyHeaders: boolean): [string, number] | null {
  if (proxyHeaders) {
    const forwarded = request.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) {
      const port = Number(request.headers['x-forwarded-port'] ?? 0);
      return [first, Number.isInteger(port) ? port : 0];
    }
  }
  const { remoteAddress, remotePort } = request.socket;
  return remoteAddress ? [remoteAddress, remotePort ?? 0] : null;
}

/** Request headers as ASGI wants them: `[name, value]` bytes, names lowercased, names with `_` dropped. */
export function asgiHeaders(request: IncomingMessage): Buffer[][] {
  const headers: Buffer[][] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name.includes('_')) continue; // they could spoof dash-named headers behind a proxy
    headers.push([Buffer.from(name, 'latin1'), Buffer.from(raw[i + 1], 'latin1')]);
  }
  return headers;
}

/** Path (percent-decoded) and raw query string of a request. */
export function splitTarget(url: string): { path: string; rawPath: string; query: Buffer } {
  const question = url.indexOf('?');
  const rawPath = question === -1 ? url : url.slice(0, question);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  return { path, rawPath, query: Buffer.from(question === -1 ? '' : url.slice(question + 1), 'latin1') };
}

/** The `websocket.connect` message for an upgrade request. */
export function websocketConnectMessage(
  request: IncomingMessage,
  replyChannel: string,
  proxyHeaders: boolean,
): ChannelMessage {
  const { path, query } = splitTarget(request.url ?? '/');
  const { localAddress, localPort } = request.socket;
  const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
  const forwardedProto = proxyHeaders ? request.headers['x-forwarded-proto'] : undefined;
  const secure = encrypted || forwardedProto === 'https' || forwardedProto === 'wss';
  return {
    reply_channel: replyChannel,
    path,
    query_string: query,
    root_path: Buffer.alloc(0),
    scheme: secure ? 'wss' : 'ws',
    headers: asgiHeaders(request),
    client: clientAddress(request, proxyHeaders),
    server: localAddress ? [localAddress, localPort ?? 0] : null,
    order: 0,
  };
}

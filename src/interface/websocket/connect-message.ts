import type { IncomingMessage } from 'node:http';
import type { ChannelMessage } from '../../layers/channel-message';
import { mergedAsgiHeaders, splitTarget } from '../common/request-fields';
import { ROOT_PATH_HEADER, rootPathOf } from '../common/root-path';

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

/** The `websocket.connect` message for an upgrade request. */
export function websocketConnectMessage(
  request: IncomingMessage,
  replyChannel: string,
  proxyHeaders: boolean,
  rootPath: string,
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
    // Text, as in http.request and as Daphne sent it, not the bytes the spec's table says (see the
    // README's Decisions).
    root_path: rootPathOf(request, rootPath, proxyHeaders),
    scheme: secure ? 'wss' : 'ws',
    headers: mergedAsgiHeaders(request, proxyHeaders ? ROOT_PATH_HEADER : undefined),
    client: clientAddress(request, proxyHeaders),
    server: localAddress ? [localAddress, localPort ?? 0] : null,
    order: 0,
  };
}

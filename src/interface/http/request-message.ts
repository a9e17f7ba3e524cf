import type { IncomingMessage } from 'node:http';
import type { ChannelMessage } from '../../layers/channel-message';
import { asgiHeaders, splitTarget } from '../common/request-fields';
import { ROOT_PATH_HEADER, rootPathOf } from '../common/root-path';

function address(host: string | undefined, port: number | undefined): [string, number] | null {
  return host ? [host, port ?? 0] : null;
}

/** The `http.request` message for a request (its first body chunk included). */
export function httpRequestMessage(
  request: IncomingMessage,
  replyChannel: string,
  body: Buffer,
  bodyChannel: string | undefined,
  proxyHeaders: boolean,
  rootPath: string,
): ChannelMessage {
  const { path, query } = splitTarget(request.url ?? '/');
  const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
  const forwardedProto = proxyHeaders ? request.headers['x-forwarded-proto'] : undefined;
  const forwardedFor = proxyHeaders
    ? String(request.headers['x-forwarded-for'] ?? '')
        .split(',')[0]
        .trim()
    : '';
  const message: ChannelMessage = {
    reply_channel: replyChannel,
    http_version: request.httpVersion,
    method: (request.method ?? 'GET').toUpperCase(),
    scheme: encrypted || forwardedProto === 'https' ? 'https' : 'http',
    path,
    query_string: query,
    root_path: rootPathOf(request, rootPath, proxyHeaders),
    headers: asgiHeaders(request, proxyHeaders ? ROOT_PATH_HEADER : undefined),
    body,
    client: forwardedFor
      ? [forwardedFor, Number(request.headers['x-forwarded-port'] ?? 0) || 0]
      : address(request.socket.remoteAddress, request.socket.remotePort),
    server: address(request.socket.localAddress, request.socket.localPort),
  };
  if (bodyChannel) message.body_channel = bodyChannel;
  return message;
}

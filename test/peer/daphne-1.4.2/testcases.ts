/**
 * Daphne 1.4.2's `daphne/tests/testcases.py`: the assertions on ASGI messages and raw responses,
 * translated. Python's text (`six.text_type`) is a JS string; Python's bytes (`six.binary_type`)
 * is a Buffer (the layer gives bytes back as Buffers); a list of tuples is an array of
 * `[name, value]` pairs; `None` is `null` or a missing key.
 */
import { isIPv4 } from 'node:net';
import type { ChannelMessage, ChannelValue } from '../../../src';
import { unquote, urlencode, type Headers, type QueryParams } from './http-strategies';
import { headerLine } from './factories';

const present = (value: ChannelValue | undefined): value is ChannelValue => value !== undefined && value !== null;

/** `six.binary_type` */
function expectBytes(value: ChannelValue | undefined): Buffer {
  expect(Buffer.isBuffer(value)).toBe(true);
  return value as Buffer;
}

function expectText(value: ChannelValue | undefined): string {
  expect(typeof value).toBe('string');
  return value as string;
}

/** `assert_is_ip_address` (`socket.inet_aton`: IPv4). */
function assertIsIpAddress(address: string): void {
  if (!isIPv4(address)) throw new Error(`'${address}' is not a valid IP address.`);
}

function assertPresenceOfMessageKeys(
  keys: readonly string[],
  required: ReadonlySet<string>,
  optional: ReadonlySet<string>,
): void {
  for (const key of required) expect(keys).toContain(key);
  // No other keys.
  expect(keys.filter((key) => !required.has(key) && !optional.has(key))).toEqual([]);
}

/**
 * `assert_valid_reply_channel`: text, decided by the server. Daphne's tests built the server with
 * `send_channel="test!"` and checked that prefix; this package names its reply channels itself
 * (`interface.<10 letters>!<10 letters>`, not configurable), so the check is that it is a
 * process-specific (`!`) channel name.
 */
function assertValidReplyChannel(replyChannel: ChannelValue | undefined): void {
  expect(expectText(replyChannel)).toMatch(/^[^!]+![^!]+$/);
}

/** `assert_valid_path`: text, the request's path, already URL-decoded. */
function assertValidPath(path: ChannelValue | undefined, requestPath: string): void {
  const text = expectText(path);
  expect(text).toBe(requestPath);
  expect(unquote(text)).toBe(text);
}

/** `assert_valid_address_and_port`: `[text IP address, int port]`. */
function assertValidAddressAndPort(host: ChannelValue): void {
  expect(Array.isArray(host)).toBe(true);
  const [address, port] = host as readonly ChannelValue[];
  assertIsIpAddress(expectText(address));
  expect(Number.isInteger(port)).toBe(true);
}

/** The message's `[name, value]` byte pairs, checked to be bytes, as latin-1 strings. */
function messageHeaders(headers: ChannelValue | undefined): [string, string][] {
  expect(Array.isArray(headers)).toBe(true);
  return (headers as readonly ChannelValue[]).map((pair) => {
    expect(Array.isArray(pair)).toBe(true);
    const [name, value] = pair as readonly ChannelValue[];
    return [expectBytes(name).toString('latin1'), expectBytes(value).toString('latin1')];
  });
}

/** `{name: [value1, value2, ...]}`: names lowercased and stripped, values stripped, when `expected`. */
function groupHeaders(pairs: readonly (readonly [string, string])[], expected: boolean): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    const key = expected ? name.toLowerCase().trim() : name;
    const list = grouped.get(key) ?? [];
    list.push(expected ? value.trim() : value);
    grouped.set(key, list);
  }
  return grouped;
}

const sorted = (grouped: Map<string, string[]>): [string, string[]][] =>
  [...grouped.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** `ASGIHTTPTestCase.assert_valid_http_request_message`. */
export function assertValidHttpRequestMessage(
  message: ChannelMessage,
  requestMethod: string,
  requestPath: string,
  requestParams?: QueryParams | null,
  requestHeaders?: Headers | null,
  requestBody?: string | null,
): void {
  expect(message).toBeTruthy();
  assertPresenceOfMessageKeys(
    Object.keys(message),
    new Set(['reply_channel', 'http_version', 'method', 'path', 'query_string', 'headers']),
    new Set(['scheme', 'root_path', 'body', 'body_channel', 'client', 'server']),
  );

  // == Required fields ==
  assertValidReplyChannel(message.reply_channel);
  assertValidPath(message.path, requestPath);

  expect(['1.0', '1.1', '1.2']).toContain(expectText(message.http_version));

  const method = expectText(message.method);
  expect(method).toBe(method.toUpperCase());
  expect(method).toBe(requestMethod);

  // Bytes, still URL-encoded.
  expect(expectBytes(message.query_string).toString('latin1')).toBe(urlencode(requestParams ?? []));

  // The order of names does not matter, the order of one name's values does.
  expect(sorted(groupHeaders(messageHeaders(message.headers), false))).toEqual(
    sorted(groupHeaders(requestHeaders ?? [], true)),
  );

  // == Optional fields ==
  if (present(message.scheme)) expect(expectText(message.scheme)).not.toBe('');
  if (present(message.root_path)) expectText(message.root_path);
  if (requestBody !== undefined && requestBody !== null ? true : present(message.body)) {
    expect(expectBytes(message.body).toString('latin1')).toBe(requestBody ?? '');
  }
  if (present(message.body_channel)) expect(expectText(message.body_channel)).toContain('?');
  if (present(message.client)) assertValidAddressAndPort(message.client);
  if (present(message.server)) assertValidAddressAndPort(message.server);
}

/**
 * `ASGIHTTPTestCase.assert_valid_http_response_message`. Header names are compared ignoring case,
 * values exactly, as the original did.
 */
export function assertValidHttpResponseMessage(message: ChannelMessage, response: Buffer): void {
  expect(message).toBeTruthy();
  const text = response.toString('latin1');
  expect(text.startsWith('HTTP')).toBe(true);
  expect(text).toContain(String(message.status));
  if (message.content !== undefined) expect(response.includes(message.content as Buffer)).toBe(true);
  if (message.headers !== undefined) {
    for (const [name, value] of messageHeaders(message.headers)) {
      expect(text.toLowerCase()).toContain(headerLine(name, value).toString('latin1').toLowerCase());
      expect(text).toContain(value);
    }
  }
}

/** `ASGIWebSocketTestCase.assert_websocket_upgrade`. */
export function assertWebsocketUpgrade(response: Buffer, body: Buffer = Buffer.alloc(0), expectClose = false): void {
  const text = response.toString('latin1');
  expect(text).toContain('HTTP/1.1 101 Switching Protocols');
  expect(text).toContain('Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n');
  expect(response.includes(body)).toBe(true);
  const closeFrame = Buffer.from([0x88, 0x02, 0x03, 0xe8]);
  expect(response.subarray(-4).equals(closeFrame)).toBe(expectClose);
}

/** `ASGIWebSocketTestCase.assert_websocket_denied`. */
export function assertWebsocketDenied(response: Buffer): void {
  expect(response.toString('latin1')).toContain('HTTP/1.1 403');
}

/** `ASGIWebSocketTestCase.assert_valid_websocket_connect_message`. */
export function assertValidWebsocketConnectMessage(
  message: ChannelMessage,
  requestPath = '/',
  requestParams?: QueryParams | null,
  requestHeaders?: Headers | null,
): void {
  expect(message).toBeTruthy();
  assertPresenceOfMessageKeys(
    Object.keys(message),
    new Set(['reply_channel', 'path', 'headers', 'order']),
    new Set(['scheme', 'query_string', 'root_path', 'client', 'server']),
  );

  // == Required fields ==
  assertValidReplyChannel(message.reply_channel);
  assertValidPath(message.path, requestPath);
  expect(Number.isInteger(message.order)).toBe(true);
  expect(message.order).toBe(0);

  // Daphne gave one header field per name, its values joined with ','; the expected
  // `(name, 'v1,v2')` pairs must be among the message's (which has the handshake's headers too).
  const expected = [...groupHeaders(requestHeaders ?? [], true)].map(
    ([name, values]) => `${name}: ${values.join(',')}`,
  );
  const actual = new Set(messageHeaders(message.headers).map(([name, value]) => `${name}: ${value}`));
  expect(expected.filter((header) => !actual.has(header))).toEqual([]);

  // == Optional fields ==
  if (present(message.scheme) && message.scheme !== '') expect(['ws', 'wss']).toContain(expectText(message.scheme));
  const queryString = message.query_string;
  if (present(queryString) && !(Buffer.isBuffer(queryString) && queryString.length === 0) && queryString !== '') {
    // Bytes, still URL-encoded.
    expect(expectBytes(queryString).toString('latin1')).toBe(urlencode(requestParams ?? []));
  }
  // Text when present, as the original checks (and as http.request has it). ASGI 1's table says
  // bytes for websocket.connect (spec C6); Daphne 1.4.2 sent no root_path on WebSockets at all.
  if (present(message.root_path)) expectText(message.root_path);
  if (present(message.client)) assertValidAddressAndPort(message.client);
  if (present(message.server)) assertValidAddressAndPort(message.server);
}

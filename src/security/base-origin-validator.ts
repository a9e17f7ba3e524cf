import { UseGuards, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { Message } from '../channels/message';
import { CHANNELS_CONTEXT, getConsumerArgs } from '../consumers/consumer-context';
import { DenyConnection } from '../consumers/exceptions';

const CONNECT_CHANNEL = 'websocket.connect';

/** Text of a header name or value: bytes are read as latin1, so that non-ASCII bytes stay visible. */
function headerText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (!(value instanceof Uint8Array)) return null;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
}

/**
 * The first Origin header of a connect message, or null. ASGI headers are `[name, value]` byte pairs
 * (entries too short are skipped, as in Channels); the legacy dict form `{ origin: '...' }` is read too,
 * where Channels 1.x denied it every time (quirk Q11).
 */
function findOrigin(headers: unknown): string | null {
  if (Array.isArray(headers)) {
    for (const pair of headers as unknown[]) {
      if (!Array.isArray(pair) || pair.length < 2) continue;
      if (headerText(pair[0])?.toLowerCase() === 'origin') return headerText(pair[1]);
    }
    return null;
  }
  if (typeof headers === 'object' && headers !== null && !(headers instanceof Uint8Array)) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === 'origin') return headerText(value);
    }
  }
  return null;
}

// Channels decodes the value as ASCII and denies what fails; latin1 decoding kept any high byte visible.
const isAscii = (text: string): boolean => [...text].every((char) => char.charCodeAt(0) < 0x80);

/**
 * A guard that checks the Origin header of a WebSocket handshake (Channels' `BaseOriginValidator`).
 * Subclass it, implement `validateOrigin`, make it `@Injectable()` (it can inject what it needs) and put
 * it on a `websocket.connect` consumer with `@ValidateOrigin(MyValidator)`.
 *
 * Browsers do not apply the same-origin policy to WebSockets, so any page can open one to your server,
 * with the user's cookies; checking Origin on connect is what stops cross-site WebSocket hijacking.
 *
 * It acts only on `websocket.connect` in a `channels` context: the handshake is where a connection is
 * refused, so on other channels (and in HTTP or RPC contexts) it lets the call through. That makes it
 * usable on class-based consumers too (on the class or on `dispatch`), which receive every WebSocket
 * channel; Channels 1.x could decorate only plain functions (quirk Q11).
 *
 * A missing Origin, a non-ASCII one, or `validateOrigin` saying no throws `DenyConnection`: the
 * handshake is answered with HTTP 403 and the socket never opens.
 */
export abstract class BaseOriginValidator implements CanActivate {
  /** True to let the connection through. `origin` is the raw header value, ASCII, possibly `null`. */
  abstract validateOrigin(message: Message, origin: string): boolean | Promise<boolean>;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType<string>() !== CHANNELS_CONTEXT) return true;
    const { message } = getConsumerArgs(context);
    if (message.channel.name !== CONNECT_CHANNEL) return true;
    const origin = findOrigin(message.content.headers);
    if (origin === null) throw new DenyConnection('Origin not allowed: no Origin header');
    if (!isAscii(origin)) throw new DenyConnection('Origin not allowed: the Origin header is not ASCII');
    if (!(await this.validateOrigin(message, origin))) {
      throw new DenyConnection(`Origin not allowed: ${JSON.stringify(origin)}`);
    }
    return true;
  }
}

/** Checks the Origin of WebSocket handshakes with `validator` (a guard: on a method or a class consumer). */
export function ValidateOrigin(validator: Type<BaseOriginValidator>): MethodDecorator & ClassDecorator {
  return UseGuards(validator);
}

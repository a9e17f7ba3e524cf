import { UseGuards, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import type { Message } from '../channels/message';
import { headerValues } from '../channels/message-headers';
import { CHANNELS_CONTEXT, getConsumerArgs } from '../consumers/consumer-context';
import { DenyConnection } from '../consumers/exceptions';

const CONNECT_CHANNEL = 'websocket.connect';

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
    // The first Origin of the ASGI `[name, value]` pairs, or of the legacy object form, where
    // Channels 1.x denied it every time (quirk Q11).
    const origin = headerValues(message.content, 'origin')[0] ?? null;
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

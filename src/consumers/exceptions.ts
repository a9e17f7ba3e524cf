import { IntrinsicException } from '@nestjs/common';
import type { Message } from '../channels/message';

// These are control flow, not failures: IntrinsicException keeps Nest's exception handler from logging them.

/** Thrown by a consumer to have the message put back at the end of its channel (10 tries at most). */
export class ConsumeLater extends IntrinsicException {
  constructor(message = 'Consume this message later') {
    super(message);
    this.name = 'ConsumeLater';
  }
}

/** An exception the worker answers by calling its `run(message)` instead of logging it. */
export abstract class ChannelSocketException extends IntrinsicException {
  abstract run(message: Message): Promise<void> | void;
}

/** Closes the WebSocket the message came from, with an optional close code (1000, or 3000–4999). */
export class WebsocketCloseException extends ChannelSocketException {
  constructor(readonly code?: number) {
    super(`Close the WebSocket${code === undefined ? '' : ` with code ${code}`}`);
    this.name = 'WebsocketCloseException';
    if (code !== undefined && (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999)))) {
      throw new TypeError(`A WebSocket close code must be 1000 or an integer from 3000 to 4999, got ${code}`);
    }
  }

  async run(message: Message): Promise<void> {
    if (!message.replyChannel) throw new TypeError('WebsocketCloseException needs a message with a reply_channel');
    await message.replyChannel.send({ close: this.code ?? true });
  }
}

/** Thrown by a `websocket.connect` consumer to refuse the connection (the handshake gets a 403). */
export class DenyConnection extends ChannelSocketException {
  constructor(reason = 'Connection denied') {
    super(reason);
    this.name = 'DenyConnection';
  }

  async run(message: Message): Promise<void> {
    if (message.channel.name !== 'websocket.connect') {
      throw new TypeError(`DenyConnection is only meaningful on websocket.connect, not ${message.channel.name}`);
    }
    if (message.replyChannel) await message.replyChannel.send({ close: true });
  }
}

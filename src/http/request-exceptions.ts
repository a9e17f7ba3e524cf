import { Logger } from '@nestjs/common';
import type { Message } from '../channels/message';
import { ChannelSocketException } from '../consumers/exceptions';
import { printable } from '../logging/printable';
import { sendHttpResponse } from './http-response';

const logger = new Logger('HttpRequest');

/**
 * The client went away before the whole request body arrived (Channels' `RequestAborted`), thrown by
 * `readHttpRequest`. There is nobody to answer: the worker lets it pass with a debug line, no error.
 */
export class RequestAborted extends ChannelSocketException {
  constructor() {
    super('The client went away before the whole request body arrived');
    this.name = 'RequestAborted';
  }

  run(message: Message): void {
    logger.debug(`Request on ${printable(message.content.path)} aborted by the client while its body was read`);
  }
}

/**
 * The request body did not arrive in time (Channels' `RequestTimeout`), thrown by `readHttpRequest`:
 * the worker answers 408 for the consumer.
 */
export class RequestTimeout extends ChannelSocketException {
  constructor(readonly seconds: number) {
    super(`The request body did not arrive within ${seconds} s`);
    this.name = 'RequestTimeout';
  }

  async run(message: Message): Promise<void> {
    await sendHttpResponse(message, { status: 408, body: 'Request body timed out' });
  }
}

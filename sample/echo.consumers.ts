import { Injectable } from '@nestjs/common';
import { Consumer, type Message } from '../src';

/** `/echo/`: every frame comes back as it went, text or bytes. */
@Injectable()
export class EchoConsumers {
  @Consumer('websocket.connect', { path: /^\/echo\/$/ })
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: /^\/echo\/$/ })
  async echo(message: Message): Promise<void> {
    const { text, bytes } = message.content;
    await message.replyChannel!.send(bytes instanceof Uint8Array ? { bytes } : { text: String(text ?? '') });
  }
}

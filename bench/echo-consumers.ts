// The WebSocket echo as nestjs-channels consumers: `websocket.connect` accepts, `websocket.receive`
// sends the text back. One class for every echo app of the bench (bench/ws-server.ts,
// bench/faults/app.ts), so the echo the interfaces section measures and the one the faults section
// floods are the same code.
import { Injectable } from '@nestjs/common';
import { Consumer, type Message } from '../src';

@Injectable()
export class EchoConsumers {
  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive')
  async receive(message: Message): Promise<void> {
    await message.replyChannel!.send({ text: message.content.text as string });
  }
}

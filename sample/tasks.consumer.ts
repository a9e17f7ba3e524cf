import { Injectable, Logger } from '@nestjs/common';
import { Consumer, type Message } from '../src';

/** A background task: runs in whichever process runs the worker, and answers on the reply channel. */
@Injectable()
export class TasksConsumer {
  private readonly logger = new Logger(TasksConsumer.name);

  @Consumer('sample.tasks')
  async uppercase(message: Message): Promise<void> {
    const text = String(message.content.text ?? '');
    this.logger.log(`uppercasing "${text}" (pid ${process.pid})`);
    await message.replyChannel?.send({ result: text.toUpperCase(), worker_pid: process.pid });
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { Consumer, printable, type Message } from '../src';
import { TASK_RESULTS, TASKS_CHANNEL, taskText } from './task';

/** A background task: runs in whichever process runs the worker, and answers on the reply channel. */
@Injectable()
export class TasksConsumer {
  private readonly logger = new Logger(TasksConsumer.name);

  @Consumer(TASKS_CHANNEL)
  async uppercase(message: Message): Promise<void> {
    const text = taskText(message.content);
    const reply = message.replyChannel;
    // Only what POST /tasks sends: a task text and a results channel it made, never another channel.
    if (text === null || !reply?.name.startsWith(TASK_RESULTS)) {
      this.logger.warn(`A malformed task was dropped (reply channel ${printable(reply?.name ?? 'none')})`);
      return;
    }
    this.logger.log(`uppercasing ${text.length} characters (pid ${process.pid})`);
    await reply.send({ result: text.toUpperCase(), worker_pid: process.pid });
  }
}

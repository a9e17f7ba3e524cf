import { BadRequestException, Body, Controller, Get, Post, ServiceUnavailableException } from '@nestjs/common';
import { ChannelFull, ChannelsService, InjectChannelLayer, type ChannelLayer } from '../src';
import { MAX_TASK_TEXT, TASK_RESULTS, TASKS_CHANNEL, taskText } from './task';

/**
 * `POST /tasks {"text"}`: a background task run by whichever process runs the worker. The server
 * makes the reply channel and names it in the message; the client never sees or names a channel.
 */
@Controller()
export class TasksController {
  constructor(
    @InjectChannelLayer() private readonly layer: ChannelLayer,
    private readonly channels: ChannelsService,
  ) {}

  /** What the sample serves. */
  @Get('api')
  index(): Record<string, string> {
    return {
      chat: 'GET /  (the chat page; WebSocket /chat/<room>/?username=<name>)',
      login: 'GET /login (the form), POST /login {username, password} → 303 /private/, POST /logout, GET /me',
      private: 'GET /private/  (the chat for logged-in users; WebSocket /private/<room>/ with the session cookie)',
      letters: 'WebSocket /letters/  (logged in: chat with the users whose name starts with your letter)',
      multi: 'GET /multi/  (a chat and a shared counter; WebSocket /multi/?username=<name>, multiplexed)',
      echo: 'WebSocket /echo/',
      hello: 'GET /hello/...',
      poll: 'GET /poll/<room>/  (the next chat message, or 204 after 30 s)',
      history: 'GET /rooms/<room>/messages',
      task: `POST /tasks  {"text": "..."} (1 to ${MAX_TASK_TEXT} characters; a worker uppercases it)`,
    };
  }

  /** Sends a task to the `sample.tasks` consumer and waits (up to 5 s) for its reply: 400 for a bad body. */
  @Post('tasks')
  async task(@Body() body: unknown): Promise<Record<string, unknown>> {
    const text = taskText(body);
    if (text === null)
      throw new BadRequestException(`The body is {"text": string of 1 to ${MAX_TASK_TEXT} characters}`);
    // A single-reader channel of its own, so concurrent requests never take each other's replies.
    const replyChannel = await this.layer.newChannel(TASK_RESULTS);
    try {
      await this.channels.channel(TASKS_CHANNEL).send({ text, reply_channel: replyChannel });
    } catch (error) {
      if (error instanceof ChannelFull) throw new ServiceUnavailableException('The task queue is full, try again');
      throw error;
    }
    const [, reply] = await this.layer.receive([replyChannel], { block: true, timeout: 5 });
    if (!reply) throw new ServiceUnavailableException('No worker answered within 5 s');
    return reply;
  }
}

import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Param,
  PayloadTooLargeException,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  ChannelFull,
  ChannelsService,
  InjectChannelLayer,
  MessageTooLarge,
  type ChannelMessage,
  type GroupsChannelLayer,
} from '../src';

/** Maps layer errors to HTTP: a full channel is 503, too large 413, bad names or values 400. */
async function http<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ChannelFull) throw new ServiceUnavailableException(error.message);
    if (error instanceof MessageTooLarge) throw new PayloadTooLargeException(error.message);
    if (error instanceof TypeError) throw new BadRequestException(error.message);
    throw error;
  }
}

/** A window onto the channel layer over HTTP: tasks, send, receive (long-poll), groups and statistics. */
@Controller()
export class LayerController {
  constructor(
    @InjectChannelLayer() private readonly layer: GroupsChannelLayer,
    private readonly channels: ChannelsService,
  ) {}

  @Get('api')
  index(): Record<string, string> {
    return {
      chat: 'GET /  (the chat page; WebSocket /chat/<room>/?username=<name>)',
      login: 'GET /login (the form), POST /login {username, password} → 303 /private/, POST /logout, GET /me',
      private: 'GET /private/  (the chat for logged-in users; WebSocket /private/<room>/ with the session cookie)',
      letters: 'WebSocket /letters/  (logged in: chat with the users whose name starts with your letter)',
      multi:
        'GET /multi/  (a chat and a shared counter; WebSocket /multi/ multiplexed: {"stream": "chat" | "counter", "payload"})',
      echo: 'WebSocket /echo/',
      hello: 'GET /hello/...',
      poll: 'GET /poll/<room>/  (the next chat message, or 204 after 30 s)',
      history: 'GET /rooms/<room>/messages',
      task: 'POST /tasks  {"text": "..."}  (a worker uppercases it and replies)',
      send: 'POST /channels/:channel  (JSON body is the message)',
      receive: 'GET /channels/:channel?wait=seconds',
      join: 'POST /groups/:group/:channel',
      leave: 'POST /groups/:group/:channel/discard',
      broadcast: 'POST /groups/:group  (JSON body is the message)',
      members: 'GET /groups/:group',
      stats: 'GET /stats',
    };
  }

  /** Sends a task to the `sample.tasks` consumer and waits (up to 5 s) for its reply. */
  @Post('tasks')
  async task(@Body() body: { text?: unknown }) {
    // A single-reader channel of its own, so concurrent requests never take each other's replies.
    const replyChannel = await this.layer.newChannel('sample.results?');
    await http(
      this.channels.channel('sample.tasks').send({ text: String(body.text ?? ''), reply_channel: replyChannel }),
    );
    const [, reply] = await this.layer.receive([replyChannel], { block: true, timeout: 5 });
    if (!reply) throw new ServiceUnavailableException('No worker answered within 5 s');
    return reply;
  }

  @Post('channels/:channel')
  async send(@Param('channel') channel: string, @Body() message: ChannelMessage): Promise<{ sent: string }> {
    await http(this.layer.send(channel, message));
    return { sent: channel };
  }

  @Get('channels/:channel')
  async receive(@Param('channel') channel: string, @Query('wait') wait?: string) {
    const timeout = Math.min(Number(wait ?? 0) || 0, 30);
    const [name, message] = await http(this.layer.receive([channel], { block: timeout > 0, timeout }));
    return { channel: name, message };
  }

  @Post('groups/:group/:channel')
  async join(@Param('group') group: string, @Param('channel') channel: string) {
    await http(this.layer.groupAdd(group, channel));
    return { group, members: await this.layer.groupChannels(group) };
  }

  @Post('groups/:group/:channel/discard')
  async leave(@Param('group') group: string, @Param('channel') channel: string) {
    await http(this.layer.groupDiscard(group, channel));
    return { group, members: await this.layer.groupChannels(group) };
  }

  @Post('groups/:group')
  async broadcast(@Param('group') group: string, @Body() message: ChannelMessage) {
    await http(this.layer.sendGroup(group, message));
    return { group, sentTo: await this.layer.groupChannels(group) };
  }

  @Get('groups/:group')
  async members(@Param('group') group: string) {
    return { group, members: await http(this.layer.groupChannels(group)) };
  }

  @Get('stats')
  stats() {
    return this.layer.globalStatistics();
  }
}

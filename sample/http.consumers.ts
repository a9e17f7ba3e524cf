import { Injectable } from '@nestjs/common';
import { Consumer, Group, sendHttpResponse, type Message, type RouteKwargs } from '../src';

/** Seconds a long poll waits for a chat message before a 204 (`POLL_TIMEOUT`, default 30). */
const pollSeconds = (): number => Number(process.env.POLL_TIMEOUT ?? 30);

/** Plain HTTP answered by consumers, over channels. */
@Injectable()
export class HttpConsumers {
  @Consumer('http.request', { path: /^\/hello\//, method: /^GET$/ })
  async hello(message: Message): Promise<void> {
    await sendHttpResponse(message, {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `Hello world! You asked for ${String(message.content.path)}`,
    });
  }

  /** Long poll: the reply channel joins the room's poll group; a chat message answers it, or 204. */
  @Consumer('http.request', { path: /^\/poll\/(?<room>[A-Za-z0-9_-]{1,50})\/$/, method: /^GET$/ })
  async poll(message: Message, { room }: RouteKwargs): Promise<void> {
    const pollers = new Group(`poll-${room}`);
    const reply = message.replyChannel!;
    await pollers.add(reply);
    setTimeout(() => {
      void (async () => {
        if (!(await pollers.channels()).includes(reply.name)) return; // answered already
        await pollers.discard(reply);
        await sendHttpResponse(message, { status: 204 });
      })();
    }, pollSeconds() * 1000).unref();
  }
}

import { BadRequestException, Controller, Get, Header, Inject, Param } from '@nestjs/common';
import { chatPage } from './chat.page';
import { multiPage } from './multi.page';
import { privatePage } from './private.page';
import { ROOM_NAME } from './chat.consumers';
import { HistoryStore, type ChatLine } from './history.store';

/** The chat pages and the stored history; the chats themselves go over WebSockets to the consumers. */
@Controller()
export class ChatController {
  constructor(@Inject(HistoryStore) private readonly history: HistoryStore) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return chatPage();
  }

  /** The chat for logged-in users (it shows the login form to anybody else). */
  @Get('private')
  @Header('content-type', 'text/html; charset=utf-8')
  privatePage(): string {
    return privatePage();
  }

  /** A chat and a shared counter on one multiplexed WebSocket (/multi/). */
  @Get('multi')
  @Header('content-type', 'text/html; charset=utf-8')
  multiPage(): string {
    return multiPage();
  }

  @Get('rooms/:room/messages')
  messages(@Param('room') room: string): Promise<ChatLine[]> {
    if (!ROOM_NAME.test(room)) throw new BadRequestException('Room names are letters, digits, - and _');
    return this.history.lines(room);
  }
}

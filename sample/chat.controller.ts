import { BadRequestException, Controller, Get, Header, Param } from '@nestjs/common';
import { chatPage, homePage } from './chat.page';

/** The chat's pages; the chat itself goes over WebSockets to the consumers. */
@Controller()
export class ChatController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  home(): string {
    return homePage();
  }

  @Get('chat/:room')
  @Header('content-type', 'text/html; charset=utf-8')
  room(@Param('room') room: string): string {
    if (!/^[A-Za-z0-9_-]{1,50}$/.test(room)) throw new BadRequestException('Room names are letters, digits, - and _');
    return chatPage(room);
  }
}

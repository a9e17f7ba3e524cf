import { Module } from '@nestjs/common';
import { ChannelsModule } from '../src';
import { channelsConfig } from './channels-config';
import { ChatConsumers } from './chat.consumers';
import { ChatController } from './chat.controller';
import { EchoConsumers } from './echo.consumers';
import { HistoryStore } from './history.store';
import { HttpConsumers } from './http.consumers';
import { UsernamesStore } from './usernames.store';
import { LayerController } from './layer.controller';
import { TasksConsumer } from './tasks.consumer';

@Module({
  imports: [ChannelsModule.forRootAsync({ useFactory: () => channelsConfig() })],
  controllers: [ChatController, LayerController],
  providers: [HistoryStore, UsernamesStore, ChatConsumers, EchoConsumers, HttpConsumers, TasksConsumer],
})
export class AppModule {}

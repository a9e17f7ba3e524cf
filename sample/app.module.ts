import { Module } from '@nestjs/common';
import { ChannelsModule } from '../src';
import { channelsConfig } from './channels-config';
import { ChatConsumers } from './chat.consumers';
import { ChatController } from './chat.controller';
import { LayerController } from './layer.controller';
import { TasksConsumer } from './tasks.consumer';

@Module({
  imports: [ChannelsModule.forRootAsync({ useFactory: () => channelsConfig() })],
  controllers: [ChatController, LayerController],
  providers: [ChatConsumers, TasksConsumer],
})
export class AppModule {}

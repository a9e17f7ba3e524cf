import { Module } from '@nestjs/common';
import { ChannelsModule } from '../src';
import { channelsConfig } from './channels-config';
import { LayerController } from './layer.controller';
import { TasksConsumer } from './tasks.consumer';

@Module({
  imports: [ChannelsModule.forRootAsync({ useFactory: () => channelsConfig() })],
  controllers: [LayerController],
  providers: [TasksConsumer],
})
export class AppModule {}

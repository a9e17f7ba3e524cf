import { Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  Channel,
  ChannelLayerRegistry,
  ChannelsModule,
  ChannelsService,
  ChannelsWorkerService,
  Consumer,
  Group,
  InjectChannelLayer,
  Message,
  type ChannelLayer,
  type RouteKwargs,
} from '../../src';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class RoomStore {
  readonly joined: Array<{ room: string; reply: string }> = [];
}

@Injectable()
class ChatConsumers {
  constructor(@Inject(RoomStore) private readonly store: RoomStore) {}

  @Consumer('websocket.connect', { path: /^\/chat\/(?<room>[a-z]+)\/$/ })
  async connect(message: Message, kwargs: RouteKwargs): Promise<void> {
    this.store.joined.push({ room: kwargs.room as string, reply: message.replyChannel?.name ?? '' });
    await new Group(`chat-${kwargs.room}`).add(message.replyChannel!);
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.receive', { path: /^\/chat\/(?<room>[a-z]+)\/$/ })
  async receive(message: Message, { room }: RouteKwargs): Promise<void> {
    await new Group(`chat-${room}`).send({ text: `${room}: ${message.content.text as string}` });
  }
}

@Module({ providers: [RoomStore, ChatConsumers] })
class ChatModule {}

describe('ChannelsModule with decorated consumers', () => {
  let app: INestApplicationContext;
  let layer: ChannelLayer;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ChannelsModule.forRoot(), ChatModule] }).compile();
    app = await moduleRef.init();
    layer = app.get(ChannelLayerRegistry).layer();
  });
  afterEach(() => app.close());

  it('routes by path with kwargs, injects dependencies and runs in the in-process worker', async () => {
    await layer.send('websocket.connect', { path: '/chat/lobby/', reply_channel: 'ws.reply!1' });
    const [channel, reply] = await layer.receive(['ws.reply!'], { block: true, timeout: 2 });
    expect([channel, reply]).toEqual(['ws.reply!1', { accept: true }]);
    expect(app.get(RoomStore).joined).toEqual([{ room: 'lobby', reply: 'ws.reply!1' }]);
    await layer.send('websocket.receive', { path: '/chat/lobby/', reply_channel: 'ws.reply!1', text: 'hi' });
    expect(await layer.receive(['ws.reply!'], { block: true, timeout: 2 })).toEqual([
      'ws.reply!1',
      { text: 'lobby: hi' },
    ]);
  });

  it('listens on exactly the routed channels', () => {
    const worker = app.get(ChannelsWorkerService).workers[0];
    expect(worker.channels).toEqual(['websocket.connect', 'websocket.receive']);
  });

  it('injects the layer, Channel and Group services by alias', async () => {
    const channels = app.get(ChannelsService);
    await channels.channel('plain.out').send({ a: 1 });
    expect(await layer.receive(['plain.out'])).toEqual(['plain.out', { a: 1 }]);
    await new Channel('plain.out').send({ b: 2 });
    expect(await layer.receive(['plain.out'])).toEqual(['plain.out', { b: 2 }]);
    expect(app.get(ChannelsService).layer()).toBe(layer);
  });

  it('drops a message no route matches, and keeps working', async () => {
    await layer.send('websocket.connect', { path: '/elsewhere/', reply_channel: 'ws.reply!2' });
    await sleep(100);
    await layer.send('websocket.connect', { path: '/chat/two/', reply_channel: 'ws.reply!2' });
    expect(await layer.receive(['ws.reply!'], { block: true, timeout: 2 })).toEqual(['ws.reply!2', { accept: true }]);
  });
});

@Injectable()
class UsesLayers {
  constructor(
    @InjectChannelLayer() readonly defaultLayer: ChannelLayer,
    @InjectChannelLayer('events') readonly eventsLayer: ChannelLayer,
  ) {}
}

describe('layers by alias', () => {
  it('injects each configured layer by alias', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRoot({ layers: { default: {}, events: { backend: 'memory', options: { capacity: 3 } } } }),
      ],
      providers: [UsesLayers],
    }).compile();
    const app = await moduleRef.init();
    const uses = app.get(UsesLayers);
    expect(uses.defaultLayer).toBe(app.get(ChannelLayerRegistry).layer('default'));
    expect(uses.eventsLayer.capacity).toBe(3);
    expect(uses.eventsLayer).not.toBe(uses.defaultLayer);
    await app.close();
  });
});

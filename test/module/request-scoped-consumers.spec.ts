import {
  ForbiddenException,
  Inject,
  Injectable,
  Scope,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplicationContext,
} from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  ChannelsWorkerService,
  Consumer,
  Content,
  getConsumerArgs,
  Message,
  route,
  type ChannelLayer,
} from '../../src';

@Injectable()
class Counter {
  instances = 0;
}

/** Refuses messages whose content says `deny`, to show guards run around scoped consumers. */
@Injectable()
class DenyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (getConsumerArgs(context).message.content.deny) throw new ForbiddenException('denied');
    return true;
  }
}

@Injectable({ scope: Scope.REQUEST })
class ScopedConsumers {
  readonly instance: number;

  constructor(
    @Inject(REQUEST) private readonly request: Message,
    @Inject(Counter) counter: Counter,
  ) {
    this.instance = ++counter.instances;
  }

  @Consumer('scoped.work')
  @UseGuards(DenyGuard)
  async work(@Content('n') n: number): Promise<void> {
    await this.request.replyChannel!.send({ n, instance: this.instance, sameMessage: this.request instanceof Message });
  }

  async explicit(message: Message): Promise<void> {
    await message.replyChannel!.send({ explicit: true, instance: this.instance, request: this.request === message });
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerMessageTag {
  constructor(@Inject(REQUEST) readonly message: Message) {}
}

/** Declared without a scope, but request-scoped through its dependency. */
@Injectable()
class DependsOnScoped {
  constructor(@Inject(PerMessageTag) private readonly tag: PerMessageTag) {}

  @Consumer('scoped.dependent')
  async dependent(message: Message): Promise<void> {
    await message.replyChannel!.send({ tagged: this.tag.message === message });
  }
}

describe('request-scoped @Consumer providers', () => {
  let app: INestApplicationContext;
  let layer: ChannelLayer;
  const reply = async (): Promise<unknown> => (await layer.receive(['test.reply!'], { block: true, timeout: 2 }))[1];

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRoot({
          layers: { default: { routing: [route('scoped.explicit', [ScopedConsumers, 'explicit'])] } },
        }),
      ],
      providers: [Counter, DenyGuard, ScopedConsumers, PerMessageTag, DependsOnScoped],
    }).compile();
    app = await moduleRef.init();
    layer = app.get(ChannelLayerRegistry).layer();
  });
  afterEach(() => app.close());

  it('are routed, not skipped: the worker listens on their channels', () => {
    expect(app.get(ChannelsWorkerService).workers[0].channels).toEqual([
      'scoped.dependent',
      'scoped.explicit',
      'scoped.work',
    ]);
  });

  it('get a fresh instance per message, with the message as REQUEST, parameter decorators and guards', async () => {
    await layer.send('scoped.work', { reply_channel: 'test.reply!a', n: 1 });
    const first = (await reply()) as { n: number; instance: number; sameMessage: boolean };
    await layer.send('scoped.work', { reply_channel: 'test.reply!a', n: 2 });
    const second = (await reply()) as { n: number; instance: number; sameMessage: boolean };
    expect(first).toMatchObject({ n: 1, sameMessage: true });
    expect(second).toMatchObject({ n: 2, sameMessage: true });
    expect(second.instance).not.toBe(first.instance);

    await layer.send('scoped.work', { reply_channel: 'test.reply!a', n: 3, deny: true });
    await layer.send('scoped.work', { reply_channel: 'test.reply!a', n: 4 });
    expect(await reply()).toMatchObject({ n: 4 });
  });

  it('resolve explicit [Provider, method] routes per message too', async () => {
    await layer.send('scoped.explicit', { reply_channel: 'test.reply!b' });
    expect(await reply()).toMatchObject({ explicit: true, request: true });
  });

  it('include providers that are request-scoped through a dependency', async () => {
    await layer.send('scoped.dependent', { reply_channel: 'test.reply!c' });
    expect(await reply()).toEqual({ tagged: true });
  });
});

import {
  Catch,
  Inject,
  Injectable,
  Module,
  ParseIntPipe,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplicationContext,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { map, type Observable } from 'rxjs';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  Consumer,
  Content,
  getConsumerArgs,
  Kwargs,
  Message,
  route,
  routeClass,
  RouteConfigurationError,
  UnknownChannelLayer,
  type ClassConsumerInstance,
  type RouteKwargs,
} from '../../src';
import { Client, useCaptiveChannelLayers } from '../../src/testing';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class OnlyAdmins implements CanActivate {
  static contexts: string[] = [];
  canActivate(context: ExecutionContext): boolean {
    OnlyAdmins.contexts.push(context.getType());
    return getConsumerArgs(context).message.content.user === 'admin';
  }
}

class Upper implements PipeTransform {
  transform(value: unknown): unknown {
    return typeof value === 'string' ? value.toUpperCase() : value;
  }
}

class Tag implements NestInterceptor {
  static calls = 0;
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    Tag.calls++;
    return next.handle().pipe(map((value) => `tagged:${String(value)}`));
  }
}

class Boom extends Error {}

@Catch(Boom)
class BoomFilter implements ExceptionFilter {
  static caught: Array<{ type: string; channel: string }> = [];
  // In Nest's non-HTTP contexts a filter handles an error by returning a value (the consumer's result).
  catch(_error: Boom, host: ArgumentsHost): string {
    BoomFilter.caught.push({ type: host.getType(), channel: getConsumerArgs(host).message.channel.name });
    return 'handled';
  }
}

@Injectable()
class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

@Injectable()
class GuardedConsumers {
  results: unknown[] = [];

  @Consumer('admin.only')
  @UseGuards(OnlyAdmins)
  adminOnly(message: Message): void {
    this.results.push(message.content.user);
  }

  @Consumer('websocket.connect', { path: /^\/admin\/$/ })
  @UseGuards(OnlyAdmins)
  async adminSocket(message: Message): Promise<void> {
    await message.replyChannel?.send({ accept: true });
  }

  @Consumer('item.get', { path: /^\/items\/(?<id>\d+)$/ })
  item(@Kwargs('id', ParseIntPipe) id: number, @Content('text', Upper) text: string): void {
    this.results.push({ id, text });
  }

  @Consumer('shout')
  @UsePipes(Upper)
  shout(@Content('text') text: string): void {
    this.results.push(text);
  }

  @Consumer('tagged')
  @UseInterceptors(Tag)
  tagged(): string {
    return 'value';
  }

  @Consumer('boom')
  @UseFilters(BoomFilter)
  boom(): void {
    throw new Boom('caught by the filter');
  }
}

/** A class-based consumer: a fresh instance per message, with DI. */
@Consumer({ path: /^\/rooms\/(?<room>\w+)$/ })
class RoomConsumer implements ClassConsumerInstance {
  static instances = new Set<RoomConsumer>();
  static log: string[] = [];
  private room?: string;

  constructor(@Inject(Greeter) private readonly greeter: Greeter) {}

  static channelNames(): string[] {
    return ['room.enter'];
  }

  async dispatch(message: Message, kwargs: RouteKwargs): Promise<void> {
    RoomConsumer.instances.add(this);
    this.room = kwargs.room;
    await sleep(Number(message.content.delay ?? 0));
    // Per-message state survives concurrent messages: this.room is still this message's room.
    RoomConsumer.log.push(`${this.greeter.greet(this.room as string)} in ${kwargs.room as string}`);
  }
}

@Module({ providers: [Greeter, GuardedConsumers, RoomConsumer] })
class FeatureModule {}

describe('Nest enhancers on consumers', () => {
  let app: INestApplicationContext;
  let client: Client;
  let consumers: GuardedConsumers;

  beforeEach(async () => {
    const builder = Test.createTestingModule({ imports: [ChannelsModule.forRoot(), FeatureModule] });
    app = await (await useCaptiveChannelLayers(builder).compile()).init();
    client = new Client(app);
    consumers = app.get(GuardedConsumers);
  });
  afterEach(() => app.close());

  it('runs guards with a "channels" execution context', async () => {
    await client.sendAndConsume('admin.only', { user: 'admin' });
    await expect(client.sendAndConsume('admin.only', { user: 'guest' })).rejects.toThrow(/Forbidden/);
    expect(consumers.results).toEqual(['admin']);
    expect(OnlyAdmins.contexts).toContain('channels');
  });

  it('refuses a websocket connection when a guard says no', async () => {
    await client.sendAndConsume('websocket.connect', { path: '/admin/', user: 'guest' });
    expect(await client.receive()).toEqual({ close: true });
    await client.sendAndConsume('websocket.connect', { path: '/admin/', user: 'admin' });
    expect(await client.receive()).toEqual({ accept: true });
  });

  it('runs parameter pipes and @UsePipes', async () => {
    await client.sendAndConsume('item.get', { path: '/items/42', text: 'hi' });
    await client.sendAndConsume('shout', { text: 'loud' });
    expect(consumers.results).toEqual([{ id: 42, text: 'HI' }, 'LOUD']);
  });

  it('runs interceptors and exception filters', async () => {
    await client.sendAndConsume('tagged');
    expect(Tag.calls).toBe(1);
    await client.sendAndConsume('boom');
    expect(BoomFilter.caught).toEqual([{ type: 'channels', channel: 'boom' }]);
  });

  it('gives a class-based consumer a fresh instance per message, with its dependencies', async () => {
    RoomConsumer.instances.clear();
    RoomConsumer.log = [];
    const router = app.get(ChannelLayerRegistry).router();
    expect(router.channels).toContain('room.enter');
    await Promise.all([
      client.sendAndConsume('room.enter', { path: '/rooms/slow', delay: 50 }),
      client.sendAndConsume('room.enter', { path: '/rooms/fast', delay: 0 }),
    ]);
    expect(RoomConsumer.instances.size).toBe(2);
    expect(RoomConsumer.log.sort()).toEqual(['hello fast in fast', 'hello slow in slow']);
  });
});

@Injectable()
class ExplicitConsumers {
  seen: string[] = [];
  onTask(message: Message): void {
    this.seen.push(`method:${String(message.content.n)}`);
  }
}

describe('explicit routing and bootstrap checks', () => {
  const compile = async (imports: unknown[], providers: unknown[] = []): Promise<INestApplicationContext> => {
    const builder = Test.createTestingModule({ imports: imports as never[], providers: providers as never[] });
    return (await useCaptiveChannelLayers(builder).compile()).init();
  };

  it('routes to provider methods, class consumers and functions, before decorated routes', async () => {
    const seen: string[] = [];
    const app = await compile(
      [
        ChannelsModule.forRoot({
          layers: {
            default: {
              routing: [
                route('explicit.task', [ExplicitConsumers, 'onTask']),
                routeClass(RoomConsumer, { path: /^\/explicit\/(?<room>\w+)$/ }),
                route('fn.task', (message) => void seen.push(`function:${String(message.content.user)}`)),
              ],
            },
          },
        }),
        FeatureModule,
      ],
      [ExplicitConsumers],
    );
    const client = new Client(app);
    await client.sendAndConsume('explicit.task', { n: 1 });
    await client.sendAndConsume('fn.task', { user: 'guest' });
    RoomConsumer.log = [];
    await client.sendAndConsume('room.enter', { path: '/explicit/x' });
    expect(app.get(ExplicitConsumers).seen).toEqual(['method:1']);
    expect(seen).toEqual(['function:guest']);
    expect(RoomConsumer.log).toEqual(['hello x in x']);
    await app.close();
  });

  it('refuses a routed class or provider that is not a provider', async () => {
    await expect(
      compile([ChannelsModule.forRoot({ layers: { default: { routing: [routeClass(RoomConsumer)] } } })]),
    ).rejects.toThrow(/RoomConsumer is routed but is not a provider/);
    await expect(
      compile([
        ChannelsModule.forRoot({ layers: { default: { routing: [route('x', [ExplicitConsumers, 'onTask'])] } } }),
      ]),
    ).rejects.toThrow(RouteConfigurationError);
  });

  it('refuses two consumers claiming the same route', async () => {
    @Injectable()
    class Twice {
      @Consumer('same', { path: /^\/a$/ })
      one(): void {}
      @Consumer('same', { path: /^\/a$/ })
      two(): void {}
    }
    await expect(compile([ChannelsModule.forRoot()], [Twice])).rejects.toThrow(
      /Twice\.two and Twice\.one both consume same/,
    );
  });

  it('refuses unnamed capture groups and unknown layer aliases at bootstrap', async () => {
    @Injectable()
    class Unnamed {
      @Consumer('x', { path: /^\/(\d+)$/ })
      handle(): void {}
    }
    await expect(compile([ChannelsModule.forRoot()], [Unnamed])).rejects.toThrow(/unnamed capturing groups/);
    @Injectable()
    class Elsewhere {
      @Consumer('x', {}, { layer: 'nope' })
      handle(): void {}
    }
    await expect(compile([ChannelsModule.forRoot()], [Elsewhere])).rejects.toThrow(UnknownChannelLayer);
  });

  it('configures layers asynchronously with forRootAsync', async () => {
    @Injectable()
    class Config {
      readonly capacity = 7;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    const app = await compile([
      ChannelsModule.forRootAsync({
        imports: [ConfigModule],
        inject: [Config],
        useFactory: (config: Config) => ({ layers: { default: { options: { capacity: config.capacity } } } }),
      }),
    ]);
    // The captive layer replaced the configured one, but the routing and aliases are the app's.
    expect(app.get(ChannelLayerRegistry).aliases).toEqual(['default']);
    await app.close();
    const real = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config) => ({ layers: { default: { options: { capacity: config.capacity } } } }),
        }),
      ],
    }).compile();
    const realApp = await real.init();
    expect(realApp.get(ChannelLayerRegistry).layer().capacity).toBe(7);
    await realApp.close();
  });
});

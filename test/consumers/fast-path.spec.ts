import {
  Catch,
  createParamDecorator,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  Scope,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
  type PipeTransform,
  type Provider,
  type Type,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE, ExternalContextCreator, REQUEST } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { of, type Observable } from 'rxjs';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  Consumer,
  ConsumeLater,
  ConsumerMessage,
  Content,
  DenyConnection,
  getConsumerArgs,
  Kwargs,
  Message,
  WebsocketCloseException,
  type ClassConsumerInstance,
  type RouteKwargs,
} from '../../src';
import { ConsumerInvokerFactory } from '../../src/consumers/consumer-invoker.factory';
import { Client, useCaptiveChannelLayers } from '../../src/testing';

/** What the enhancers and consumers of one test saw. */
const seen = { guard: 0, pipe: 0, interceptor: 0, filter: 0, texts: [] as unknown[] };

@Injectable()
class CountingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    seen.guard++;
    return getConsumerArgs(context).message.content.allow !== false;
  }
}

@Injectable()
class UpperPipe implements PipeTransform {
  transform(value: unknown): unknown {
    seen.pipe++;
    return typeof value === 'string' ? value.toUpperCase() : value;
  }
}

@Injectable()
class CountingInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    seen.interceptor++;
    return next.handle();
  }
}

class Boom extends Error {}

@Catch(Boom)
@Injectable()
class BoomFilter implements ExceptionFilter {
  catch(_error: Boom, host: ArgumentsHost): string {
    seen.filter++;
    expect(host.getType()).toBe('channels');
    return 'handled';
  }
}

type Decorator = ClassDecorator & MethodDecorator;
const none: Decorator = () => undefined;

/** A plain provider of consumers, with `decorator` on its class or on each method. */
function consumersWith(level: 'class' | 'method' | 'none', decorator: Decorator = none): Type<object> {
  const onClass = level === 'class' ? decorator : none;
  const onMethod = level === 'method' ? decorator : none;

  @Injectable()
  @onClass
  class FastPathConsumers {
    @Consumer('fp.text')
    @onMethod
    text(@Content('text') text: unknown): string {
      seen.texts.push(text);
      return 'ok';
    }

    @Consumer('fp.boom')
    @onMethod
    boom(): void {
      throw new Boom('boom from the consumer');
    }
  }
  return FastPathConsumers;
}

interface Started {
  app: INestApplication;
  client: Client;
  direct: Set<string>;
}

async function start(
  providers: Provider[],
  configure: (app: INestApplication) => void = () => undefined,
): Promise<Started> {
  const builder = Test.createTestingModule({ imports: [ChannelsModule.forRoot()], providers });
  const moduleRef = await useCaptiveChannelLayers(builder).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  // As an app's main.ts does: global enhancers before init (the consumers are bound at init).
  configure(app);
  await app.init();
  return { app, client: new Client(app), direct: app.get(ConsumerInvokerFactory).directConsumers };
}

describe('the fast path for plain consumers', () => {
  let started: Started | undefined;

  beforeEach(() => {
    Object.assign(seen, { guard: 0, pipe: 0, interceptor: 0, filter: 0, texts: [] });
  });
  afterEach(async () => {
    await started?.app.close();
    started = undefined;
    jest.restoreAllMocks();
  });

  describe('is not taken when Nest resolves an enhancer', () => {
    const guardCases: Array<[string, Provider[], (app: INestApplication) => void, 'class' | 'method' | 'none']> = [
      ['app.useGlobalGuards', [], (app) => app.useGlobalGuards(new CountingGuard()), 'none'],
      ['APP_GUARD', [{ provide: APP_GUARD, useClass: CountingGuard }], () => undefined, 'none'],
      ['class @UseGuards', [], () => undefined, 'class'],
      ['method @UseGuards', [], () => undefined, 'method'],
    ];
    it.each(guardCases)('guard from %s', async (_source, extra, configure, level) => {
      started = await start([consumersWith(level, UseGuards(CountingGuard)), ...extra], configure);
      const { client, direct } = started;
      expect(direct.has('FastPathConsumers.text')).toBe(false);
      await client.sendAndConsume('fp.text', { text: 'a' });
      await expect(client.sendAndConsume('fp.text', { text: 'b', allow: false })).rejects.toThrow(ForbiddenException);
      expect(seen.guard).toBe(2);
      expect(seen.texts).toEqual(['a']);
    });

    const pipeCases: Array<[string, Provider[], (app: INestApplication) => void, 'class' | 'method' | 'none']> = [
      ['app.useGlobalPipes', [], (app) => app.useGlobalPipes(new UpperPipe()), 'none'],
      ['APP_PIPE', [{ provide: APP_PIPE, useClass: UpperPipe }], () => undefined, 'none'],
      ['class @UsePipes', [], () => undefined, 'class'],
      ['method @UsePipes', [], () => undefined, 'method'],
    ];
    it.each(pipeCases)('pipe from %s', async (_source, extra, configure, level) => {
      started = await start([consumersWith(level, UsePipes(UpperPipe)), ...extra], configure);
      const { client, direct } = started;
      expect(direct.has('FastPathConsumers.text')).toBe(false);
      await client.sendAndConsume('fp.text', { text: 'loud' });
      expect(seen.texts).toEqual(['LOUD']);
      expect(seen.pipe).toBe(1);
    });

    const interceptorCases: Array<[string, Provider[], (app: INestApplication) => void, 'class' | 'method' | 'none']> =
      [
        ['app.useGlobalInterceptors', [], (app) => app.useGlobalInterceptors(new CountingInterceptor()), 'none'],
        ['APP_INTERCEPTOR', [{ provide: APP_INTERCEPTOR, useClass: CountingInterceptor }], () => undefined, 'none'],
        ['class @UseInterceptors', [], () => undefined, 'class'],
        ['method @UseInterceptors', [], () => undefined, 'method'],
      ];
    it.each(interceptorCases)('interceptor from %s', async (_source, extra, configure, level) => {
      started = await start([consumersWith(level, UseInterceptors(CountingInterceptor)), ...extra], configure);
      const { client, direct } = started;
      expect(direct.has('FastPathConsumers.text')).toBe(false);
      await client.sendAndConsume('fp.text', { text: 'a' });
      expect(seen.interceptor).toBe(1);
      expect(seen.texts).toEqual(['a']);
    });

    const filterCases: Array<[string, Provider[], (app: INestApplication) => void, 'class' | 'method' | 'none']> = [
      ['app.useGlobalFilters', [], (app) => app.useGlobalFilters(new BoomFilter()), 'none'],
      ['APP_FILTER', [{ provide: APP_FILTER, useClass: BoomFilter }], () => undefined, 'none'],
      ['class @UseFilters', [], () => undefined, 'class'],
      ['method @UseFilters', [], () => undefined, 'method'],
    ];
    it.each(filterCases)('exception filter from %s', async (_source, extra, configure, level) => {
      started = await start([consumersWith(level, UseFilters(BoomFilter)), ...extra], configure);
      const { client, direct } = started;
      expect(direct.has('FastPathConsumers.boom')).toBe(false);
      // The filter handles the error (returns a value): the consumer does not fail.
      await client.sendAndConsume('fp.boom');
      expect(seen.filter).toBe(1);
    });

    it('a parameter pipe (@Content(key, Pipe)) or a custom parameter decorator', async () => {
      const Text = createParamDecorator((_data: unknown, context: ExecutionContext) => {
        return `custom:${String(getConsumerArgs(context).message.content.text)}`;
      });
      @Injectable()
      class Params {
        @Consumer('fp.param-pipe')
        piped(@Content('text', UpperPipe) text: string): void {
          seen.texts.push(text);
        }

        @Consumer('fp.custom')
        custom(@Text() text: string): void {
          seen.texts.push(text);
        }
      }
      started = await start([Params]);
      const { client, direct } = started;
      expect(direct.has('Params.piped')).toBe(false);
      expect(direct.has('Params.custom')).toBe(false);
      await client.sendAndConsume('fp.param-pipe', { text: 'a' });
      await client.sendAndConsume('fp.custom', { text: 'b' });
      expect(seen.texts).toEqual(['A', 'custom:b']);
    });

    it('a global guard added after bootstrap, for a request-scoped consumer (built per message)', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class LateScoped {
        @Consumer('fp.late')
        handle(): void {
          seen.texts.push('late');
        }
      }
      started = await start([LateScoped]);
      const { app, client, direct } = started;
      expect(direct.has('LateScoped.handle')).toBe(true);
      app.useGlobalGuards(new CountingGuard());
      await expect(client.sendAndConsume('fp.late', { allow: false })).rejects.toThrow(ForbiddenException);
      expect(seen.guard).toBe(1);
      expect(seen.texts).toEqual([]);
    });
  });

  describe('is taken by a plain consumer', () => {
    it('calls a method consumer directly, with its parameter decorators', async () => {
      @Injectable()
      class Plain {
        @Consumer('fp.plain', { path: /^\/rooms\/(?<room>\w+)$/ })
        plain(
          @Kwargs('room') room: string,
          @Content('text') text: string,
          @ConsumerMessage() message: Message,
          @Kwargs() kwargs: RouteKwargs,
          @Content() content: unknown,
        ): void {
          seen.texts.push({
            room,
            text,
            message: message instanceof Message,
            kwargs,
            same: content === message.content,
          });
        }

        @Consumer('fp.default')
        byDefault(message: Message, kwargs: RouteKwargs): void {
          seen.texts.push({ channel: message.channel.name, kwargs });
        }
      }
      started = await start([Plain]);
      const { app, client, direct } = started;
      expect([...direct].sort()).toEqual(['Plain.byDefault', 'Plain.plain']);
      const create = jest.spyOn(app.get(ExternalContextCreator), 'create');
      await client.sendAndConsume('fp.plain', { path: '/rooms/lobby', text: 'hi' });
      await client.sendAndConsume('fp.default');
      expect(seen.texts).toEqual([
        { room: 'lobby', text: 'hi', message: true, kwargs: { room: 'lobby' }, same: true },
        { channel: 'fp.default', kwargs: {} },
      ]);
      expect(create).not.toHaveBeenCalled();
    });

    it('returns what the consumer returns, an Observable awaited to its last value', async () => {
      @Injectable()
      class Results {
        @Consumer('fp.value')
        async value(): Promise<string> {
          return 'value';
        }

        @Consumer('fp.observable')
        observable(): Observable<string> {
          return of('first', 'last');
        }
      }
      started = await start([Results]);
      const router = started.app.get(ChannelLayerRegistry).router();
      const layer = started.app.get(ChannelLayerRegistry).layer();
      const invoke = async (channel: string): Promise<unknown> => {
        const message = new Message({}, channel, layer);
        const match = router.match(message);
        return router.invokerOf(match!.route)!(message, match!.kwargs);
      };
      expect(started.direct.has('Results.observable')).toBe(true);
      await expect(invoke('fp.value')).resolves.toBe('value');
      await expect(invoke('fp.observable')).resolves.toBe('last');
    });

    it('fails as the full path does: the same error, logged by the same exceptions handler', async () => {
      const errors = jest.spyOn(Logger.prototype, 'error');
      const run = async (providers: Provider[]): Promise<{ error: unknown; logged: unknown[][] }> => {
        started = await start(providers);
        errors.mockClear();
        const error: unknown = await started.client.sendAndConsume('fp.boom').catch((thrown: unknown) => thrown);
        const logged = errors.mock.calls.map((call) => [...call]);
        await started.app.close();
        started = undefined;
        return { error, logged };
      };
      const fast = await run([consumersWith('none')]);
      // A guard that lets everything through: the full path, otherwise the same consumer.
      const full = await run([consumersWith('method', UseGuards(CountingGuard))]);
      expect(fast.error).toBeInstanceOf(Boom);
      expect(full.error).toBeInstanceOf(Boom);
      expect(fast.logged).toEqual(full.logged);
      expect(fast.logged).toHaveLength(1);
    });

    it('keeps ConsumeLater, DenyConnection, WebsocketCloseException and a refused connect', async () => {
      @Injectable()
      class Control {
        @Consumer('fp.later')
        later(): void {
          throw new ConsumeLater();
        }

        @Consumer('websocket.connect', { path: /^\/deny\/$/ })
        deny(): void {
          throw new DenyConnection();
        }

        @Consumer('websocket.connect', { path: /^\/forbidden\/$/ })
        forbidden(): void {
          throw new ForbiddenException('no');
        }

        @Consumer('websocket.receive', { path: /^\/close\/$/ })
        close(): void {
          throw new WebsocketCloseException(4001);
        }
      }
      started = await start([Control]);
      const { client, direct } = started;
      expect([...direct].sort()).toEqual(['Control.close', 'Control.deny', 'Control.forbidden', 'Control.later']);
      await expect(client.sendAndConsume('fp.later')).rejects.toBeInstanceOf(ConsumeLater);
      await client.sendAndConsume('websocket.connect', { path: '/deny/' });
      expect(await client.receive()).toEqual({ close: true });
      await client.sendAndConsume('websocket.connect', { path: '/forbidden/' });
      expect(await client.receive()).toEqual({ close: true });
      await client.sendAndConsume('websocket.receive', { path: '/close/', text: 'x' });
      expect(await client.receive()).toEqual({ close: 4001 });
    });

    it('resolves a request-scoped consumer per message and calls it directly', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class Scoped {
        static instances = new Set<Scoped>();
        constructor(@Inject(REQUEST) private readonly request: Message) {}

        @Consumer('fp.scoped')
        handle(@Content('n') n: number, @ConsumerMessage() message: Message): void {
          Scoped.instances.add(this);
          seen.texts.push({ n, request: this.request === message });
        }
      }
      started = await start([Scoped]);
      const { app, client, direct } = started;
      expect(direct.has('Scoped.handle')).toBe(true);
      const create = jest.spyOn(app.get(ExternalContextCreator), 'create');
      await client.sendAndConsume('fp.scoped', { n: 1 });
      await client.sendAndConsume('fp.scoped', { n: 2 });
      expect(seen.texts).toEqual([
        { n: 1, request: true },
        { n: 2, request: true },
      ]);
      expect(Scoped.instances.size).toBe(2);
      expect(create).not.toHaveBeenCalled();
    });

    it('dispatches a class-based consumer directly, a fresh instance per message', async () => {
      @Consumer({ path: /^\/rooms\/(?<room>\w+)$/ })
      class Room implements ClassConsumerInstance {
        static instances = new Set<Room>();
        static channelNames(): string[] {
          return ['fp.room'];
        }
        dispatch(message: Message, kwargs: RouteKwargs): void {
          Room.instances.add(this);
          seen.texts.push(`${message.channel.name} ${String(kwargs.room)}`);
        }
      }
      @Consumer()
      @UseGuards(CountingGuard)
      class GuardedRoom implements ClassConsumerInstance {
        static channelNames(): string[] {
          return ['fp.guarded-room'];
        }
        dispatch(): void {
          seen.texts.push('guarded');
        }
      }
      started = await start([Room, GuardedRoom]);
      const { client, direct } = started;
      expect(direct.has('Room.dispatch')).toBe(true);
      expect(direct.has('GuardedRoom.dispatch')).toBe(false);
      await client.sendAndConsume('fp.room', { path: '/rooms/a' });
      await client.sendAndConsume('fp.room', { path: '/rooms/b' });
      await expect(client.sendAndConsume('fp.guarded-room', { allow: false })).rejects.toThrow(ForbiddenException);
      expect(seen.texts).toEqual(['fp.room a', 'fp.room b']);
      expect(Room.instances.size).toBe(2);
      expect(seen.guard).toBe(1);
    });
  });
});

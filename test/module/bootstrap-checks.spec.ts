// Misconfiguration a user can make is loud at bootstrap: an error naming the class or method and
// the fix, or a warning where the set-up can be on purpose.
import { Controller, Get, Injectable, type LoggerService, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ChannelsModule,
  Consumer,
  LayerUnavailable,
  queryParams,
  RedisChannelLayer,
  type ChannelsModuleOptions,
} from '../../src';
import { findOrStartRedis, freePort } from '../support/redis-server';

/** Keeps every warning the app logs. */
class Recorder implements LoggerService {
  readonly warnings: string[] = [];
  log = (): void => undefined;
  error = (): void => undefined;
  warn = (text: unknown): void => void this.warnings.push(String(text));
  debug = (): void => undefined;
  verbose = (): void => undefined;
}

async function boot(
  providers: Array<Type<unknown>>,
  options: ChannelsModuleOptions = {},
  controllers: Array<Type<unknown>> = [],
): Promise<Recorder> {
  const recorder = new Recorder();
  const moduleRef = await Test.createTestingModule({
    imports: [ChannelsModule.forRoot({ worker: { enabled: false }, ...options })],
    providers,
    controllers,
  }).compile();
  moduleRef.useLogger(recorder);
  const app = await moduleRef.init();
  await app.close();
  return recorder;
}

@Injectable()
class Fine {
  @Consumer('websocket.receive', { path: /^\/chat\/$/ })
  receive(): void {}
}

@Injectable()
class BadName {
  @Consumer('chat/messages')
  store(): void {}
}

@Injectable()
class Misspelt {
  @Consumer('websocket.recieve')
  receive(): void {}
}

@Injectable()
class FilterTypo {
  @Consumer('websocket.connect', { pth: /^\/chat\/$/ })
  connect(): void {}
}

@Controller()
class ControllerWithConsumer {
  @Get('x')
  @Consumer('websocket.connect')
  connect(): string {
    return 'x';
  }
}

@Injectable()
class LeftOut {
  @Consumer('chat.messages')
  store(): void {}
}

@Injectable()
class LooksLikeAnInterfaceChannel {
  @Consumer('websocket_receive')
  receive(): void {}
}

describe('bootstrap checks', () => {
  it('refuses an invalid channel name, naming the method', async () => {
    await expect(boot([BadName])).rejects.toThrow(/BadName\.store: Invalid channel name "chat\/messages"/);
  });

  it('refuses a misspelt interface channel, with the name it meant', async () => {
    await expect(boot([Misspelt])).rejects.toThrow(
      /Misspelt\.receive listens on "websocket\.recieve", which no interface server sends on: did you mean "websocket\.receive"\?/,
    );
  });

  it('refuses a misspelt filter key on an interface channel, with the key it meant', async () => {
    await expect(boot([FilterTypo])).rejects.toThrow(
      /FilterTypo\.connect: filter "pth" names no key of websocket\.connect messages: did you mean "path"\?/,
    );
  });

  it('refuses @Consumer on a controller method, saying where consumers go', async () => {
    await expect(boot([Fine], {}, [ControllerWithConsumer])).rejects.toThrow(
      /@Consumer on controller method ControllerWithConsumer\.connect: consumers must be providers/,
    );
  });

  it('warns about a consumer class left out of providers, and a channel that resembles an interface channel', async () => {
    const recorder = await boot([Fine, LooksLikeAnInterfaceChannel]);
    expect(recorder.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`${LeftOut.name} has @Consumer routes but is in no module's providers of this app`),
        expect.stringContaining('listens on "websocket_receive", close to "websocket.receive"'),
      ]),
    );
    // The classes that are provided get no warning.
    expect(recorder.warnings.join('\n')).not.toMatch(/\bFine has @Consumer/);
  });

  it('says what was undefined when a Redis URL is missing', () => {
    expect(() => new RedisChannelLayer({ hosts: [process.env.NO_SUCH_VARIABLE as string] })).toThrow(
      /hosts\[0\] must be a Redis URL .* got undefined \(is the environment variable you read it from, e\.g\. REDIS_URL, set\?\)/,
    );
    expect(() => new RedisChannelLayer({ hosts: [''] })).toThrow(/hosts\[0\] must be a Redis URL .* got ""/);
  });
});

describe('waitForReady', () => {
  it('fails the bootstrap when Redis does not answer in time', async () => {
    const port = await freePort(); // nothing listens there
    const started = boot([Fine], {
      layers: { default: { backend: 'redis', options: { hosts: [`redis://127.0.0.1:${port}`] }, waitForReady: 0.5 } },
    });
    await expect(started).rejects.toBeInstanceOf(LayerUnavailable);
    await expect(started).rejects.toThrow(`Redis 127.0.0.1:${port} did not answer within 0.5 s`);
  });

  it('refuses a waitForReady that is not a positive number of seconds', async () => {
    await expect(boot([Fine], { layers: { default: { backend: 'memory', waitForReady: 0 } } })).rejects.toThrow(
      /waitForReady must be seconds > 0/,
    );
  });
});

describe('waitForReady with Redis up', () => {
  it('starts once Redis answers', async () => {
    const redis = await findOrStartRedis();
    try {
      await expect(
        boot([Fine], { layers: { default: { backend: 'redis', options: { hosts: [redis.url] }, waitForReady: 5 } } }),
      ).resolves.toBeInstanceOf(Recorder);
    } finally {
      await redis.stop();
    }
  });
});

describe('queryParams', () => {
  it("reads a message's query string bytes, from the message or its content", () => {
    const content = { query_string: Buffer.from('username=ann%20b&room=lobby&x=%E2%9C%93') };
    expect(queryParams(content).get('username')).toBe('ann b');
    expect(queryParams({ content }).get('x')).toBe('✓');
    expect(queryParams({ query_string: 'a=1' }).get('a')).toBe('1');
    expect([...queryParams({}).keys()]).toEqual([]);
  });
});

import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test } from '@nestjs/testing';
import WebSocket from 'ws';
import {
  ChannelsModule,
  Consumer,
  InMemoryChannelLayer,
  Message,
  type ChannelMessage,
  type ChannelsModuleOptions,
  type ClassConsumerInstance,
  type RouteKwargs,
} from '../../src';
import { DenyConnection } from '../../src/consumers/exceptions';
import {
  AllowedHostsOnly,
  AllowedHostsOriginValidator,
  BaseOriginValidator,
  CHANNELS_ALLOWED_HOSTS,
  DEFAULT_ALLOWED_HOSTS,
  hostFromOrigin,
  isAllowedHost,
  ValidateOrigin,
} from '../../src/security';

describe('hostFromOrigin', () => {
  it('gives the lower-cased host with its effective port', () => {
    expect(hostFromOrigin('https://Example.COM')).toBe('example.com:443');
    expect(hostFromOrigin('http://example.com')).toBe('example.com:80');
    expect(hostFromOrigin('http://example.com/')).toBe('example.com:80');
    expect(hostFromOrigin('wss://a.example.com')).toBe('a.example.com:443');
    expect(hostFromOrigin('ws://localhost:3000')).toBe('localhost:3000');
    expect(hostFromOrigin('https://example.com:443')).toBe('example.com:443');
    expect(hostFromOrigin('http://example.com.:8080')).toBe('example.com.:8080');
  });

  it('keeps IPv6 brackets (Channels dropped them, so [::1] never matched)', () => {
    expect(hostFromOrigin('http://[::1]')).toBe('[::1]:80');
    expect(hostFromOrigin('http://[::1]:3000')).toBe('[::1]:3000');
    expect(hostFromOrigin('http://[0:0:0:0:0:0:0:1]')).toBe('[::1]:80');
  });

  it('refuses null, empty, scheme-less, malformed and non-web origins', () => {
    for (const origin of [
      'null',
      '',
      'example.com',
      'example.com:8080',
      '//example.com',
      'http:example.com',
      'http://',
      'http//example.com',
      'http://exa mple.com',
      'file://',
      'file:///etc/passwd',
      'ftp://example.com',
      'javascript:alert(1)',
      'http://user:pass@example.com',
      'http://example.com/path',
      'http://example.com?q',
      'http://example.com#f',
    ]) {
      expect([origin, hostFromOrigin(origin)]).toEqual([origin, null]);
    }
  });
});

describe('isAllowedHost (Django validate_host)', () => {
  it('matches exactly, case-insensitively', () => {
    expect(isAllowedHost('example.com:443', ['example.com'])).toBe(true);
    expect(isAllowedHost('EXAMPLE.com', ['Example.COM'])).toBe(true);
    expect(isAllowedHost('www.example.com:443', ['example.com'])).toBe(false);
    expect(isAllowedHost('example.com.evil.net:80', ['example.com'])).toBe(false);
    expect(isAllowedHost('example.com', [])).toBe(false);
  });

  it('matches a domain and all its subdomains with a leading dot', () => {
    const patterns = ['.example.com'];
    expect(isAllowedHost('example.com:443', patterns)).toBe(true);
    expect(isAllowedHost('a.example.com:443', patterns)).toBe(true);
    expect(isAllowedHost('a.b.example.com:80', patterns)).toBe(true);
    expect(isAllowedHost('badexample.com:443', patterns)).toBe(false);
    expect(isAllowedHost('example.com.evil.net:443', patterns)).toBe(false);
    expect(isAllowedHost('example.org:443', patterns)).toBe(false);
  });

  it('matches anything with *', () => {
    expect(isAllowedHost('anything.test:1234', ['*'])).toBe(true);
    expect(isAllowedHost('[::1]:80', ['nope', '*'])).toBe(true);
  });

  it('ignores a trailing dot on the host', () => {
    expect(isAllowedHost('example.com.:443', ['example.com'])).toBe(true);
    expect(isAllowedHost('a.example.com.', ['.example.com'])).toBe(true);
  });

  it('ignores ports unless the pattern has one, which must then be the origin port', () => {
    expect(isAllowedHost('example.com:8443', ['example.com'])).toBe(true);
    expect(isAllowedHost('example.com:8443', ['example.com:8443'])).toBe(true);
    expect(isAllowedHost('example.com:443', ['example.com:8443'])).toBe(false);
    expect(isAllowedHost('localhost:3000', ['localhost:3000'])).toBe(true);
    expect(isAllowedHost('localhost:3001', ['localhost:3000'])).toBe(false);
    expect(isAllowedHost('a.example.com:8443', ['.example.com:8443'])).toBe(true);
    expect(isAllowedHost('a.example.com:443', ['.example.com:8443'])).toBe(false);
    expect(isAllowedHost('any.test:8443', ['*:8443'])).toBe(true);
    expect(isAllowedHost('any.test:443', ['*:8443'])).toBe(false);
    // Without a port on the host, a pattern with a port cannot be satisfied.
    expect(isAllowedHost('example.com', ['example.com:443'])).toBe(false);
  });

  it('implies the default port from the origin scheme', () => {
    const allowed = (origin: string, patterns: string[]): boolean =>
      isAllowedHost(hostFromOrigin(origin) as string, patterns);
    expect(allowed('https://example.com', ['example.com:443'])).toBe(true);
    expect(allowed('wss://example.com', ['example.com:443'])).toBe(true);
    expect(allowed('http://example.com', ['example.com:443'])).toBe(false);
    expect(allowed('http://example.com', ['example.com:80'])).toBe(true);
  });

  it('matches the IPv6 loopback with the bracketed pattern [::1]', () => {
    expect(isAllowedHost(hostFromOrigin('http://[::1]:8000') as string, DEFAULT_ALLOWED_HOSTS)).toBe(true);
    expect(isAllowedHost('[::1]:3000', ['[::1]:3000'])).toBe(true);
    expect(isAllowedHost('[::1]:3001', ['[::1]:3000'])).toBe(false);
    expect(isAllowedHost('[::2]:80', ['[::1]'])).toBe(false);
  });
});

/** The guard on its own, with a hand-made `channels` execution context. */
describe('BaseOriginValidator as a guard', () => {
  const layer = new InMemoryChannelLayer();
  afterAll(() => layer.close());

  class OnlyTrusted extends BaseOriginValidator {
    seen: string[] = [];
    validateOrigin(_message: Message, origin: string): boolean {
      this.seen.push(origin);
      return origin === 'https://trusted.test';
    }
  }

  const context = (channel: string, content: ChannelMessage, type = 'channels'): ExecutionContextHost => {
    const host = new ExecutionContextHost([new Message(content, channel, layer), {}]);
    host.setType(type);
    return host;
  };
  const connect = (headers: ChannelMessage[string]): ExecutionContextHost =>
    context('websocket.connect', { reply_channel: 'websocket.x!y', path: '/', headers });
  const pair = (name: string, value: string): Buffer[] => [Buffer.from(name), Buffer.from(value, 'latin1')];

  it('reads the first origin pair of ASGI list headers, as ASCII', async () => {
    const guard = new OnlyTrusted();
    const headers = [pair('host', 'x'), [Buffer.from('origin')], pair('origin', 'https://trusted.test')];
    await expect(guard.canActivate(connect([...headers, pair('origin', 'https://evil.test')]))).resolves.toBe(true);
    await expect(guard.canActivate(connect([pair('origin', 'https://evil.test'), ...headers]))).rejects.toThrow(
      new DenyConnection('Origin not allowed: "https://evil.test"'),
    );
    expect(guard.seen).toEqual(['https://trusted.test', 'https://evil.test']);
  });

  it('accepts string pairs and legacy dict headers (Channels denied dict headers every time)', async () => {
    const guard = new OnlyTrusted();
    await expect(guard.canActivate(connect([['origin', 'https://trusted.test']]))).resolves.toBe(true);
    await expect(guard.canActivate(connect({ origin: 'https://trusted.test' }))).resolves.toBe(true);
    await expect(guard.canActivate(connect({ Origin: Buffer.from('https://trusted.test') }))).resolves.toBe(true);
    await expect(guard.canActivate(connect({ origin: 'https://evil.test' }))).rejects.toBeInstanceOf(DenyConnection);
  });

  it('denies a connect without headers, without an Origin, or with a non-ASCII Origin', async () => {
    const guard = new OnlyTrusted();
    await expect(
      guard.canActivate(context('websocket.connect', { reply_channel: 'websocket.x!y', path: '/' })),
    ).rejects.toThrow('Origin not allowed: no Origin header');
    await expect(guard.canActivate(connect([pair('host', 'trusted.test')]))).rejects.toThrow(/no Origin header/);
    await expect(guard.canActivate(connect({}))).rejects.toThrow(/no Origin header/);
    await expect(guard.canActivate(connect([pair('origin', 'https://trüsted.test')]))).rejects.toThrow(/not ASCII/);
    expect(guard.seen).toEqual([]);
  });

  it('lets every other channel and every non-channels context through', async () => {
    const guard = new OnlyTrusted();
    await expect(guard.canActivate(context('websocket.receive', { path: '/', text: 'hi' }))).resolves.toBe(true);
    await expect(guard.canActivate(context('websocket.disconnect', { path: '/', code: 1000 }))).resolves.toBe(true);
    await expect(guard.canActivate(context('websocket.connect', { path: '/' }, 'http'))).resolves.toBe(true);
    expect(guard.seen).toEqual([]);
  });

  it('AllowedHostsOriginValidator defaults to the local machine when no hosts are provided', async () => {
    const local = new AllowedHostsOriginValidator();
    expect(local.allowedHosts).toEqual(['localhost', '127.0.0.1', '[::1]']);
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1', 'http://[::1]:8000']) {
      await expect(local.canActivate(connect([pair('origin', origin)]))).resolves.toBe(true);
    }
    await expect(local.canActivate(connect([pair('origin', 'http://example.com')]))).rejects.toBeInstanceOf(
      DenyConnection,
    );
    // An empty list given on purpose allows nothing, like ALLOWED_HOSTS in production.
    const none = new AllowedHostsOriginValidator([]);
    await expect(none.canActivate(connect([pair('origin', 'http://localhost')]))).rejects.toBeInstanceOf(
      DenyConnection,
    );
  });

  it('with matchOriginPort, also wants the Origin port to be the port the handshake came to', async () => {
    const strict = new AllowedHostsOriginValidator(['localhost', '.example.com'], true);
    const loose = new AllowedHostsOriginValidator(['localhost', '.example.com']);
    const allowed = async (validator: AllowedHostsOriginValidator, origin: string, host?: string): Promise<boolean> =>
      validator
        .canActivate(connect([...(host === undefined ? [] : [pair('host', host)]), pair('origin', origin)]))
        .catch(() => false);
    // Another app on another port of an allowed host: Django (and the default) let it in.
    expect(await allowed(loose, 'http://localhost:8080', 'localhost:3000')).toBe(true);
    expect(await allowed(strict, 'http://localhost:8080', 'localhost:3000')).toBe(false);
    expect(await allowed(strict, 'http://localhost:3000', 'localhost:3000')).toBe(true);
    // A Host without a port is the default port of the Origin's scheme, as a browser writes it.
    expect(await allowed(strict, 'https://chat.example.com', 'chat.example.com')).toBe(true);
    expect(await allowed(strict, 'http://chat.example.com', 'chat.example.com')).toBe(true);
    expect(await allowed(strict, 'https://chat.example.com:8443', 'chat.example.com')).toBe(false);
    expect(await allowed(strict, 'https://chat.example.com', 'chat.example.com:8443')).toBe(false);
    // No Host header to compare with: refused.
    expect(await allowed(strict, 'http://localhost:3000')).toBe(false);
  });
});

// ---- End to end: a real Nest app, the in-memory layer and real `ws` clients ----

/** Every consumer body that ran, to show that refused handshakes never reached one. */
const ran: string[] = [];

@Injectable()
class SecureConsumers {
  @Consumer('websocket.connect', { path: /^\/secure\/$/ })
  @AllowedHostsOnly()
  async connect(message: Message): Promise<void> {
    ran.push(`secure:${message.content.path as string}`);
    await message.replyChannel!.send({ accept: true });
  }
}

/** The allowed hosts are provided here, in the module that declares the consumer. */
@Module({
  providers: [SecureConsumers, { provide: CHANNELS_ALLOWED_HOSTS, useValue: ['.example.com', 'localhost:3000'] }],
})
class SecureModule {}

@Injectable()
class LocalConsumers {
  @Consumer('websocket.connect', { path: /^\/local\/$/ })
  @AllowedHostsOnly()
  async connect(message: Message): Promise<void> {
    ran.push('local');
    await message.replyChannel!.send({ accept: true });
  }
}

/** No CHANNELS_ALLOWED_HOSTS here: the same guard class falls back to the local machine. */
@Module({ providers: [LocalConsumers] })
class LocalModule {}

/** A dependency of the custom validator, to show that the guard is built by Nest's DI. */
@Injectable()
class PartnerRegistry {
  readonly partners = new Set(['https://partner.test']);
  readonly asked: string[] = [];

  async isPartner(origin: string): Promise<boolean> {
    this.asked.push(origin);
    return this.partners.has(origin);
  }
}

@Injectable()
class PartnerOriginValidator extends BaseOriginValidator {
  constructor(@Inject(PartnerRegistry) private readonly registry: PartnerRegistry) {
    super();
  }

  validateOrigin(_message: Message, origin: string): Promise<boolean> {
    return this.registry.isPartner(origin);
  }
}

/** A class-based consumer: gets connect, receive and disconnect; the validator acts on connect only. */
@Consumer({ path: /^\/partners\/$/ })
@ValidateOrigin(PartnerOriginValidator)
class PartnerSocket implements ClassConsumerInstance {
  static channelNames(): string[] {
    return ['websocket.connect', 'websocket.receive'];
  }

  async dispatch(message: Message, _kwargs: RouteKwargs): Promise<void> {
    ran.push(`partner:${message.channel.name}`);
    if (message.channel.name === 'websocket.connect') await message.replyChannel!.send({ accept: true });
    else await message.replyChannel!.send({ text: `echo ${message.content.text as string}` });
  }
}

@Module({ providers: [PartnerRegistry, PartnerSocket] })
class PartnerModule {}

/** The status the handshake is refused with; fails if the socket opens. */
function refusal(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.once('unexpected-response', (request, response: IncomingMessage) => {
      response.resume();
      request.destroy();
      resolve(response.statusCode ?? 0);
    });
    ws.once('open', () => {
      ws.close();
      reject(new Error(`the handshake with origin ${String(origin)} should have been refused`));
    });
    ws.on('error', () => undefined);
  });
}

function open(url: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response: IncomingMessage) =>
      reject(new Error(`origin ${String(origin)} refused with ${response.statusCode}`)),
    );
    ws.once('error', reject);
  });
}

/** A real app listening on a spare port; its `ws://` base URL. */
async function listen(
  options: ChannelsModuleOptions,
  modules: Array<new () => object>,
): Promise<{ app: INestApplication; base: string }> {
  const moduleRef = await Test.createTestingModule({
    // A long connect timeout, so that a 403 can only come from the validator refusing the handshake.
    imports: [ChannelsModule.forRoot({ interface: { websocket: { connectTimeout: 20 } }, ...options }), ...modules],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { app, base: `ws://127.0.0.1:${port}` };
}

describe('origin checks on a real app with real WebSocket clients', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await listen({}, [SecureModule, LocalModule, PartnerModule]));
  });
  afterAll(() => app.close());
  beforeEach(() => {
    ran.length = 0;
  });

  it('opens for allowed origins: subdomains, the bare domain and a host with its port', async () => {
    for (const origin of ['https://app.example.com', 'https://example.com', 'http://localhost:3000']) {
      const ws = await open(`${base}/secure/`, origin);
      ws.close();
    }
    expect(ran).toEqual(['secure:/secure/', 'secure:/secure/', 'secure:/secure/']);
  });

  it('refuses foreign, missing, malformed and null origins with 403 before the socket opens', async () => {
    const refused: Array<[string | undefined, number]> = [];
    for (const origin of [
      'https://evil.test',
      'https://example.com.evil.test',
      'http://localhost:3001',
      'http://localhost',
      undefined,
      'example.com',
      'http//example.com',
      'null',
    ]) {
      const started = Date.now();
      refused.push([origin, await refusal(`${base}/secure/`, origin)]);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    expect(refused.every(([, status]) => status === 403)).toBe(true);
    expect(ran).toEqual([]);
  });

  it('resolves the allowed hosts per module: without the token the local machine is allowed', async () => {
    const ws = await open(`${base}/local/`, 'http://localhost:5173');
    ws.close();
    expect(await refusal(`${base}/local/`, 'https://app.example.com')).toBe(403);
    expect(ran).toEqual(['local']);
  });

  it('runs a custom validator with injected dependencies on a class-based consumer, on connect only', async () => {
    expect(await refusal(`${base}/partners/`, 'https://stranger.test')).toBe(403);
    expect(await refusal(`${base}/partners/`)).toBe(403);
    expect(ran).toEqual([]);

    const ws = await open(`${base}/partners/`, 'https://partner.test');
    const reply = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
    ws.send('hi');
    expect(await reply).toBe('echo hi');
    ws.close();
    expect(ran).toEqual(['partner:websocket.connect', 'partner:websocket.receive']);
    expect(app.get(PartnerRegistry).asked).toEqual(['https://stranger.test', 'https://partner.test']);
  });
});

describe('allowed hosts from ChannelsModule options', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    ({ app, base } = await listen({ security: { allowedHosts: ['chat.example.org'] } }, [LocalModule]));
  });
  afterAll(() => app.close());
  beforeEach(() => {
    ran.length = 0;
  });

  it('reaches every module: `security.allowedHosts` replaces the local-machine default', async () => {
    const ws = await open(`${base}/local/`, 'https://chat.example.org');
    ws.close();
    expect(await refusal(`${base}/local/`, 'http://localhost:5173')).toBe(403);
    expect(ran).toEqual(['local']);
  });

  it('`security.matchOriginPort` refuses a page on another port of an allowed host', async () => {
    const strict = await listen({ security: { matchOriginPort: true } }, [LocalModule]);
    try {
      const port = new URL(strict.base).port;
      const ws = await open(`${strict.base}/local/`, `http://127.0.0.1:${port}`);
      ws.close();
      expect(await refusal(`${strict.base}/local/`, `http://127.0.0.1:${Number(port) + 1}`)).toBe(403);
    } finally {
      await strict.app.close();
    }
  });
});

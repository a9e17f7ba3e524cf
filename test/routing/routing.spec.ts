import { InMemoryChannelLayer, include, Message, route, routeClass, RouteConfigurationError, Router } from '../../src';
import type { ChannelMessage, ClassConsumerInstance } from '../../src';

const layer = new InMemoryChannelLayer();
afterAll(() => layer.close());
const message = (channel: string, content: ChannelMessage): Message => new Message(content, channel, layer);
const consumerA = (): void => undefined;
const consumerB = (): void => undefined;

class ChatConsumer implements ClassConsumerInstance {
  static channelNames(): string[] {
    return ['websocket.connect', 'websocket.receive'];
  }
  dispatch(): void {}
}

describe('route', () => {
  it('matches its channels and filters, with named groups as kwargs', () => {
    const r = route('websocket.connect', consumerA, { path: /^\/chat\/(?<room>[^/]+)\/$/, method: 'GET' });
    expect(r.match('websocket.connect', { path: '/chat/django/', method: 'GET' })?.kwargs).toEqual({ room: 'django' });
    expect(r.match('websocket.receive', { path: '/chat/django/', method: 'GET' })).toBeNull();
    expect(r.match('websocket.connect', { path: '/chat/django/', method: 'POST' })).toBeNull();
    expect(r.match('websocket.connect', { path: '/chat/django/' })).toBeNull();
  });

  it('matches from the start of the value only, like Python re.match', () => {
    const r = route('http.request', consumerA, { path: '/chat/' });
    expect(r.match('http.request', { path: '/chat/room' })).not.toBeNull();
    expect(r.match('http.request', { path: '/x/chat/' })).toBeNull();
  });

  it('matches bytes values, and never non-string values', () => {
    const r = route('http.request', consumerA, { path: /^\/a$/ });
    expect(r.match('http.request', { path: Buffer.from('/a') })).not.toBeNull();
    expect(r.match('http.request', { path: 42 })).toBeNull();
  });

  it('takes several channels', () => {
    const r = route(['a', 'b'], consumerA);
    expect(r.channelNames()).toEqual(['a', 'b']);
    expect(r.match('b', {})).not.toBeNull();
  });

  it('refuses unnamed capturing groups, and accepts non-capturing ones', () => {
    expect(() => route('a', consumerA, { path: /^\/(\d+)\/$/ })).toThrow(RouteConfigurationError);
    expect(() => route('a', consumerA, { path: /^(?<a>x)|(y)$/ })).toThrow(/unnamed capturing groups/);
    expect(() => route('a', consumerA, { path: /^\/(?:\d+)\/$/ })).not.toThrow();
    expect(() => route('a', consumerA, { path: '(' })).toThrow(RouteConfigurationError);
    expect(() => route([], consumerA)).toThrow(RouteConfigurationError);
  });

  it('gives undefined for a named group that did not take part', () => {
    const r = route('a', consumerA, { path: /^\/(?<x>x)?(?<y>y)$/ });
    expect(r.match('a', { path: '/y' })?.kwargs).toEqual({ x: undefined, y: 'y' });
  });
});

describe('routeClass', () => {
  it('takes its channels from the class', () => {
    const r = routeClass(ChatConsumer, { path: /^\/chat\// });
    expect(r.channelNames()).toEqual(['websocket.connect', 'websocket.receive']);
    expect(r.match('websocket.receive', { path: '/chat/x' })?.route.consumer).toBe(ChatConsumer);
  });

  it('refuses a class without channelNames()', () => {
    expect(() => routeClass(class {} as never)).toThrow(RouteConfigurationError);
  });
});

describe('include', () => {
  const inner = [
    route('websocket.connect', consumerA, { path: /^\/chat\/(?<room>[^/]+)\/$/ }),
    route('websocket.connect', consumerB, { path: /^\/other\/$/ }),
  ];

  it('strips the matched prefix before inner routes see the value, and merges kwargs', () => {
    const nested = include(inner, { path: /^\/ws\/v(?<version>[0-9]+)/ });
    const match = nested.match('websocket.connect', { path: '/ws/v2/chat/django/' });
    expect(match?.route.consumer).toBe(consumerA);
    expect(match?.kwargs).toEqual({ version: '2', room: 'django' });
    expect(nested.match('websocket.connect', { path: '/chat/django/' })).toBeNull();
  });

  it('lets inner kwargs win a name clash', () => {
    const nested = include([route('a', consumerA, { path: /^\/(?<id>[a-z]+)$/ })], { path: /^\/(?<id>[0-9]+)/ });
    expect(nested.match('a', { path: '/12/xy' })?.kwargs).toEqual({ id: 'xy' });
  });

  it('nests includes', () => {
    const nested = include([include(inner, { path: /^\/v1/ })], { path: /^\/api/ });
    expect(nested.match('websocket.connect', { path: '/api/v1/other/' })?.route.consumer).toBe(consumerB);
    expect(nested.channelNames()).toEqual(['websocket.connect']);
  });
});

describe('Router', () => {
  it('takes the first match in order and lists its channels', () => {
    const router = new Router([
      route('http.request', consumerA, { path: /^\/a/ }),
      route('http.request', consumerB),
      include([route('websocket.receive', consumerB)]),
    ]);
    expect(router.channels).toEqual(['http.request', 'websocket.receive']);
    expect(router.match(message('http.request', { path: '/abc' }))?.route.consumer).toBe(consumerA);
    expect(router.match(message('http.request', { path: '/b' }))?.route.consumer).toBe(consumerB);
    expect(router.match(message('other', {}))).toBeNull();
  });

  it('gives the consumer the original message, not the stripped copy', () => {
    const router = new Router([include([route('a', consumerA, { path: /^\/x$/ })], { path: /^\/p/ })]);
    const original = message('a', { path: '/p/x' });
    expect(router.match(original)).not.toBeNull();
    expect(original.content.path).toBe('/p/x');
  });

  it('refuses two routes that claim the same channel and filters', () => {
    const router = new Router([
      route('a', consumerA, { path: /^\/x$/ }),
      route(['b', 'a'], consumerB, { path: /^\/x$/ }),
    ]);
    expect(() => router.assertNoDuplicates()).toThrow(/both consume a\?path=/);
    const fine = new Router([
      route('a', consumerA, { path: /^\/x$/ }),
      route('a', consumerB, { path: /^\/y$/ }),
      include([route('a', consumerB, { path: /^\/x$/ })], { path: /^\/p/ }),
    ]);
    expect(() => fine.assertNoDuplicates()).not.toThrow();
  });

  it('does not change the routing list it was given', () => {
    const routes = [route('a', consumerA)];
    const router = new Router(routes);
    router.add(route('b', consumerB));
    expect(routes).toHaveLength(1);
    expect(router.channels).toEqual(['a', 'b']);
  });
});

describe('Message', () => {
  it('has content, channel, reply channel and layer; copy() deep-copies the content', () => {
    const m = message('websocket.receive', { reply_channel: 'r!1', list: [1] });
    expect(m.channel.name).toBe('websocket.receive');
    expect(m.replyChannel?.name).toBe('r!1');
    expect(m.channelLayer).toBe(layer);
    const copy = m.copy();
    (copy.content.list as number[]).push(2);
    expect(m.content.list).toEqual([1]);
    expect(message('x', { reply_channel: '' }).replyChannel).toBeNull();
    expect(message('x', {}).replyChannel).toBeNull();
  });
});

// Port of channels 1.1.8 tests/test_routing.py (RoutingTests). The original unit-tests Router
// directly (a SimpleTestCase, no layer, no worker); so does this port, through the public Router.
import {
  BaseConsumer,
  include,
  InMemoryChannelLayer,
  Message,
  route,
  routeClass,
  RouteConfigurationError,
  Router,
  type ChannelMessage,
  type ConsumerRef,
  type RouteKwargs,
} from '../../../src';

// Fake consumers (the original imported them by dotted path; here they are plain functions).
function consumer_1(): void {}
function consumer_2(): void {}
function consumer_3(): void {}

class TestClassConsumer extends BaseConsumer {
  static override methodMapping = { 'test.channel': 'some_method' };

  some_method(): void {}
}

// The original's `include("tests.test_routing.chatroom_routing")` imports a list by its dotted
// path; here the list itself is passed.
const chatroom_routing = [
  route('websocket.connect', consumer_2, { path: '^/chat/(?<room>[^/]+)/$' }),
  route('websocket.connect', consumer_3, { path: '^/mentions/$' }),
];

const chatroom_routing_nolinestart = [
  route('websocket.connect', consumer_2, { path: '/chat/(?<room>[^/]+)/$' }),
  route('websocket.connect', consumer_3, { path: '/mentions/$' }),
];

const class_routing = [routeClass(TestClassConsumer, { path: '^/foobar/$' })];

// The original built messages with channel_layer="fake channel layer"; a Message here needs a
// real layer object, which routing never touches.
const layer = new InMemoryChannelLayer();
afterAll(() => layer.close());

/**
 * The original's assertRoute: routing `content` from `channel` gives `consumer` (null: no route),
 * and, when given, exactly `kwargs`.
 */
function assertRoute(
  router: Router,
  channel: string,
  content: ChannelMessage,
  consumer: ConsumerRef | null,
  kwargs?: RouteKwargs,
): void {
  const match = router.match(new Message(content, channel, layer));
  if (consumer === null) {
    expect(match).toBeNull();
    return;
  }
  expect(match).not.toBeNull();
  expect(match!.route.consumer).toBe(consumer);
  if (kwargs !== undefined) expect(match!.kwargs).toEqual(kwargs);
}

describe('RoutingTests (channels 1.1.8 tests/test_routing.py)', () => {
  it('test_assumption: the test consumers do not compare equal', () => {
    expect(consumer_1).toBe(consumer_1);
    expect(consumer_1).not.toBe(consumer_2);
    expect(consumer_1).not.toBe(consumer_3);
  });

  it('test_dict: a channel → consumer mapping routes every message of each channel', () => {
    // Router({"http.request": consumer_1, ...}): the package's Router takes no dict form; the
    // dict expands to one unfiltered route per channel, which is what is built here.
    const router = new Router([route('http.request', consumer_1), route('http.disconnect', consumer_2)]);
    assertRoute(router, 'http.request', {}, consumer_1, {});
    assertRoute(router, 'http.request', { path: '/chat/' }, consumer_1, {});
    assertRoute(router, 'http.disconnect', {}, consumer_2, {});
  });

  it('test_filters: filters catch things correctly, unfiltered routes catch the rest', () => {
    const router = new Router([
      route('http.request', consumer_1, { path: '^/chat/$' }),
      route('http.disconnect', consumer_2),
      route('http.request', consumer_3),
    ]);
    // Filter hit
    assertRoute(router, 'http.request', { path: '/chat/' }, consumer_1, {});
    // Fall-through
    assertRoute(router, 'http.request', {}, consumer_3, {});
    assertRoute(router, 'http.request', { path: '/liveblog/' }, consumer_3, {});
  });

  it('test_include: inclusion without a prefix', () => {
    const router = new Router([include(chatroom_routing)]);
    assertRoute(router, 'websocket.connect', { path: '/boom/' }, null);
    assertRoute(router, 'websocket.connect', { path: '/chat/django/' }, consumer_2, { room: 'django' });
    assertRoute(router, 'websocket.connect', { path: '/mentions/' }, consumer_3, {});
  });

  it('test_route_class: a class route matches only its method_mapping channels and filters', () => {
    const router = new Router([include(class_routing)]);
    assertRoute(router, 'websocket.connect', { path: '/foobar/' }, null);
    assertRoute(router, 'test.channel', { path: '/foobar/' }, TestClassConsumer);
    assertRoute(router, 'test.channel', { path: '/' }, null);
  });

  it('test_include_prefix: inclusion with a prefix, with and without ^ in the inner patterns', () => {
    let router = new Router([include(chatroom_routing, { path: '^/ws/v(?<version>[0-9]+)' })]);
    assertRoute(router, 'websocket.connect', { path: '/boom/' }, null);
    assertRoute(router, 'websocket.connect', { path: '/chat/django/' }, null);
    assertRoute(router, 'websocket.connect', { path: '/ws/v2/chat/django/' }, consumer_2, {
      version: '2',
      room: 'django',
    });
    assertRoute(router, 'websocket.connect', { path: '/ws/v1/mentions/' }, consumer_3, { version: '1' });
    // Check it works without the ^s too.
    router = new Router([include(chatroom_routing_nolinestart, { path: '/ws/v(?<version>[0-9]+)' })]);
    assertRoute(router, 'websocket.connect', { path: '/ws/v2/chat/django/' }, consumer_2, {
      version: '2',
      room: 'django',
    });
  });

  it('test_positional_pattern: a pattern with a positional group is rejected', () => {
    // Python's ValueError is the package's RouteConfigurationError (raised when the route is made,
    // inside the Router construction as in the original).
    expect(() => new Router([route('http.request', consumer_1, { path: '^/chat/([^/]+)/$' })])).toThrow(
      RouteConfigurationError,
    );
  });

  it('test_mixed_unicode_bytes: a bytes value in the message still matches text patterns', () => {
    // Unicode patterns, byte message
    let router = new Router([
      route('websocket.connect', consumer_1, { path: '^/foo/' }),
      include(chatroom_routing, { path: '^/ws/v(?<version>[0-9]+)' }),
    ]);
    assertRoute(router, 'websocket.connect', { path: Buffer.from('/boom/') }, null);
    assertRoute(router, 'websocket.connect', { path: Buffer.from('/foo/') }, consumer_1);
    assertRoute(router, 'websocket.connect', { path: Buffer.from('/ws/v2/chat/django/') }, consumer_2, {
      version: '2',
      room: 'django',
    });
    // Byte patterns, unicode message: a JavaScript RegExp is always text and the package's filters
    // take only RegExps or their (text) source, so the original's b"^/foo/" patterns are their text
    // form here; the half then checks text patterns against text paths.
    router = new Router([
      route('websocket.connect', consumer_1, { path: '^/foo/' }),
      include(chatroom_routing, { path: '^/ws/v(?<version>[0-9]+)' }),
    ]);
    assertRoute(router, 'websocket.connect', { path: '/boom/' }, null);
    assertRoute(router, 'websocket.connect', { path: '/foo/' }, consumer_1);
    assertRoute(router, 'websocket.connect', { path: '/ws/v2/chat/django/' }, consumer_2, {
      version: '2',
      room: 'django',
    });
  });

  it('test_channels: the router reports the channels to listen on, also after add_route', () => {
    const router = new Router([
      route('http.request', consumer_1, { path: '^/chat/$' }),
      route('http.disconnect', consumer_2),
      route('http.request', consumer_3),
      routeClass(TestClassConsumer),
    ]);
    // Initial check (a Python set: compared as a set)
    expect(new Set(router.channels)).toEqual(new Set(['http.request', 'http.disconnect', 'test.channel']));
    // Dynamically add route (router.add_route → router.add), recheck
    router.add(route('websocket.receive', consumer_1));
    expect(new Set(router.channels)).toEqual(
      new Set(['http.request', 'http.disconnect', 'websocket.receive', 'test.channel']),
    );
  });
});

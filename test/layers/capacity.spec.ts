import { CapacityTable } from '../../src/layers/capacity';
import { globToRegExp } from '../../src/layers/names';

describe('channel capacity patterns', () => {
  it.each([
    ['http.response!*', 'http.response!abc', true],
    ['http.response!*', 'http.request', false],
    ['websocket.?', 'websocket.x', true],
    ['websocket.?', 'websocket.xy', false],
    ['room.[ab]', 'room.a', true],
    ['room.[!ab]', 'room.a', false],
    ['room.[!ab]', 'room.c', true],
    ['a.b', 'aXb', false],
  ])('glob %p matches %p: %p', (glob, name, matches) => {
    expect(globToRegExp(glob).test(name)).toBe(matches);
  });

  it('uses the first matching pattern, else the default, as asgiref does', () => {
    const table = new CapacityTable(42, { 'http.response!*': 10, 'http.request': 100 });
    expect(table.capacityOf('http.disconnect')).toBe(42);
    expect(table.capacityOf('http.request')).toBe(100);
    expect(table.capacityOf('http.response!')).toBe(10);
  });

  it('takes a Map with RegExp keys', () => {
    const table = new CapacityTable(
      5,
      new Map<string | RegExp, number>([
        [/^websocket\.send!/, 20],
        ['websocket.*', 7],
      ]),
    );
    expect(table.capacityOf('websocket.send!')).toBe(20);
    expect(table.capacityOf('websocket.receive')).toBe(7);
  });
});

import { BurstLogger } from '../../src/logging/burst-logger';
import { printable } from '../../src/logging/printable';

describe('printable', () => {
  it('escapes what could forge or hide log lines, and leaves ordinary text alone', () => {
    expect(printable('/chat/lobby/')).toBe('/chat/lobby/');
    expect(printable('héllo wörld ✓')).toBe('héllo wörld ✓');
    expect(printable('a\nERROR [Worker] forged\r\n')).toBe('a\\nERROR [Worker] forged\\r\\n');
    expect(printable('tab\there')).toBe('tab\\there');
    expect(printable('\u001b[31mred\u001b[0m')).toBe('\\u001b[31mred\\u001b[0m');
    expect(printable('line\u2028separator\u0085')).toBe('line\\u2028separator\\u0085');
    expect(printable(42)).toBe('42');
  });

  it('cuts long text, saying how much was left out', () => {
    expect(printable('x'.repeat(250))).toBe(`${'x'.repeat(200)}…(50 more)`);
    expect(printable('abcdef', 3)).toBe('abc…(3 more)');
  });
});

describe('BurstLogger', () => {
  afterEach(() => jest.useRealTimers());

  it('logs the first event of a burst, counts the rest, and sums the burst up once it is over', () => {
    jest.useFakeTimers();
    const lines: string[] = [];
    const log = new BurstLogger({ warn: (line: string) => lines.push(line) }, 'things dropped', 1000);
    for (let i = 0; i < 500; i++) log.event(`dropped thing ${i}`);
    expect(lines).toEqual(['dropped thing 0']);
    jest.advanceTimersByTime(999);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^500 things dropped in \d+\.\d s$/);
    // A new burst starts with its own first line; a burst of one needs no summary.
    log.event('dropped again');
    jest.advanceTimersByTime(1000);
    expect(lines).toEqual(['dropped thing 0', lines[1], 'dropped again']);
  });
});

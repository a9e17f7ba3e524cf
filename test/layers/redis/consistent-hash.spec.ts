import { crc32, shardFor } from '../../../src/layers/redis/consistent-hash';

describe('consistent hashing', () => {
  it('computes CRC-32 (IEEE)', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  it('maps a name to the same host every time, spreading names over all hosts', () => {
    const names = Array.from({ length: 400 }, (_, i) => `daphne.response.${i}!`);
    for (const count of [1, 2, 3, 5]) {
      const used = new Set(names.map((name) => shardFor(name, count)));
      expect([...used].sort()).toEqual([...Array(count).keys()]);
      for (const name of names) expect(shardFor(name, count)).toBe(shardFor(name, count));
    }
  });
});

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 (IEEE) of a string's UTF-8 bytes. */
export function crc32(text: string): number {
  let crc = -1;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/**
 * Which of `shardCount` hosts owns `name`: a 4096-slot ring cut into equal ranges, as the
 * original Redis layer did, so a deployment keeps its mapping when it moves to this layer.
 */
export function shardFor(name: string, shardCount: number): number {
  if (shardCount === 1) return 0;
  return Math.floor((crc32(name) & 0xfff) / (4096 / shardCount));
}

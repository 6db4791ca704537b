/** Reading LZ4 frames and blocks apart, to check what a compressor wrote against the format's rules. */

export interface Sequence {
  literalStart: number;
  literals: number;
  matchStart: number;
  matchLength: number;
}

/** Walks one compressed block's sequences (positions in decoded bytes), as the block format defines them. */
export function sequences(block: Buffer): Sequence[] {
  const out: Sequence[] = [];
  let s = 0;
  let d = 0;
  while (s < block.length) {
    const token = block[s++];
    let literals = token >> 4;
    if (literals === 15) for (let b = 255; b === 255; literals += b) b = block[s++];
    const literalStart = d;
    s += literals;
    d += literals;
    if (s === block.length) {
      out.push({ literalStart, literals, matchStart: d, matchLength: 0 });
      break;
    }
    s += 2;
    let len = token & 15;
    if (len === 15) for (let b = 255; b === 255; len += b) b = block[s++];
    out.push({ literalStart, literals, matchStart: d, matchLength: len + 4 });
    d += len + 4;
  }
  return out;
}

export function blocksOf(frame: Buffer): { compressed: boolean; data: Buffer }[] {
  const blocks: { compressed: boolean; data: Buffer }[] = [];
  for (let o = 7; ; ) {
    const size = frame.readUInt32LE(o);
    o += 4;
    if (size === 0) return blocks;
    const n = size & 0x7fffffff;
    blocks.push({ compressed: (size & 0x80000000) === 0, data: frame.subarray(o, o + n) });
    o += n;
  }
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyMask, maskInto } from '../../../../src/core/ws/mask.js';

/** RFC 6455 §5.3, literally: octet i XOR key[(phase + i) mod 4]. */
function naiveMask(data: Uint8Array, key: Uint8Array, phase: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[(phase + i) % 4]!;
  return out;
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const KEYS = [
  new Uint8Array([0x37, 0xfa, 0x21, 0x3d]),
  new Uint8Array([0x00, 0x00, 0x00, 0x00]),
  new Uint8Array([0xff, 0x80, 0x01, 0x7f]),
];

// Lengths straddling the small/word thresholds and the unroll boundaries.
const LENGTHS = [...Array.from({ length: 71 }, (_, i) => i), 124, 125, 126, 127, 128, 129, 130, 131, 132, 191, 255, 256, 257, 1000, 1023, 4099, 65536 + 7];

describe('applyMask', () => {
  it('matches the RFC 6455 §5.7 example ("Hello" with key 37 fa 21 3d)', () => {
    const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    const data = new TextEncoder().encode('Hello');
    applyMask(data, key);
    assert.deepEqual(data, new Uint8Array([0x7f, 0x9f, 0x4d, 0x51, 0x58]));
    applyMask(data, key);
    assert.equal(new TextDecoder().decode(data), 'Hello');
  });

  it('matches the naive reference for every length, phase, range start and alignment', () => {
    for (const key of KEYS) {
      for (const len of LENGTHS) {
        const bigLen = len > 300;
        for (let phase = 0; phase < 4; phase++) {
          for (let start = 0; start < 8; start++) {
            // Big lengths: fewer combinations, to keep the run short.
            if (bigLen && (start > 3 || phase === 2)) continue;
            for (const byteOffset of bigLen ? [1] : [0, 1, 2, 3]) {
              const pad = 5;
              const total = byteOffset + start + len + pad;
              const backing = pattern(total, len + start);
              const data = backing.subarray(byteOffset, total); // odd byteOffset of the ArrayBuffer
              const before = data.slice();
              applyMask(data, key, phase, start, start + len);
              const ctx = `key ${key.join(',')} len ${len} phase ${phase} start ${start} byteOffset ${byteOffset}`;
              const want = naiveMask(before.subarray(start, start + len), key, phase);
              assert.deepEqual(data.subarray(start, start + len), want, ctx);
              // Nothing outside [start, end) changes, not even in the backing buffer.
              assert.deepEqual(data.subarray(0, start), before.subarray(0, start), `${ctx}: head touched`);
              assert.deepEqual(data.subarray(start + len), before.subarray(start + len), `${ctx}: tail touched`);
              assert.deepEqual(backing.subarray(0, byteOffset), pattern(total, len + start).subarray(0, byteOffset), `${ctx}: backing touched`);
            }
          }
        }
      }
    }
  });

  it('defaults: phase 0, whole array', () => {
    const key = KEYS[0]!;
    for (const len of [0, 3, 17, 200]) {
      const data = pattern(len);
      const want = naiveMask(data, key, 0);
      applyMask(data, key);
      assert.deepEqual(data, want);
    }
  });

  it('unmasks a payload delivered in pieces when given the running offset as phase', () => {
    const key = KEYS[2]!;
    const payload = pattern(1000, 9);
    const masked = naiveMask(payload, key, 0);
    for (const cuts of [[1], [3, 7], [5, 130, 131, 600], [127, 128, 129, 999], Array.from({ length: 99 }, (_, i) => i * 10 + 3)]) {
      const copy = masked.slice();
      let at = 0;
      for (const cut of [...cuts, copy.length]) {
        // As the frame decoder does it: each piece its own subarray, phase = offset & 3.
        applyMask(copy.subarray(at, cut), key, at & 3);
        at = cut;
      }
      assert.deepEqual(copy, payload, `cuts ${cuts.join(',')}`);
      // Same with start/end on the whole array.
      const copy2 = masked.slice();
      at = 0;
      for (const cut of [...cuts, copy2.length]) {
        applyMask(copy2, key, at & 3, at, cut);
        at = cut;
      }
      assert.deepEqual(copy2, payload, `cuts (start/end) ${cuts.join(',')}`);
    }
  });

  it('uses only the low two bits of phase', () => {
    const key = KEYS[0]!;
    for (const len of [10, 300]) {
      const a = pattern(len);
      const b = a.slice();
      applyMask(a, key, 6);
      applyMask(b, key, 2);
      assert.deepEqual(a, b);
    }
  });

  it('is its own inverse', () => {
    const key = KEYS[0]!;
    const data = pattern(5000);
    const orig = data.slice();
    applyMask(data, key, 3, 1, 4999);
    assert.notDeepEqual(data, orig);
    applyMask(data, key, 3, 1, 4999);
    assert.deepEqual(data, orig);
  });

  it('reads the key through its own byteOffset (key as a subarray of a frame header)', () => {
    const header = new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x99]);
    const key = header.subarray(2, 6);
    for (const len of [5, 200]) {
      const data = pattern(len);
      const want = naiveMask(data, new Uint8Array([0x37, 0xfa, 0x21, 0x3d]), 1);
      applyMask(data, key, 1);
      assert.deepEqual(data, want);
    }
  });

  it('works on a SharedArrayBuffer', () => {
    const key = KEYS[0]!;
    const sab = new Uint8Array(new SharedArrayBuffer(300)).subarray(3, 290);
    sab.set(pattern(sab.length));
    const want = naiveMask(sab, key, 0);
    applyMask(sab, key);
    assert.deepEqual(Uint8Array.from(sab), want);
  });

  it('rejects a short key and a bad range instead of masking the wrong bytes', () => {
    const data = new Uint8Array(200);
    assert.throws(() => applyMask(data, new Uint8Array(3)), RangeError);
    assert.throws(() => applyMask(data, KEYS[0]!, 0, 0, 201), RangeError);
    assert.throws(() => applyMask(data, KEYS[0]!, 0, -1, 10), RangeError);
    assert.throws(() => applyMask(data, KEYS[0]!, 0, 10, 9), RangeError);
    // A subarray must not be masked past its end into the rest of the buffer.
    const big = new Uint8Array(400);
    assert.throws(() => applyMask(big.subarray(0, 200), KEYS[0]!, 0, 0, 300), RangeError);
    assert.ok(big.every((b) => b === 0));
    applyMask(data, KEYS[0]!, 0, 200, 200); // empty range at the end is fine
  });
});

describe('maskInto', () => {
  it('writes src XOR key at every dstOffset and alignment, leaving src and the rest of dst alone', () => {
    for (const key of KEYS) {
      for (const len of LENGTHS) {
        const offsets = len > 300 ? [0, 2, 7] : [0, 1, 2, 3, 4, 5, 6, 7, 10, 14];
        for (const dstOffset of offsets) {
          for (const srcByteOffset of len > 300 ? [0, 3] : [0, 1, 2, 3]) {
            const srcBacking = pattern(len + srcByteOffset + 2, len);
            const src = srcBacking.subarray(srcByteOffset, srcByteOffset + len);
            const srcBefore = src.slice();
            const dstBacking = new Uint8Array(dstOffset + len + 9).fill(0xa5);
            const dst = dstBacking.subarray(1); // dst itself at an odd byteOffset
            maskInto(src, key, dst, dstOffset);
            const ctx = `key ${key.join(',')} len ${len} dstOffset ${dstOffset} srcByteOffset ${srcByteOffset}`;
            assert.deepEqual(dst.subarray(dstOffset, dstOffset + len), naiveMask(srcBefore, key, 0), ctx);
            assert.deepEqual(src, srcBefore, `${ctx}: src changed`);
            assert.ok(dstBacking.subarray(0, 1 + dstOffset).every((b) => b === 0xa5), `${ctx}: before dstOffset touched`);
            assert.ok(dstBacking.subarray(1 + dstOffset + len).every((b) => b === 0xa5), `${ctx}: after payload touched`);
          }
        }
      }
    }
  });

  it('builds the RFC 6455 §5.7 masked "Hello" frame body after its header', () => {
    const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
    const frame = new Uint8Array(11);
    frame.set([0x81, 0x85, ...key]);
    maskInto(new TextEncoder().encode('Hello'), key, frame, 6);
    assert.deepEqual(frame, new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
  });

  it('masks in place when src is exactly the target range of dst', () => {
    const key = KEYS[0]!;
    for (const len of [7, 300]) {
      const buf = pattern(len + 4);
      const want = naiveMask(buf.subarray(4), key, 0);
      maskInto(buf.subarray(4), key, buf, 4);
      assert.deepEqual(buf.subarray(4), want);
    }
  });

  it('throws when the payload does not fit in dst, or the key is short', () => {
    assert.throws(() => maskInto(new Uint8Array(10), KEYS[0]!, new Uint8Array(12), 3), RangeError);
    assert.throws(() => maskInto(new Uint8Array(200), KEYS[0]!, new Uint8Array(201), 2), RangeError);
    assert.throws(() => maskInto(new Uint8Array(10), new Uint8Array(2), new Uint8Array(20), 0), RangeError);
    maskInto(new Uint8Array(0), KEYS[0]!, new Uint8Array(0), 0);
  });
});

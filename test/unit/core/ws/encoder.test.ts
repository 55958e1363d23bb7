/**
 * Frame encoder (RFC 6455 §5.2): header bytes, bits, masking, the one-chunk /
 * header+payload split, and that every frame decodes back with our decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COALESCE_LIMIT, encodeFrame, headerLength, writeHeader, type FrameOutput } from '../../../../src/core/ws/encoder.js';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import type { FramePiece } from '../../../../src/core/ws/types.js';
import { join } from '../../../helpers/frames.js';

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

/** The header `writeHeader` produces, as hex. */
function header(opcode: number, fin: boolean, rsv1: boolean, len: number, key: Uint8Array | null = null): string {
  const out = new Uint8Array(14).fill(0xee);
  const n = writeHeader(out, opcode, fin, rsv1, len, key);
  assert.equal(n, headerLength(len, key !== null), 'writeHeader returns headerLength');
  assert.ok(out.subarray(n).every((b) => b === 0xee), 'nothing written past the header');
  return Buffer.from(out.subarray(0, n)).toString('hex');
}

/** Collects what encodeFrame writes, chunk objects kept as they are. */
function sink(): FrameOutput & { chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  return { chunks, write: (c) => void chunks.push(c) };
}

/** Decode `bytes` (a copy: the decoder unmasks in place) into [opcode, fin, rsv1, payload] per frame. */
function decode(bytes: Uint8Array, role: 'client' | 'server'): Array<[number, boolean, boolean, Uint8Array]> {
  const frames: Array<[number, boolean, boolean, Uint8Array]> = [];
  let parts: Uint8Array[] = [];
  const d = new FrameDecoder({ role, maxFrameSize: 1 << 24, maxFragments: 100, allowRsv1: true }, (p: FramePiece) => {
    if (p.first) parts = [];
    parts.push(p.payload.slice());
    if (p.last) frames.push([p.opcode, p.fin, p.rsv1, join(parts)]);
  });
  d.push(bytes.slice());
  return frames;
}

function pattern(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
}

test('headerLength: 2, 4 or 10 bytes by payload length, +4 when masked (§5.2)', () => {
  const cases: Array<[number, number]> = [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10], [2 ** 32 + 5, 10], [2 ** 53 - 1, 10]];
  for (const [len, size] of cases) {
    assert.equal(headerLength(len, false), size, `len ${len}`);
    assert.equal(headerLength(len, true), size + 4, `len ${len} masked`);
  }
});

test('writeHeader: 7-bit, 16-bit and 64-bit payload lengths in network byte order', () => {
  // §5.2: "0-125, that is the payload length. If 126, the following 2 bytes
  // ... If 127, the following 8 bytes interpreted as a 64-bit unsigned integer".
  assert.equal(header(Opcode.BINARY, true, false, 0), '8200');
  assert.equal(header(Opcode.BINARY, true, false, 125), '827d');
  assert.equal(header(Opcode.BINARY, true, false, 126), '827e007e');
  assert.equal(header(Opcode.BINARY, true, false, 65535), '827effff');
  assert.equal(header(Opcode.BINARY, true, false, 65536), '827f0000000000010000');
  assert.equal(header(Opcode.BINARY, true, false, 2 ** 32 + 5), '827f0000000100000005');
  assert.equal(header(Opcode.BINARY, true, false, 2 ** 53 - 1), '827f001fffffffffffff');
});

test('writeHeader: FIN, RSV1 and opcode bits of the first byte', () => {
  assert.equal(header(Opcode.TEXT, true, false, 0).slice(0, 2), '81');
  assert.equal(header(Opcode.TEXT, false, false, 0).slice(0, 2), '01');
  assert.equal(header(Opcode.TEXT, true, true, 0).slice(0, 2), 'c1');
  assert.equal(header(Opcode.TEXT, false, true, 0).slice(0, 2), '41');
  assert.equal(header(Opcode.CONTINUATION, false, false, 0).slice(0, 2), '00');
  assert.equal(header(Opcode.CONTINUATION, true, false, 0).slice(0, 2), '80');
  assert.equal(header(Opcode.CLOSE, true, false, 0).slice(0, 2), '88');
  assert.equal(header(Opcode.PING, true, false, 0).slice(0, 2), '89');
  assert.equal(header(Opcode.PONG, true, false, 0).slice(0, 2), '8a');
  // RSV2 and RSV3 are never set.
  for (const op of [0, 1, 2, 8, 9, 10]) {
    for (const fin of [true, false]) {
      for (const rsv1 of [true, false]) {
        const b0 = parseInt(header(op, fin, rsv1, 3).slice(0, 2), 16);
        assert.equal(b0 & 0x30, 0);
        assert.equal(b0 & 0x0f, op);
        assert.equal((b0 & 0x80) !== 0, fin);
        assert.equal((b0 & 0x40) !== 0, rsv1);
      }
    }
  }
});

test('writeHeader: MASK bit set and the key follows the extended length', () => {
  const k = Buffer.from(KEY).toString('hex');
  assert.equal(header(Opcode.TEXT, true, false, 5, KEY), '8185' + k);
  assert.equal(header(Opcode.TEXT, true, false, 125, KEY), '81fd' + k);
  assert.equal(header(Opcode.BINARY, true, false, 126, KEY), '82fe007e' + k);
  assert.equal(header(Opcode.BINARY, true, false, 65535, KEY), '82feffff' + k);
  assert.equal(header(Opcode.BINARY, true, false, 65536, KEY), '82ff0000000000010000' + k);
  assert.equal(header(Opcode.BINARY, false, true, 2 ** 32 + 5, KEY), '42ff0000000100000005' + k);
});

test('writeHeader writes at the start of a larger buffer without touching the rest', () => {
  const out = new Uint8Array(20).fill(0xaa);
  assert.equal(writeHeader(out, Opcode.TEXT, true, false, 300, null), 4);
  assert.deepEqual([...out.subarray(0, 4)], [0x81, 126, 0x01, 0x2c]);
  assert.ok(out.subarray(4).every((b) => b === 0xaa));
});

test('encodeFrame: the RFC 6455 §5.7 examples byte for byte', () => {
  const hello = new TextEncoder().encode('Hello');
  const a = sink();
  encodeFrame(a, Opcode.TEXT, true, false, hello, null);
  assert.equal(Buffer.from(join(a.chunks)).toString('hex'), '810548656c6c6f');
  const b = sink();
  encodeFrame(b, Opcode.TEXT, true, false, hello, KEY);
  assert.equal(Buffer.from(join(b.chunks)).toString('hex'), '818537fa213d7f9f4d5158');
  // "A fragmented unmasked text message": 0x01 0x03 "Hel", 0x80 0x02 "lo".
  const c = sink();
  encodeFrame(c, Opcode.TEXT, false, false, hello.subarray(0, 3), null);
  encodeFrame(c, Opcode.CONTINUATION, true, false, hello.subarray(3), null);
  assert.deepEqual(c.chunks.map((x) => Buffer.from(x).toString('hex')), ['010348656c', '80026c6f']);
  // "Unmasked Ping request": 0x89 0x05 "Hello".
  const d = sink();
  encodeFrame(d, Opcode.PING, true, false, hello, null);
  assert.equal(Buffer.from(join(d.chunks)).toString('hex'), '890548656c6c6f');
});

test('encodeFrame: unmasked payloads up to 16 KiB leave as ONE chunk (header + copy)', () => {
  for (const size of [0, 1, 125, 126, 127, 1000, COALESCE_LIMIT - 1, COALESCE_LIMIT]) {
    const payload = pattern(size);
    const out = sink();
    encodeFrame(out, Opcode.BINARY, true, false, payload, null);
    assert.equal(out.chunks.length, 1, `size ${size}`);
    const chunk = out.chunks[0] as Uint8Array;
    assert.notEqual(chunk, payload);
    assert.equal(chunk.length, headerLength(size, false) + size);
    assert.deepEqual(decode(chunk, 'client'), [[Opcode.BINARY, true, false, payload]]);
  }
});

test('encodeFrame: unmasked payloads above 16 KiB leave as header + the caller\'s payload (same object, not copied)', () => {
  for (const size of [COALESCE_LIMIT + 1, 65535, 65536, 200_000]) {
    const payload = pattern(size);
    const before = payload.slice();
    const out = sink();
    encodeFrame(out, Opcode.BINARY, false, true, payload, null);
    assert.equal(out.chunks.length, 2, `size ${size}`);
    assert.equal(out.chunks[1], payload, 'the payload object itself is the second chunk');
    assert.equal((out.chunks[0] as Uint8Array).length, headerLength(size, false));
    assert.deepEqual(payload, before);
    assert.deepEqual(decode(join(out.chunks), 'client'), [[Opcode.BINARY, false, true, before]]);
  }
});

test('encodeFrame: a masked frame is always one fresh chunk; the caller\'s payload is untouched and decodes back', () => {
  for (const size of [0, 1, 3, 4, 5, 125, 126, 129, 1000, COALESCE_LIMIT, COALESCE_LIMIT + 1, 65536, 100_003]) {
    const payload = pattern(size);
    const before = payload.slice();
    const out = sink();
    encodeFrame(out, Opcode.TEXT, true, false, payload, KEY);
    assert.equal(out.chunks.length, 1, `size ${size}`);
    const chunk = out.chunks[0] as Uint8Array;
    assert.equal(chunk.length, headerLength(size, true) + size);
    assert.deepEqual(payload, before, `size ${size}: caller's payload not modified`);
    if (size >= 4) assert.notDeepEqual(chunk.subarray(chunk.length - size), payload, 'payload bytes are masked on the wire');
    assert.deepEqual(decode(chunk, 'server'), [[Opcode.TEXT, true, false, before]]);
  }
});

test('encodeFrame: a subarray payload (non-zero byteOffset) is encoded from its own bytes only', () => {
  const backing = pattern(70_000);
  for (const [start, end] of [[3, 10], [1, 20_001], [5, 69_999]] as const) {
    const view = backing.subarray(start, end);
    for (const key of [null, KEY]) {
      const out = sink();
      encodeFrame(out, Opcode.BINARY, true, false, view, key);
      assert.deepEqual(decode(join(out.chunks), key ? 'server' : 'client'), [[Opcode.BINARY, true, false, backing.slice(start, end)]]);
    }
  }
  assert.deepEqual(backing, pattern(70_000));
});

test('encodeFrame: frames written back to back decode as a sequence in both roles', () => {
  const seq: Array<[number, boolean, boolean, Uint8Array]> = [
    [Opcode.TEXT, false, true, pattern(10)],
    [Opcode.PING, true, false, pattern(125)],
    [Opcode.CONTINUATION, false, false, pattern(20_000)],
    [Opcode.CONTINUATION, true, false, new Uint8Array(0)],
    [Opcode.CLOSE, true, false, new Uint8Array([0x03, 0xe8])],
  ];
  for (const key of [null, KEY]) {
    const out = sink();
    for (const [op, fin, rsv1, p] of seq) encodeFrame(out, op, fin, rsv1, p, key);
    assert.deepEqual(decode(join(out.chunks), key ? 'server' : 'client'), seq);
  }
});

test('encodeFrame: the custom alloc provides every buffer written (header and one-chunk frames)', () => {
  const sizes: number[] = [];
  const made: Uint8Array[] = [];
  const alloc = (n: number): Uint8Array => {
    sizes.push(n);
    const b = Buffer.alloc(n);
    made.push(b);
    return b;
  };
  const out = sink();
  encodeFrame(out, Opcode.TEXT, true, false, pattern(10), null, alloc);
  encodeFrame(out, Opcode.TEXT, true, false, pattern(10), KEY, alloc);
  const big = pattern(COALESCE_LIMIT + 1);
  encodeFrame(out, Opcode.BINARY, true, false, big, null, alloc);
  encodeFrame(out, Opcode.BINARY, true, false, big, KEY, alloc);
  assert.deepEqual(sizes, [12, 16, 4, 8 + COALESCE_LIMIT + 1]);
  assert.equal(out.chunks.length, 5);
  assert.equal(out.chunks[0], made[0]);
  assert.equal(out.chunks[1], made[1]);
  assert.equal(out.chunks[2], made[2]);
  assert.equal(out.chunks[3], big);
  assert.equal(out.chunks[4], made[3]);
  assert.ok(out.chunks.every((c, i) => i === 3 || Buffer.isBuffer(c)));
  // An allocator that hands out dirty memory (as Buffer.allocUnsafe may) still yields exact frames.
  const dirty = (n: number): Uint8Array => new Uint8Array(n).fill(0xff);
  const out2 = sink();
  encodeFrame(out2, Opcode.TEXT, true, false, pattern(200), null, dirty);
  encodeFrame(out2, Opcode.BINARY, false, false, pattern(70_000), null, dirty);
  encodeFrame(out2, Opcode.CONTINUATION, true, false, pattern(3), null, dirty);
  assert.deepEqual(decode(join(out2.chunks), 'client'), [
    [Opcode.TEXT, true, false, pattern(200)],
    [Opcode.BINARY, false, false, pattern(70_000)],
    [Opcode.CONTINUATION, true, false, pattern(3)],
  ]);
  const out3 = sink();
  encodeFrame(out3, Opcode.TEXT, true, true, pattern(70_000), KEY, dirty);
  assert.deepEqual(decode(join(out3.chunks), 'server'), [[Opcode.TEXT, true, true, pattern(70_000)]]);
});

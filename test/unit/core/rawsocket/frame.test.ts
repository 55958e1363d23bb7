/**
 * RawSocket framing (WAMP Advanced Profile, "RawSocket Transport" →
 * "Framing"): the 4-octet prefix, the decoder at every split, every error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RawSocketFrameDecoder,
  RawSocketFrameType,
  encodeFrame,
  encodeFrameHeader,
  type RawSocketFrame,
} from '../../../../src/core/rawsocket/frame.js';
import { RawSocketError } from '../../../../src/core/rawsocket/errors.js';

type Seen = Array<[number, number[]]>;

function decoder(maxLength = 1 << 16): { d: RawSocketFrameDecoder; seen: Seen } {
  const seen: Seen = [];
  // Copy each payload: a payload may be a view into the pushed chunk.
  const d = new RawSocketFrameDecoder({ maxLength }, (f: RawSocketFrame) => seen.push([f.type, [...f.payload]]));
  return { d, seen };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function expectError(fn: () => void, code: string, closeCode: number): void {
  assert.throws(fn, (e: unknown) => e instanceof RawSocketError && e.code === code && e.closeCode === closeCode);
}

const bytes = (n: number, seed = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test('header: RRRR XTTT + 24-bit big-endian length; X only for exactly 16M', () => {
  assert.deepEqual([...encodeFrameHeader(RawSocketFrameType.MESSAGE, 0)], [0, 0, 0, 0]);
  assert.deepEqual([...encodeFrameHeader(RawSocketFrameType.PING, 0x112233)], [1, 0x11, 0x22, 0x33]);
  assert.deepEqual([...encodeFrameHeader(RawSocketFrameType.PONG, 5)], [2, 0, 0, 5]);
  // "When the payload length is 16M-1 octets ... RRRR 0TTT 1111 1111 1111 1111 1111 1111"
  assert.deepEqual([...encodeFrameHeader(RawSocketFrameType.MESSAGE, 2 ** 24 - 1)], [0, 0xff, 0xff, 0xff]);
  // "RRRR 1TTT 0000 0000 0000 0000 0000 0000"
  assert.deepEqual([...encodeFrameHeader(RawSocketFrameType.MESSAGE, 2 ** 24)], [0x08, 0, 0, 0]);
  assert.deepEqual([...encodeFrameHeader(RawSocketFrameType.PING, 2 ** 24)], [0x09, 0, 0, 0]);
  assert.throws(() => encodeFrameHeader(0, 2 ** 24 + 1), RangeError);
  assert.throws(() => encodeFrameHeader(0, -1), RangeError);
  assert.deepEqual([...encodeFrame(RawSocketFrameType.MESSAGE, Uint8Array.of(9, 8))], [0, 0, 0, 2, 9, 8]);
});

// A stream of frames of every type, including empty ones and one that spans
// many small chunks; cut at every position (and every pair of positions).
const STREAM_FRAMES: Array<[0 | 1 | 2, Uint8Array]> = [
  [0, bytes(10, 1)],
  [1, bytes(0)],
  [2, bytes(3, 2)],
  [0, bytes(0)],
  [0, bytes(300, 3)],
  [1, bytes(4, 4)],
];
const STREAM = concat(...STREAM_FRAMES.map(([t, p]) => encodeFrame(t, p)));
const EXPECTED: Seen = STREAM_FRAMES.map(([t, p]) => [t, [...p]]);

test('decodes a stream cut at every single position', () => {
  for (let i = 0; i <= STREAM.length; i++) {
    const { d, seen } = decoder();
    d.push(STREAM.slice(0, i));
    d.push(STREAM.slice(i));
    d.end();
    assert.deepEqual(seen, EXPECTED, `cut at ${i}`);
  }
});

test('decodes a stream cut at every pair of positions (three pieces)', () => {
  // The first 40 octets hold 4 headers and the edges of 5 frames; cut both points there and anywhere after.
  const n = STREAM.length;
  for (let i = 0; i <= 40; i++) {
    for (let j = i; j <= n; j += j < 60 ? 1 : 37) {
      const { d, seen } = decoder();
      d.push(STREAM.slice(0, i));
      d.push(STREAM.slice(i, j));
      d.push(STREAM.slice(j));
      assert.deepEqual(seen, EXPECTED, `cuts at ${i}, ${j}`);
    }
  }
});

test('decodes one octet at a time, and all in one chunk', () => {
  const { d, seen } = decoder();
  for (let i = 0; i < STREAM.length; i++) d.push(STREAM.subarray(i, i + 1));
  assert.deepEqual(seen, EXPECTED);
  const one = decoder();
  one.d.push(STREAM);
  assert.deepEqual(one.seen, EXPECTED);
});

test('short input is "need more": nothing emitted, no error, not idle', () => {
  const { d, seen } = decoder();
  const f = encodeFrame(0, bytes(5));
  d.push(f.subarray(0, 3));
  assert.equal(seen.length, 0);
  assert.equal(d.idle, false);
  d.push(f.subarray(3, 8));
  assert.equal(seen.length, 0);
  d.push(f.subarray(8));
  assert.equal(seen.length, 1);
  assert.equal(d.idle, true);
});

test('a payload inside one chunk is a view (no copy); one spread over chunks is joined', () => {
  const frames: RawSocketFrame[] = [];
  const d = new RawSocketFrameDecoder({ maxLength: 100 }, (f) => frames.push(f));
  const chunk = encodeFrame(0, bytes(8));
  d.push(chunk);
  assert.equal(frames[0]?.payload.buffer, chunk.buffer);
  d.push(chunk.subarray(0, 6));
  d.push(chunk.subarray(6));
  assert.notEqual(frames[1]?.payload.buffer, chunk.buffer);
  assert.deepEqual([...(frames[1]?.payload ?? [])], [...bytes(8)]);
});

test('a payload of exactly the limit passes; one octet more fails with 1009 at the header', () => {
  const ok = decoder(512);
  ok.d.push(encodeFrame(0, bytes(512)));
  assert.equal(ok.seen.length, 1);
  const big = decoder(512);
  // Only the header: the error comes before any payload is buffered.
  expectError(() => big.d.push(encodeFrameHeader(0, 513)), 'RAWSOCKET_ERR_MESSAGE_TOO_BIG', 1009);
  // PING and PONG are bounded by the same limit.
  expectError(() => decoder(512).d.push(encodeFrameHeader(1, 600)), 'RAWSOCKET_ERR_MESSAGE_TOO_BIG', 1009);
  expectError(() => decoder(512).d.push(encodeFrameHeader(2, 2 ** 24)), 'RAWSOCKET_ERR_MESSAGE_TOO_BIG', 1009);
});

test('exactly 16 MiB round-trips through the X bit', () => {
  const payload = new Uint8Array(2 ** 24);
  payload[0] = 1;
  payload[2 ** 24 - 1] = 2;
  const frames: RawSocketFrame[] = [];
  const d = new RawSocketFrameDecoder({ maxLength: 2 ** 24 }, (f) => frames.push(f));
  d.push(encodeFrameHeader(0, payload.length));
  d.push(payload.subarray(0, 1000));
  d.push(payload.subarray(1000));
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.payload.length, 2 ** 24);
  assert.equal(frames[0]?.payload[2 ** 24 - 1], 2);
});

test('each reserved bit RRRR fails (1002), also when the header straddles chunks', () => {
  for (const bit of [0x10, 0x20, 0x40, 0x80]) {
    expectError(() => decoder().d.push(Uint8Array.of(bit, 0, 0, 1, 0)), 'RAWSOCKET_ERR_FRAME_RESERVED_BITS', 1002);
    const { d } = decoder();
    d.push(Uint8Array.of(bit, 0));
    expectError(() => d.push(Uint8Array.of(0, 1)), 'RAWSOCKET_ERR_FRAME_RESERVED_BITS', 1002);
  }
});

test('reserved frame types 3-7 fail (1002)', () => {
  for (let t = 3; t <= 7; t++) {
    expectError(() => decoder().d.push(Uint8Array.of(t, 0, 0, 0)), 'RAWSOCKET_ERR_INVALID_FRAME_TYPE', 1002);
  }
});

test('X bit with non-zero L bits fails (1002)', () => {
  expectError(() => decoder(2 ** 24).d.push(Uint8Array.of(0x08, 0, 0, 1)), 'RAWSOCKET_ERR_INVALID_LENGTH', 1002);
  expectError(() => decoder(2 ** 24).d.push(Uint8Array.of(0x08, 0x80, 0, 0)), 'RAWSOCKET_ERR_INVALID_LENGTH', 1002);
});

test('frames before a bad header are delivered; after the error all input is ignored', () => {
  const { d, seen } = decoder();
  const input = concat(encodeFrame(0, bytes(2)), encodeFrame(2, bytes(1)), Uint8Array.of(0xf0, 0, 0, 0), encodeFrame(0, bytes(3)));
  expectError(() => d.push(input), 'RAWSOCKET_ERR_FRAME_RESERVED_BITS', 1002);
  assert.deepEqual(seen, [[0, [...bytes(2)]], [2, [...bytes(1)]]]);
  d.push(encodeFrame(0, bytes(1)));
  d.end(); // a failed decoder does not throw again
  assert.equal(seen.length, 2);
});

test('end() inside a header or a payload is a lost connection (1006); between frames it is fine', () => {
  for (const cut of [1, 3, 4, 6]) {
    const { d } = decoder();
    d.push(encodeFrame(0, bytes(5)).subarray(0, cut));
    expectError(() => d.end(), 'RAWSOCKET_ERR_CONNECTION_LOST', 1006);
  }
  const { d } = decoder();
  d.push(encodeFrame(0, bytes(5)));
  d.end();
});

test('runs as a TransformStream stage', async () => {
  const frames: RawSocketFrame[] = [];
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(STREAM.slice(0, 7));
      c.enqueue(STREAM.slice(7));
      c.close();
    },
  });
  await readable.pipeThrough(new TransformStream(new RawSocketFrameDecoder({ maxLength: 1024 }))).pipeTo(
    new WritableStream({ write: (f) => void frames.push(f) }),
  );
  assert.deepEqual(frames.map((f) => [f.type, [...f.payload]]), EXPECTED);
});

test('rejects a limit beyond what RawSocket can express', () => {
  assert.throws(() => new RawSocketFrameDecoder({ maxLength: 2 ** 24 + 1 }), RangeError);
});

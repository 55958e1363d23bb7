import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import type { FramePiece } from '../../../../src/core/ws/types.js';
import { clientFrame, frame, join, splits } from '../../../helpers/frames.js';

function decoder(role: 'client' | 'server' = 'server', opts: Partial<{ maxFrameSize: number; maxFragments: number; allowRsv1: boolean }> = {}) {
  const pieces: FramePiece[] = [];
  const d = new FrameDecoder({ role, maxFrameSize: opts.maxFrameSize ?? 1 << 24, maxFragments: opts.maxFragments ?? 1000, allowRsv1: opts.allowRsv1 ?? false }, (p) => pieces.push({ ...p, payload: p.payload.slice() }));
  return { d, pieces };
}

/** Reassemble pieces into frames: [opcode, fin, payload]. */
function frames(pieces: FramePiece[]): Array<[number, boolean, string]> {
  const out: Array<[number, boolean, string]> = [];
  let cur: Uint8Array[] = [];
  for (const p of pieces) {
    if (p.first) cur = [];
    cur.push(p.payload);
    if (p.last) out.push([p.opcode, p.fin, Buffer.from(join(cur)).toString('latin1')]);
  }
  return out;
}

function expectError(fn: () => void, code: string, closeCode: number): void {
  assert.throws(fn, (e: unknown) => e instanceof WebSocketError && e.code === code && e.closeCode === closeCode);
}

test('decodes 7-, 16- and 64-bit lengths at every split, masked and unmasked', () => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
    const expected = Buffer.from(payload).toString('latin1');
    for (const [role, bytes] of [['server', clientFrame(Opcode.BINARY, payload)], ['client', frame(Opcode.BINARY, payload)]] as const) {
      const cuts = size > 200 ? [[bytes.slice()], [bytes.slice(0, 3), bytes.slice(3)], [bytes.slice(0, 11), bytes.slice(11, 5000), bytes.slice(5000)]] : [...splits(bytes)];
      for (const parts of cuts) {
        const { d, pieces } = decoder(role);
        for (const p of parts) d.push(p);
        assert.deepEqual(frames(pieces), [[Opcode.BINARY, true, expected]], `size ${size} role ${role} parts ${parts.length}`);
      }
    }
  }
});

test('a payload split across chunks leaves as pieces, first/last marked, unmasked with the right key phase', () => {
  const payload = new Uint8Array(1000).map((_, i) => i & 0xff);
  const bytes = clientFrame(Opcode.BINARY, payload);
  const { d, pieces } = decoder();
  d.push(bytes.slice(0, 10));
  d.push(bytes.slice(10, 507));
  d.push(bytes.slice(507));
  assert.ok(pieces.length >= 2);
  assert.equal(pieces[0]?.first, true);
  assert.equal(pieces.at(-1)?.last, true);
  assert.deepEqual(join(pieces.map((p) => p.payload)), payload);
  assert.ok(pieces.every((p) => p.length === 1000));
});

test('several frames in one chunk, control frames between fragments', () => {
  const bytes = join([
    clientFrame(Opcode.TEXT, 'Hel', { fin: false }),
    clientFrame(Opcode.PING, 'p'),
    clientFrame(Opcode.CONTINUATION, 'lo', { fin: true }),
    clientFrame(Opcode.CLOSE, new Uint8Array([3, 232])),
  ]);
  for (const parts of splits(bytes)) {
    const { d, pieces } = decoder();
    for (const p of parts) d.push(p);
    assert.deepEqual(frames(pieces), [
      [Opcode.TEXT, false, 'Hel'],
      [Opcode.PING, true, 'p'],
      [Opcode.CONTINUATION, true, 'lo'],
      [Opcode.CLOSE, true, '\x03\xe8'],
    ]);
  }
});

test('protocol violations fail with 1002 and a stable code, at every split', () => {
  const cases: Array<[string, Uint8Array, string, number, 'server' | 'client', boolean?]> = [
    ['reserved opcode 3', clientFrame(3, 'x'), 'WS_ERR_INVALID_OPCODE', 1002, 'server'],
    ['reserved opcode 0xB', clientFrame(0xb), 'WS_ERR_INVALID_OPCODE', 1002, 'server'],
    ['RSV2', clientFrame(Opcode.TEXT, 'x', { rsv2: true }), 'WS_ERR_UNEXPECTED_RSV', 1002, 'server'],
    ['RSV3', clientFrame(Opcode.TEXT, 'x', { rsv3: true }), 'WS_ERR_UNEXPECTED_RSV', 1002, 'server'],
    ['RSV1 without extension', clientFrame(Opcode.TEXT, 'x', { rsv1: true }), 'WS_ERR_UNEXPECTED_RSV', 1002, 'server'],
    ['RSV1 on a control frame', clientFrame(Opcode.PING, 'x', { rsv1: true }), 'WS_ERR_UNEXPECTED_RSV', 1002, 'server', true],
    ['unmasked frame to a server', frame(Opcode.TEXT, 'x'), 'WS_ERR_EXPECTED_MASK', 1002, 'server'],
    ['masked frame to a client', clientFrame(Opcode.TEXT, 'x'), 'WS_ERR_UNEXPECTED_MASK', 1002, 'client'],
    ['fragmented ping', clientFrame(Opcode.PING, 'x', { fin: false }), 'WS_ERR_FRAGMENTED_CONTROL_FRAME', 1002, 'server'],
    ['ping of 126 bytes', clientFrame(Opcode.PING, new Uint8Array(126)), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002, 'server'],
    ['continuation first', clientFrame(Opcode.CONTINUATION, 'x'), 'WS_ERR_INVALID_CONTINUATION', 1002, 'server'],
    ['new message inside a fragmented one', join([clientFrame(Opcode.TEXT, 'a', { fin: false }), clientFrame(Opcode.TEXT, 'b')]), 'WS_ERR_EXPECTED_CONTINUATION', 1002, 'server'],
  ];
  for (const [name, bytes, code, closeCode, role, rsv1] of cases) {
    for (const parts of splits(bytes)) {
      const { d } = decoder(role, { allowRsv1: rsv1 ?? false });
      expectError(() => { for (const p of parts) d.push(p); }, code, closeCode);
      // after a failure the decoder refuses further input silently
      d.push(clientFrame(Opcode.TEXT, 'x'));
    }
    void name;
  }
});

test('with deflate negotiated, RSV1 marks the first frame of a message only: on a continuation it is a 1002, at every split', () => {
  // RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message, never on the rest.
  const first = clientFrame(Opcode.TEXT, 'ab', { fin: false, rsv1: true });
  const good = join([first, clientFrame(Opcode.CONTINUATION, 'cd', { fin: false }), clientFrame(Opcode.CONTINUATION, 'ef')]);
  for (const parts of splits(good)) {
    const { d, pieces } = decoder('server', { allowRsv1: true });
    for (const p of parts) d.push(p);
    assert.deepEqual(frames(pieces), [[Opcode.TEXT, false, 'ab'], [Opcode.CONTINUATION, false, 'cd'], [Opcode.CONTINUATION, true, 'ef']]);
    assert.deepEqual([...new Set(pieces.map((p) => `${p.opcode}:${p.rsv1}`))], [`${Opcode.TEXT}:true`, `${Opcode.CONTINUATION}:false`], 'RSV1 reported on the first frame only');
  }
  // The same message with RSV1 on a continuation (the second one, or the final one).
  for (const bad of [
    join([first, clientFrame(Opcode.CONTINUATION, 'cd', { fin: false, rsv1: true }), clientFrame(Opcode.CONTINUATION, 'ef')]),
    join([first, clientFrame(Opcode.CONTINUATION, 'cd', { fin: false }), clientFrame(Opcode.CONTINUATION, 'ef', { rsv1: true })]),
  ]) {
    for (const parts of splits(bad)) {
      const { d } = decoder('server', { allowRsv1: true });
      expectError(() => { for (const p of parts) d.push(p); }, 'WS_ERR_UNEXPECTED_RSV', 1002);
    }
  }
});

test('64-bit length with the MSB set fails with 1002; beyond maxFrameSize with 1009', () => {
  const msb = new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
  expectError(() => decoder().d.push(msb), 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1002);
  const big = clientFrame(Opcode.BINARY, new Uint8Array(2000));
  for (const parts of splits(big.slice(0, 8))) {
    const { d } = decoder('server', { maxFrameSize: 1999 });
    expectError(() => { for (const p of parts) d.push(p); }, 'WS_ERR_FRAME_TOO_BIG', 1009);
  }
  const huge = new Uint8Array([0x82, 0xff, 0, 0x40, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  expectError(() => decoder().d.push(huge), 'WS_ERR_FRAME_TOO_BIG', 1009);
});

test('more fragments than maxFragments fail with 1009', () => {
  const parts = [clientFrame(Opcode.BINARY, 'a', { fin: false })];
  for (let i = 0; i < 3; i++) parts.push(clientFrame(Opcode.CONTINUATION, 'a', { fin: false }));
  const { d } = decoder('server', { maxFragments: 3 });
  expectError(() => d.push(join(parts)), 'WS_ERR_TOO_MANY_FRAGMENTS', 1009);
});

test('an invalid opcode fails on its first byte, before the rest of the header', () => {
  const { d } = decoder();
  expectError(() => d.push(new Uint8Array([0x83])), 'WS_ERR_INVALID_OPCODE', 1002);
});

test('works as a WHATWG Transformer in a TransformStream', async () => {
  const ts = new TransformStream(new FrameDecoder({ role: 'client', maxFrameSize: 1 << 20, maxFragments: 10, allowRsv1: false }));
  const w = ts.writable.getWriter();
  const bytes = join([frame(Opcode.TEXT, 'hello'), frame(Opcode.BINARY, new Uint8Array([1, 2]))]);
  void w.write(bytes.slice(0, 4));
  void w.write(bytes.slice(4));
  void w.close();
  const got: FramePiece[] = [];
  for await (const p of ts.readable as unknown as AsyncIterable<FramePiece>) got.push({ ...p, payload: p.payload.slice() });
  assert.deepEqual(frames(got), [[Opcode.TEXT, true, 'hello'], [Opcode.BINARY, true, '\x01\x02']]);
});

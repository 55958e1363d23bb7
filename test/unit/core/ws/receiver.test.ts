/**
 * MessageReceiver: pieces in, events out. Fragment assembly (RFC 6455 §5.4),
 * fail-fast UTF-8 (§8.1), the message-size limit, control frames, streaming
 * events, and the ordered queue behind an asynchronous inflater (RFC 7692).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageReceiver, type MessageInflater, type MessageReceiverOptions } from '../../../../src/core/ws/receiver.js';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import type { FramePiece, ReceiveEvent } from '../../../../src/core/ws/types.js';
import { close, enc, frame, join, splits } from '../../../helpers/frames.js';

// ---------------------------------------------------------------- helpers

/** A piece as the decoder would emit it; a whole frame by default. */
function piece(opcode: number, payload: Uint8Array | string = '', o: Partial<Omit<FramePiece, 'opcode' | 'payload'>> = {}): FramePiece {
  const data = typeof payload === 'string' ? enc.encode(payload) : payload;
  return { opcode, payload: data, fin: o.fin ?? true, rsv1: o.rsv1 ?? false, first: o.first ?? true, last: o.last ?? true, length: o.length ?? data.length };
}

/** One frame's payload cut at `cuts` into pieces (first/last/length as the decoder sets them). */
function framePieces(opcode: number, payload: Uint8Array | string, cuts: number[], o: { fin?: boolean; rsv1?: boolean } = {}): FramePiece[] {
  const data = typeof payload === 'string' ? enc.encode(payload) : payload;
  const at = [0, ...cuts.filter((c) => c > 0 && c < data.length), data.length];
  const out: FramePiece[] = [];
  for (let i = 0; i + 1 < at.length; i++) {
    out.push(piece(opcode, data.subarray(at[i], at[i + 1]), { fin: o.fin ?? true, rsv1: o.rsv1 ?? false, first: i === 0, last: i + 2 === at.length, length: data.length }));
  }
  return out;
}

/** Every byte its own piece. */
function bytewise(opcode: number, payload: Uint8Array | string, o: { fin?: boolean; rsv1?: boolean } = {}): FramePiece[] {
  const n = typeof payload === 'string' ? enc.encode(payload).length : payload.length;
  return framePieces(opcode, payload, Array.from({ length: n }, (_, i) => i), o);
}

/** Pieces of `wire` (unmasked server frames) cut as `parts`, through a real decoder. */
function piecesOf(parts: Uint8Array[]): FramePiece[] {
  const out: FramePiece[] = [];
  const d = new FrameDecoder({ role: 'client', maxFrameSize: 1 << 24, maxFragments: 1000, allowRsv1: true }, (p) => out.push(p));
  for (const part of parts) d.push(part);
  return out;
}

/** An event as a short string: `text:héllo`, `binary:0102`, `ping:x`, `close:1000:bye`, `start:text`, `data:6869`, `end`. */
function show(e: ReceiveEvent): string {
  switch (e.type) {
    case 'message':
      return e.binary ? `binary:${hex(e.data)}` : `text:${Buffer.from(e.data).toString('utf8')}`;
    case 'ping':
    case 'pong':
      return `${e.type}:${Buffer.from(e.data).toString('latin1')}`;
    case 'close':
      return `close:${e.code}:${e.reason}`;
    case 'message-start':
      return `start:${e.binary ? 'binary' : 'text'}`;
    case 'message-data':
      return `data:${hex(e.data)}`;
    case 'message-end':
      return 'end';
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A receiver whose events are recorded as strings (data copied: a sink may not keep buffers it does not own). */
function receiver(opts: Partial<MessageReceiverOptions> = {}) {
  const events: string[] = [];
  const errors: unknown[] = [];
  let drains = 0;
  const r = new MessageReceiver({ maxMessageSize: 1 << 20, ...opts }, (e) => events.push(show(e)));
  r.onAsyncError = (err) => errors.push(err);
  r.onDrain = () => drains++;
  return { r, events, errors, drains: () => drains };
}

function isWsError(code: string, closeCode: number) {
  return (e: unknown): boolean => e instanceof WebSocketError && e.code === code && e.closeCode === closeCode;
}

/** Identity "inflation" through a synchronous call: output = input. */
function syncIdentity(): MessageInflater & { calls: Array<[string, boolean, number]> } {
  const calls: Array<[string, boolean, number]> = [];
  return {
    calls,
    inflate: (p, fin, soFar) => {
      calls.push([hex(p), fin, soFar]);
      return p.length ? [p.slice()] : [];
    },
  };
}

/**
 * Identity "inflation" answered after a timer (a backend on a thread pool).
 * `delays` cycles; `failOn` rejects that call (0-based).
 */
function asyncIdentity(delays: number[] = [4, 0, 2, 1], failOn = -1): MessageInflater & { calls: Array<[string, boolean, number]>; settled: () => Promise<void> } {
  const calls: Array<[string, boolean, number]> = [];
  const running: Promise<unknown>[] = [];
  return {
    calls,
    settled: async () => {
      // Wait until every inflate started so far (and any started meanwhile) has settled.
      for (let n = -1; n !== running.length; ) {
        n = running.length;
        await Promise.allSettled(running);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    inflate: (p, fin, soFar) => {
      const i = calls.length;
      calls.push([hex(p), fin, soFar]);
      const copy = p.slice();
      const delay = delays[i % delays.length] as number;
      const result = new Promise<Uint8Array[]>((resolve, reject) =>
        setTimeout(() => (i === failOn ? reject(new Error(`inflate ${i} failed`)) : resolve(copy.length ? [copy] : [])), delay),
      );
      running.push(result.catch(() => undefined));
      return result;
    },
  };
}

/** Feed pieces one by one; returns the index of the piece that threw, and the error (or -1). */
function feedUntilThrow(r: MessageReceiver, pieces: FramePiece[]): [number, unknown] {
  for (let i = 0; i < pieces.length; i++) {
    try {
      r.piece(pieces[i] as FramePiece);
    } catch (err) {
      return [i, err];
    }
  }
  return [-1, null];
}

// ---------------------------------------------------------------- whole messages

test('a large single-frame message arriving in pieces is assembled in place: binary and text, any cuts, with and without an allocator', () => {
  const size = 100 * 1024;
  const bin = new Uint8Array(size).map((_, i) => (i * 31) & 255);
  const text = 'é✓a'.repeat(Math.ceil(size / 6)).slice(0, size / 2);
  for (const alloc of [undefined, (n: number) => Buffer.allocUnsafe(n)]) {
    for (const cuts of [[1], [65536], [1000, 2000, 70000], Array.from({ length: 99 }, (_, i) => (i + 1) * 1024 + 7)]) {
      const got: ReceiveEvent[] = [];
      const r = new MessageReceiver({ maxMessageSize: 1 << 20, ...(alloc ? { alloc } : {}) }, (e) => got.push(e));
      for (const p of framePieces(Opcode.BINARY, bin, cuts)) r.piece(p);
      // a control frame between messages, then the text one
      r.piece(piece(Opcode.PING, 'x'));
      for (const p of framePieces(Opcode.TEXT, text, cuts)) r.piece(p);
      assert.equal(got.length, 3);
      const [m1, ping, m2] = got;
      assert.ok(m1?.type === 'message' && m1.binary && Buffer.from(m1.data).equals(Buffer.from(bin)));
      assert.equal(ping?.type, 'ping');
      assert.ok(m2?.type === 'message' && !m2.binary && Buffer.from(m2.data).toString('utf8') === text);
    }
  }
});

test('a large single-frame text message fails on its first invalid UTF-8 piece; one over maxMessageSize fails with 1009', () => {
  const size = 80 * 1024;
  const data = new Uint8Array(size).fill(0x61);
  data[50_000] = 0xff;
  const { r } = receiver();
  const [at, err] = feedUntilThrow(r, framePieces(Opcode.TEXT, data, [10_000, 40_000, 60_000]));
  assert.equal(at, 2, 'the piece holding the bad byte');
  assert.ok(isWsError('WS_ERR_INVALID_UTF8', 1007)(err));
  const small = receiver({ maxMessageSize: 70 * 1024 });
  const [at2, err2] = feedUntilThrow(small.r, framePieces(Opcode.BINARY, new Uint8Array(size), [30_000, 60_000]));
  assert.equal(at2, 2);
  assert.ok(isWsError('WS_ERR_MESSAGE_TOO_BIG', 1009)(err2));
});

test('whole messages: text, binary, empty, each as one event', () => {
  const { r, events } = receiver();
  r.piece(piece(Opcode.TEXT, 'héllo ✓'));
  r.piece(piece(Opcode.BINARY, new Uint8Array([0, 1, 0xff])));
  r.piece(piece(Opcode.TEXT, ''));
  r.piece(piece(Opcode.BINARY, new Uint8Array(0)));
  assert.deepEqual(events, ['text:héllo ✓', 'binary:0001ff', 'text:', 'binary:']);
});

test('fast path: a whole unfragmented message is delivered without copying its piece', () => {
  const got: ReceiveEvent[] = [];
  const r = new MessageReceiver({ maxMessageSize: 100 }, (e) => got.push(e));
  const p = piece(Opcode.BINARY, new Uint8Array([1, 2, 3]));
  r.piece(p);
  assert.equal(got.length, 1);
  assert.equal((got[0] as { data: Uint8Array }).data, p.payload);
});

test('the isUtf8 option checks whole text messages on the fast path', () => {
  const seen: string[] = [];
  const { r, events } = receiver({ isUtf8: (b) => (seen.push(hex(b)), b[0] !== 0x78) });
  r.piece(piece(Opcode.TEXT, 'ok'));
  r.piece(piece(Opcode.BINARY, 'x')); // binary: not checked
  assert.throws(() => r.piece(piece(Opcode.TEXT, 'x')), isWsError('WS_ERR_INVALID_UTF8', 1007));
  assert.deepEqual(seen, [hex(enc.encode('ok')), hex(enc.encode('x'))]);
  assert.deepEqual(events, ['text:ok', 'binary:78']);
});

// ---------------------------------------------------------------- fragmentation

test('fragmented messages: same events whatever the wire is cut into (every split, byte by byte)', () => {
  const bin = new Uint8Array(40).map((_, i) => (i * 13) & 0xff);
  const wire = join([
    frame(Opcode.TEXT, 'héllo w', { fin: false }),
    frame(Opcode.PING, 'p'),
    frame(Opcode.CONTINUATION, '', { fin: false }),
    frame(Opcode.CONTINUATION, 'orld ✓', { fin: true }),
    frame(Opcode.BINARY, bin.subarray(0, 17), { fin: false }),
    frame(Opcode.PONG, 'q'),
    frame(Opcode.CONTINUATION, bin.subarray(17), { fin: true }),
    frame(Opcode.TEXT, 'whole'),
    frame(Opcode.CLOSE, close(1000, 'bye')),
  ]);
  const expected = ['ping:p', 'text:héllo world ✓', 'pong:q', `binary:${hex(bin)}`, 'text:whole', 'close:1000:bye'];
  let cases = 0;
  for (const parts of splits(wire)) {
    const { r, events } = receiver();
    for (const p of piecesOf(parts)) r.piece(p);
    assert.deepEqual(events, expected, `cut into ${parts.length} parts at ${parts[0]?.length}`);
    cases++;
  }
  assert.equal(cases, wire.length + 1);
});

test('a multi-byte character split across pieces and fragments is reassembled', () => {
  const text = 'a€b𝄞c';
  const bytes = enc.encode(text);
  for (let c = 0; c <= bytes.length; c++) {
    const { r, events } = receiver();
    // At c = 0 or c = length one fragment is empty: a single piece with no bytes.
    for (const p of [...bytewise(Opcode.TEXT, bytes.subarray(0, c), { fin: false }), ...bytewise(Opcode.CONTINUATION, bytes.subarray(c))]) r.piece(p);
    assert.deepEqual(events, [`text:${text}`], `fragment boundary at ${c}`);
  }
});

// ---------------------------------------------------------------- UTF-8, fail fast

test('invalid UTF-8 fails on the piece holding the first invalid byte, not at message end (§8.1)', () => {
  // [payload, index of the first byte at which no valid continuation exists; Infinity = only at the end]
  const cases: Array<[number[], number]> = [
    [[0x61, 0xc0, 0x80, 0x62], 1], // overlong lead
    [[0x61, 0x62, 0xe2, 0x82, 0x28, 0x63], 4], // broken 3-byte sequence
    [[0xed, 0xa0, 0x80, 0x61], 1], // surrogate U+D800
    [[0x61, 0xf4, 0x90, 0x80, 0x80], 2], // above U+10FFFF
    [[0x61, 0x62, 0x63, 0xff, 0x64], 3],
    [[0x80, 0x61], 0], // lone continuation
    [[0x61, 0xe2, 0x82], Infinity], // truncated: only the end can tell
    [[0xf0, 0x9f, 0x98], Infinity],
  ];
  for (const [bytes, bad] of cases) {
    const payload = new Uint8Array(bytes);
    const label = hex(payload);
    // Byte by byte in one frame.
    {
      const pieces = bytewise(Opcode.TEXT, payload);
      const { r, events } = receiver();
      const [at, err] = feedUntilThrow(r, pieces);
      assert.equal(at, bad === Infinity ? pieces.length - 1 : bad, `${label} byte by byte`);
      assert.ok(isWsError('WS_ERR_INVALID_UTF8', 1007)(err));
      assert.deepEqual(events, []);
    }
    // Two fragments, cut at every position; each fragment one piece.
    for (let c = 0; c <= payload.length; c++) {
      const pieces = [piece(Opcode.TEXT, payload.subarray(0, c), { fin: false }), piece(Opcode.CONTINUATION, payload.subarray(c))];
      const { r } = receiver();
      const [at, err] = feedUntilThrow(r, pieces);
      assert.equal(at, bad < c ? 0 : 1, `${label} fragments cut at ${c}`);
      assert.ok(isWsError('WS_ERR_INVALID_UTF8', 1007)(err));
    }
    // Streaming mode fails as early, and no data event carries the bad piece.
    {
      const pieces = bytewise(Opcode.TEXT, payload);
      const { r, events } = receiver({ streaming: true });
      const [at] = feedUntilThrow(r, pieces);
      const expectAt = bad === Infinity ? pieces.length - 1 : bad;
      assert.equal(at, expectAt, `${label} streaming`);
      // Bytes before the bad one were valid so far and went out; a truncated end is only found at the end.
      const delivered = bad === Infinity ? bytes.length : bad;
      assert.deepEqual(events, ['start:text', ...bytes.slice(0, delivered).map((b) => `data:${hex(new Uint8Array([b]))}`)]);
    }
  }
});

test('binary messages are not UTF-8 checked; text validation restarts with each message', () => {
  const { r, events } = receiver();
  r.piece(piece(Opcode.BINARY, new Uint8Array([0xff, 0xe2]), { fin: false }));
  r.piece(piece(Opcode.CONTINUATION, new Uint8Array([0xc0])));
  // A text message after a binary one that ended "mid-sequence" starts clean.
  r.piece(piece(Opcode.TEXT, 'x', { fin: false }));
  r.piece(piece(Opcode.CONTINUATION, '€'));
  assert.deepEqual(events, ['binary:ffe2c0', 'text:x€']);
});

test('after a violation the receiver ignores all further pieces', () => {
  const { r, events } = receiver();
  assert.throws(() => r.piece(piece(Opcode.TEXT, new Uint8Array([0xff]))), isWsError('WS_ERR_INVALID_UTF8', 1007));
  r.piece(piece(Opcode.TEXT, 'later'));
  r.piece(piece(Opcode.PING, 'p'));
  assert.deepEqual(events, []);
});

// ---------------------------------------------------------------- size limit

test('maxMessageSize counts across fragments and pieces: 1009, WS_ERR_MESSAGE_TOO_BIG', () => {
  const tooBig = isWsError('WS_ERR_MESSAGE_TOO_BIG', 1009);
  // Exactly the limit passes.
  {
    const { r, events } = receiver({ maxMessageSize: 10 });
    for (const p of [piece(Opcode.TEXT, 'abcd', { fin: false }), piece(Opcode.CONTINUATION, 'efgh', { fin: false }), piece(Opcode.CONTINUATION, 'ij')]) r.piece(p);
    r.piece(piece(Opcode.BINARY, new Uint8Array(10)));
    assert.deepEqual(events, ['text:abcdefghij', `binary:${'00'.repeat(10)}`]);
  }
  // One byte over fails on the fragment that passes it.
  {
    const { r, events } = receiver({ maxMessageSize: 10 });
    const [at, err] = feedUntilThrow(r, [piece(Opcode.BINARY, 'abcd', { fin: false }), piece(Opcode.CONTINUATION, 'efgh', { fin: false }), piece(Opcode.CONTINUATION, 'ijk', { fin: false }), piece(Opcode.CONTINUATION, 'l')]);
    assert.equal(at, 2);
    assert.ok(tooBig(err));
    assert.deepEqual(events, []);
  }
  // Byte by byte within one frame: the 11th byte fails, before the frame ends.
  {
    const { r } = receiver({ maxMessageSize: 10 });
    const [at, err] = feedUntilThrow(r, bytewise(Opcode.TEXT, 'x'.repeat(20)));
    assert.equal(at, 10);
    assert.ok(tooBig(err));
  }
  // Fast path: a whole message over the limit.
  {
    const { r } = receiver({ maxMessageSize: 10 });
    assert.throws(() => r.piece(piece(Opcode.TEXT, 'x'.repeat(11))), tooBig);
  }
  // Streaming mode enforces it too, mid-message.
  {
    const { r, events } = receiver({ maxMessageSize: 10, streaming: true });
    const [at, err] = feedUntilThrow(r, [piece(Opcode.BINARY, 'abcdef', { fin: false }), piece(Opcode.CONTINUATION, 'ghijk')]);
    assert.equal(at, 1);
    assert.ok(tooBig(err));
    assert.deepEqual(events, ['start:binary', `data:${hex(enc.encode('abcdef'))}`]);
  }
  // The limit is on the inflated size: a compressed message whose inflation passes it fails.
  {
    const grow: MessageInflater = { inflate: (p) => [new Uint8Array(p.length * 4)] };
    const { r } = receiver({ maxMessageSize: 10, inflater: grow });
    r.piece(piece(Opcode.BINARY, 'ab', { rsv1: true, fin: false }));
    assert.throws(() => r.piece(piece(Opcode.CONTINUATION, 'c')), tooBig);
  }
});

// ---------------------------------------------------------------- control frames

test('control frames: close parsed (code, reason, no status → 1005), ping and pong payloads', () => {
  const { r, events } = receiver();
  r.piece(piece(Opcode.PING, 'are you there'));
  r.piece(piece(Opcode.PONG, ''));
  r.piece(piece(Opcode.PING, new Uint8Array(125).fill(0x41)));
  r.piece(piece(Opcode.CLOSE, close(4001, 'gone ✓')));
  assert.deepEqual(events, ['ping:are you there', 'pong:', `ping:${'A'.repeat(125)}`, 'close:4001:gone ✓']);
  const b = receiver();
  b.r.piece(piece(Opcode.CLOSE, ''));
  assert.deepEqual(b.events, ['close:1005:']);
});

test('invalid Close payloads fail: 1 byte, a reserved code (1002), a bad reason (1007)', () => {
  assert.throws(() => receiver().r.piece(piece(Opcode.CLOSE, new Uint8Array([3]))), isWsError('WS_ERR_INVALID_CLOSE_PAYLOAD', 1002));
  assert.throws(() => receiver().r.piece(piece(Opcode.CLOSE, close(1005))), isWsError('WS_ERR_INVALID_CLOSE_CODE', 1002));
  assert.throws(() => receiver().r.piece(piece(Opcode.CLOSE, close(999))), isWsError('WS_ERR_INVALID_CLOSE_CODE', 1002));
  assert.throws(() => receiver().r.piece(piece(Opcode.CLOSE, new Uint8Array([3, 0xe8, 0xff]))), isWsError('WS_ERR_INVALID_UTF8', 1007));
});

test('control frames between fragments are delivered at once, the message continues after them', () => {
  const { r, events } = receiver();
  r.piece(piece(Opcode.TEXT, 'ab', { fin: false }));
  r.piece(piece(Opcode.PING, '1'));
  r.piece(piece(Opcode.PONG, '2'));
  r.piece(piece(Opcode.CONTINUATION, 'cd', { fin: false }));
  assert.deepEqual(events, ['ping:1', 'pong:2']);
  r.piece(piece(Opcode.CONTINUATION, 'ef'));
  assert.deepEqual(events, ['ping:1', 'pong:2', 'text:abcdef']);
});

// ---------------------------------------------------------------- streaming

test('streaming mode: message-start, message-data per piece, message-end; controls in between keep their place', () => {
  const { r, events } = receiver({ streaming: true });
  r.piece(piece(Opcode.TEXT, 'hi')); // fast path
  r.piece(piece(Opcode.BINARY, new Uint8Array(0))); // empty: no data event
  for (const p of framePieces(Opcode.BINARY, new Uint8Array([1, 2, 3, 4, 5]), [2], { fin: false })) r.piece(p);
  r.piece(piece(Opcode.PING, 'p'));
  r.piece(piece(Opcode.CONTINUATION, '', { fin: false })); // empty fragment: nothing
  r.piece(piece(Opcode.CONTINUATION, new Uint8Array([6])));
  r.piece(piece(Opcode.CLOSE, close(1000)));
  assert.deepEqual(events, [
    'start:text', `data:${hex(enc.encode('hi'))}`, 'end',
    'start:binary', 'end',
    'start:binary', 'data:0102', 'data:030405', 'ping:p', 'data:06', 'end',
    'close:1000:',
  ]);
});

test('streaming mode delivers each piece as it arrives (nothing is held back)', () => {
  const { r, events } = receiver({ streaming: true });
  const pieces = framePieces(Opcode.TEXT, 'abcdef', [1, 3]);
  r.piece(pieces[0] as FramePiece);
  assert.deepEqual(events, ['start:text', 'data:61']);
  r.piece(pieces[1] as FramePiece);
  assert.deepEqual(events, ['start:text', 'data:61', 'data:6263']);
  r.piece(pieces[2] as FramePiece);
  assert.deepEqual(events, ['start:text', 'data:61', 'data:6263', 'data:646566', 'end']);
});

// ---------------------------------------------------------------- inflation

test('a synchronous inflater gets each compressed piece with fin and the inflated size so far', () => {
  const inflater = syncIdentity();
  const { r, events } = receiver({ inflater });
  for (const p of framePieces(Opcode.TEXT, 'Hel', [1], { rsv1: true, fin: false })) r.piece(p);
  r.piece(piece(Opcode.CONTINUATION, 'lo'));
  r.piece(piece(Opcode.TEXT, 'plain')); // RSV1 clear: not inflated
  r.piece(piece(Opcode.BINARY, new Uint8Array([9]), { rsv1: true }));
  assert.deepEqual(events, ['text:Hello', 'text:plain', 'binary:09']);
  assert.deepEqual(inflater.calls, [
    ['48', false, 0],
    ['656c', false, 1],
    ['6c6f', true, 3],
    ['09', true, 0],
  ]);
});

test('a compressed message without an inflater is an internal error (1011)', () => {
  assert.throws(() => receiver().r.piece(piece(Opcode.TEXT, 'x', { rsv1: true })), isWsError('WS_ERR_INTERNAL', 1011));
  // setInflater enables it afterwards.
  const { r, events } = receiver();
  r.setInflater(syncIdentity());
  r.piece(piece(Opcode.TEXT, 'x', { rsv1: true }));
  assert.deepEqual(events, ['text:x']);
});

/** Two compressed messages, a ping between them, controls and an uncompressed message behind. */
function mixedPieces(): FramePiece[] {
  return [
    ...framePieces(Opcode.TEXT, 'Hel', [2], { rsv1: true, fin: false }), // compressed #1, two pieces
    piece(Opcode.PING, 'p1'), // between fragments of #1
    piece(Opcode.CONTINUATION, 'lo'),
    piece(Opcode.PING, 'between'), // between two compressed messages
    piece(Opcode.BINARY, new Uint8Array([1, 2]), { rsv1: true }), // compressed #2
    piece(Opcode.TEXT, 'plain'), // uncompressed (fast path, but must wait its turn)
    piece(Opcode.PONG, 'q'),
    piece(Opcode.CLOSE, close(1000, 'bye')),
  ];
}
const MIXED_EVENTS = ['ping:p1', 'text:Hello', 'ping:between', 'binary:0102', 'text:plain', 'pong:q', 'close:1000:bye'];

test('async inflater: pieces and control frames arriving while it is pending are queued and delivered in order', async () => {
  // The synchronous run defines the order.
  const sync = receiver({ inflater: syncIdentity() });
  for (const p of mixedPieces()) sync.r.piece(p);
  assert.deepEqual(sync.events, MIXED_EVENTS);

  const inflater = asyncIdentity([5, 0, 3, 1]);
  const { r, events, errors, drains } = receiver({ inflater });
  const pieces = mixedPieces();
  r.piece(pieces[0] as FramePiece);
  assert.equal(r.pending, true);
  assert.equal(r.queuedBytes, 0, 'the piece being inflated is not queued');
  for (const p of pieces.slice(1)) r.piece(p);
  assert.deepEqual(events, [], 'nothing overtakes the pending inflate');
  const queued = pieces.slice(1).reduce((n, p) => n + p.payload.length, 0);
  assert.equal(r.queuedBytes, queued);

  // Watch the queue shrink as it is worked off.
  const seen: number[] = [r.queuedBytes];
  const poll = setInterval(() => seen.push(r.queuedBytes), 0);
  await inflater.settled();
  clearInterval(poll);

  assert.deepEqual(events, MIXED_EVENTS);
  assert.deepEqual(errors, []);
  assert.equal(r.pending, false);
  assert.equal(r.queuedBytes, 0);
  assert.equal(drains(), 1, 'onDrain fires once, when the queue is empty');
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'queuedBytes only goes down');
  assert.deepEqual(inflater.calls, [
    [hex(enc.encode('He')), false, 0],
    [hex(enc.encode('l')), false, 2],
    [hex(enc.encode('lo')), true, 3],
    ['0102', true, 0],
  ]);

  // Later input runs straight through again; a new async step drains again.
  r.piece(piece(Opcode.PING, 'after'));
  assert.deepEqual(events.slice(-1), ['ping:after']);
  r.piece(piece(Opcode.TEXT, 'z', { rsv1: true }));
  r.piece(piece(Opcode.PONG, 'z'));
  await inflater.settled();
  assert.deepEqual(events.slice(-3), ['ping:after', 'text:z', 'pong:z']);
  assert.equal(drains(), 2);
});

test('async inflater: the same order whatever the pieces are cut into', async () => {
  const bin = new Uint8Array(30).map((_, i) => i);
  const wire = join([
    frame(Opcode.TEXT, 'compressed one', { rsv1: true, fin: false }),
    frame(Opcode.PING, 'x'),
    frame(Opcode.CONTINUATION, ' two', { fin: true }),
    frame(Opcode.PING, 'y'),
    frame(Opcode.BINARY, bin, { rsv1: true }),
    frame(Opcode.TEXT, 'plain'),
  ]);
  const expected = ['ping:x', 'text:compressed one two', 'ping:y', `binary:${hex(bin)}`, 'text:plain'];
  const cuts = [[wire.slice()], Array.from(wire, (b) => new Uint8Array([b])), [wire.slice(0, 5), wire.slice(5, 17), wire.slice(17, 40), wire.slice(40)]];
  for (const parts of cuts) {
    const inflater = asyncIdentity([1, 0, 2]);
    const { r, events, errors } = receiver({ inflater });
    for (const p of piecesOf(parts)) r.piece(p);
    await inflater.settled();
    assert.deepEqual(errors, []);
    assert.deepEqual(events, expected, `${parts.length} parts`);
  }
});

test('async inflater in streaming mode: events keep their order too', async () => {
  const inflater = asyncIdentity([2, 0]);
  const { r, events } = receiver({ inflater, streaming: true });
  r.piece(piece(Opcode.TEXT, 'ab', { rsv1: true, fin: false }));
  r.piece(piece(Opcode.PING, 'p'));
  r.piece(piece(Opcode.CONTINUATION, 'c'));
  r.piece(piece(Opcode.TEXT, 'd'));
  await inflater.settled();
  assert.deepEqual(events, ['start:text', 'data:6162', 'ping:p', 'data:63', 'end', 'start:text', 'data:64', 'end']);
});

test('async inflater: a rejection reaches onAsyncError once; queued and later pieces are ignored', async () => {
  const inflater = asyncIdentity([1, 1, 1], 1); // the second inflate rejects
  const { r, events, errors, drains } = receiver({ inflater });
  r.piece(piece(Opcode.TEXT, 'one', { rsv1: true }));
  r.piece(piece(Opcode.PING, 'a'));
  r.piece(piece(Opcode.TEXT, 'two', { rsv1: true }));
  r.piece(piece(Opcode.PING, 'b'));
  r.piece(piece(Opcode.TEXT, 'three'));
  await inflater.settled();
  assert.deepEqual(events, ['text:one', 'ping:a']);
  assert.equal(errors.length, 1);
  assert.match(String((errors[0] as Error).message), /inflate 1 failed/);
  assert.equal(drains(), 0);
  assert.equal(r.pending, false);
  // Nothing more is processed, nor thrown.
  r.piece(piece(Opcode.PING, 'c'));
  r.piece(piece(Opcode.TEXT, 'four', { rsv1: true }));
  await inflater.settled();
  assert.deepEqual(events, ['text:one', 'ping:a']);
  assert.equal(inflater.calls.length, 2);
  assert.equal(errors.length, 1);
});

test('async inflater: a protocol error found while working the queue goes to onAsyncError with its close code', async () => {
  // Bad UTF-8 in an uncompressed message queued behind an inflate.
  {
    const inflater = asyncIdentity([1]);
    const { r, events, errors } = receiver({ inflater });
    r.piece(piece(Opcode.TEXT, 'ok', { rsv1: true }));
    r.piece(piece(Opcode.TEXT, new Uint8Array([0x61, 0xff])));
    r.piece(piece(Opcode.PING, 'never'));
    await inflater.settled();
    assert.deepEqual(events, ['text:ok']);
    assert.equal(errors.length, 1);
    assert.ok(isWsError('WS_ERR_INVALID_UTF8', 1007)(errors[0]));
  }
  // Inflated output past maxMessageSize.
  {
    const inflater = asyncIdentity([1]);
    const { r, events, errors } = receiver({ inflater, maxMessageSize: 4 });
    r.piece(piece(Opcode.BINARY, 'abc', { rsv1: true, fin: false }));
    r.piece(piece(Opcode.CONTINUATION, 'de'));
    r.piece(piece(Opcode.PING, 'never'));
    await inflater.settled();
    assert.deepEqual(events, []);
    assert.equal(errors.length, 1);
    assert.ok(isWsError('WS_ERR_MESSAGE_TOO_BIG', 1009)(errors[0]));
  }
  // Invalid UTF-8 produced by the inflation itself.
  {
    const inflater = asyncIdentity([1]);
    const { r, errors } = receiver({ inflater });
    r.piece(piece(Opcode.TEXT, new Uint8Array([0xc0]), { rsv1: true }));
    await inflater.settled();
    assert.ok(isWsError('WS_ERR_INVALID_UTF8', 1007)(errors[0]));
  }
});

test('async inflater: after a failure queuedBytes no longer counts the dropped pieces', async () => {
  const inflater = asyncIdentity([1], 0);
  const { r, errors } = receiver({ inflater });
  r.piece(piece(Opcode.TEXT, 'one', { rsv1: true }));
  r.piece(piece(Opcode.TEXT, 'queued'));
  assert.equal(r.queuedBytes, 6);
  await inflater.settled();
  assert.equal(errors.length, 1);
  assert.equal(r.queuedBytes, 0);
});

// ---------------------------------------------------------------- as a Transformer

/** Run pieces through `new TransformStream(receiver)` and collect the events. */
async function throughStream(r: MessageReceiver, pieces: FramePiece[]): Promise<string[]> {
  const ts = new TransformStream<FramePiece, ReceiveEvent>(r);
  const events: string[] = [];
  const done = ts.readable.pipeTo(new WritableStream({ write: (e) => void events.push(show(e)) }));
  const writing = (async () => {
    const w = ts.writable.getWriter();
    for (const p of pieces) await w.write(p);
    await w.close();
  })();
  await Promise.all([done, writing]);
  return events;
}

test('as a Transformer: new TransformStream(receiver) with an async inflater keeps the order', async () => {
  const inflater = asyncIdentity([3, 0, 1]);
  const events = await throughStream(new MessageReceiver({ maxMessageSize: 1 << 20, inflater }), mixedPieces());
  assert.deepEqual(events, MIXED_EVENTS);
  assert.equal(inflater.calls.length, 4);
  // Streaming events through the stream form.
  const s = await throughStream(new MessageReceiver({ maxMessageSize: 1 << 20, inflater: asyncIdentity([1]), streaming: true }), [
    piece(Opcode.BINARY, new Uint8Array([1]), { rsv1: true, fin: false }),
    piece(Opcode.PING, 'p'),
    piece(Opcode.CONTINUATION, new Uint8Array([2])),
  ]);
  assert.deepEqual(s, ['start:binary', 'data:01', 'ping:p', 'data:02', 'end']);
});

test('as a Transformer: the stream waits for a pending inflate (backpressure)', async () => {
  let release: (() => void) | null = null;
  const gated: MessageInflater = { inflate: (p) => new Promise((resolve) => (release = () => resolve([p.slice()]))) };
  const ts = new TransformStream<FramePiece, ReceiveEvent>(new MessageReceiver({ maxMessageSize: 100, inflater: gated }));
  const events: string[] = [];
  const done = ts.readable.pipeTo(new WritableStream({ write: (e) => void events.push(show(e)) }));
  const w = ts.writable.getWriter();
  let firstWritten = false;
  const first = w.write(piece(Opcode.TEXT, 'slow', { rsv1: true })).then(() => (firstWritten = true));
  const second = w.write(piece(Opcode.PING, 'behind'));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(firstWritten, false, 'the write of the compressed piece waits for its inflation');
  assert.deepEqual(events, []);
  (release as unknown as () => void)();
  await Promise.all([first, second]);
  await w.close();
  await done;
  assert.deepEqual(events, ['text:slow', 'ping:behind']);
});

test('as a Transformer: an async rejection or a violation errors the stream', async () => {
  await assert.rejects(
    throughStream(new MessageReceiver({ maxMessageSize: 100, inflater: asyncIdentity([1], 0) }), [piece(Opcode.TEXT, 'x', { rsv1: true }), piece(Opcode.PING, 'p')]),
    /inflate 0 failed/,
  );
  await assert.rejects(throughStream(new MessageReceiver({ maxMessageSize: 100 }), [piece(Opcode.TEXT, new Uint8Array([0xff]))]), isWsError('WS_ERR_INVALID_UTF8', 1007));
  await assert.rejects(
    throughStream(new MessageReceiver({ maxMessageSize: 3, inflater: asyncIdentity([1]) }), [piece(Opcode.TEXT, 'ok', { rsv1: true }), piece(Opcode.BINARY, 'long')]),
    isWsError('WS_ERR_MESSAGE_TOO_BIG', 1009),
  );
});

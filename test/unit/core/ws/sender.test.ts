/**
 * MessageSender: messages, fragments, control and raw frames in, bytes out.
 * Every output is decoded back with our FrameDecoder so tests assert frames
 * (opcode, FIN, RSV1, payload) as the peer sees them, plus masking (RFC 6455
 * §5.3) and the ordered queue behind an asynchronous deflater (RFC 7692).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageSender, type MessageDeflater, type MessageSenderOptions, type OutgoingMessage } from '../../../../src/core/ws/sender.js';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import { enc, frame, join } from '../../../helpers/frames.js';

// ---------------------------------------------------------------- helpers

/** A frame as the peer sees it: [opcode, FIN, RSV1, payload as latin1]. */
type Sent = [number, boolean, boolean, string];

/** Decode bytes a `role` sender produced (a copy: the decoder unmasks in place); also returns the mask keys seen. */
function decode(bytes: Uint8Array, role: 'client' | 'server'): { frames: Sent[]; keys: string[] } {
  const frames: Sent[] = [];
  const keys: string[] = [];
  let parts: Uint8Array[] = [];
  const d = new FrameDecoder({ role: role === 'client' ? 'server' : 'client', maxFrameSize: 1 << 24, maxFragments: 1000, allowRsv1: true }, (p) => {
    if (p.first) parts = [];
    parts.push(p.payload.slice());
    if (p.last) frames.push([p.opcode, p.fin, p.rsv1, Buffer.from(join(parts)).toString('latin1')]);
  });
  const copy = bytes.slice();
  // Read each frame's masking key from the raw bytes before the decoder unmasks them.
  for (let off = 0; off < bytes.length; ) {
    const b1 = bytes[off + 1] as number;
    let len = b1 & 0x7f;
    let hl = 2;
    if (len === 126) {
      len = ((bytes[off + 2] as number) << 8) | (bytes[off + 3] as number);
      hl = 4;
    } else if (len === 127) {
      len = Number(Buffer.from(bytes.subarray(off + 2, off + 10)).readBigUInt64BE());
      hl = 10;
    }
    if (b1 & 0x80) {
      keys.push(Buffer.from(bytes.subarray(off + hl, off + hl + 4)).toString('hex'));
      hl += 4;
    }
    off += hl + len;
  }
  d.push(copy);
  return { frames, keys };
}

/** A sender whose output is collected; `sent()` decodes it. */
function sender(opts: Partial<MessageSenderOptions> = {}) {
  const chunks: Uint8Array[] = [];
  const errors: unknown[] = [];
  let drains = 0;
  const role = opts.role ?? 'server';
  const s = new MessageSender({ role, ...opts }, (c) => chunks.push(c));
  s.onAsyncError = (e) => errors.push(e);
  s.onDrain = () => drains++;
  return { s, chunks, errors, drains: () => drains, sent: () => decode(join(chunks), role).frames, keys: () => decode(join(chunks), role).keys };
}

/** Mask keys 01020304, 05060708, …: a fresh one per call. */
function countingKeys() {
  let n = 1;
  const calls = { count: 0 };
  const source = (out: Uint8Array): void => {
    calls.count++;
    for (let i = 0; i < 4; i++) out[i] = n++ & 0xff;
  };
  return { source, calls };
}

const latin1 = (s: string | Uint8Array): string => Buffer.from(typeof s === 'string' ? enc.encode(s) : s).toString('latin1');

/**
 * A recognisable "deflater": output = 0xDE + input bytes (+ 0xF1 on fin).
 * `threshold` plays shouldCompress.
 */
function fakeDeflater(threshold = 3): MessageDeflater & { calls: Array<[string, boolean]> } {
  const calls: Array<[string, boolean]> = [];
  return {
    calls,
    shouldCompress: (size) => size >= threshold,
    deflate: (data, fin) => {
      calls.push([latin1(data), fin]);
      return deflated(data, fin);
    },
  };
}

function deflated(data: Uint8Array, fin: boolean): Uint8Array {
  return Uint8Array.from([0xde, ...data, ...(fin ? [0xf1] : [])]);
}

const D = (s: string, fin = true): string => latin1(deflated(enc.encode(s), fin));

/** The same, answering after a timer; call `failOn` (0-based) rejects. */
function asyncDeflater(delays: number[] = [4, 0, 2], failOn = -1): MessageDeflater & { calls: Array<[string, boolean]>; settled: () => Promise<void> } {
  const calls: Array<[string, boolean]> = [];
  const running: Promise<unknown>[] = [];
  return {
    calls,
    settled: async () => {
      for (let n = -1; n !== running.length; ) {
        n = running.length;
        await Promise.allSettled(running);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    shouldCompress: (size) => size >= 3,
    deflate: (data, fin) => {
      const i = calls.length;
      calls.push([latin1(data), fin]);
      const out = deflated(data, fin);
      const p = new Promise<Uint8Array>((resolve, reject) =>
        setTimeout(() => (i === failOn ? reject(new Error(`deflate ${i} failed`)) : resolve(out)), delays[i % delays.length] as number),
      );
      running.push(p.catch(() => undefined));
      return p;
    },
  };
}

// ---------------------------------------------------------------- messages

test('sendMessage: text and binary frames, byte for byte as the RFC lays them out (server: unmasked)', () => {
  const { s, chunks } = sender();
  s.sendMessage(enc.encode('Hello'), false);
  s.sendMessage(new Uint8Array([1, 2, 3]), true);
  s.sendMessage(new Uint8Array(0), false);
  assert.deepEqual(join(chunks), join([frame(Opcode.TEXT, 'Hello'), frame(Opcode.BINARY, new Uint8Array([1, 2, 3])), frame(Opcode.TEXT, '')]));
  assert.equal(Buffer.from(chunks[0] as Uint8Array).toString('hex'), '810548656c6c6f');
});

test('sendMessage: large payloads decode back whole', () => {
  const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  for (const role of ['server', 'client'] as const) {
    const { s, sent } = sender({ role, maskKey: countingKeys().source });
    s.sendMessage(big, true);
    s.sendMessage(enc.encode('x'.repeat(300)), false);
    assert.deepEqual(sent(), [[Opcode.BINARY, true, false, latin1(big)], [Opcode.TEXT, true, false, 'x'.repeat(300)]]);
  }
});

test('client: every frame is masked with a fresh key from maskKey; the caller\'s data is untouched', () => {
  const keys = countingKeys();
  const { s, sent, keys: seen } = sender({ role: 'client', maskKey: keys.source });
  const data = enc.encode('Hello');
  s.sendMessage(data, false);
  s.sendControl(Opcode.PING, enc.encode('p'));
  s.sendMessage(new Uint8Array(70_000).fill(5), true);
  s.sendFrame(Opcode.PONG, new Uint8Array(0), true);
  assert.equal(keys.calls.count, 4, 'one key per frame');
  assert.deepEqual(seen(), ['01020304', '05060708', '090a0b0c', '0d0e0f10']);
  assert.equal(latin1(data), 'Hello');
  assert.deepEqual(sent(), [
    [Opcode.TEXT, true, false, 'Hello'],
    [Opcode.PING, true, false, 'p'],
    [Opcode.BINARY, true, false, latin1(new Uint8Array(70_000).fill(5))],
    [Opcode.PONG, true, false, ''],
  ]);
  // The RFC 6455 §5.7 masked example, with its key.
  const rfc = sender({ role: 'client', maskKey: (k) => k.set([0x37, 0xfa, 0x21, 0x3d]) });
  rfc.s.sendMessage(enc.encode('Hello'), false);
  assert.equal(Buffer.from(join(rfc.chunks)).toString('hex'), '818537fa213d7f9f4d5158');
});

test('a client sender needs a maskKey source (§5.3); a server sender never masks', () => {
  assert.throws(() => new MessageSender({ role: 'client' }), TypeError);
  const calls = countingKeys();
  const { s, chunks } = sender({ role: 'server', maskKey: calls.source });
  s.sendMessage(enc.encode('x'), false);
  assert.equal(calls.calls.count, 0);
  assert.equal(((chunks[0] as Uint8Array)[1] as number) & 0x80, 0);
});

test('the alloc option provides the output buffers', () => {
  const sizes: number[] = [];
  const { s, chunks } = sender({ alloc: (n) => (sizes.push(n), Buffer.alloc(n)) });
  s.sendMessage(enc.encode('abc'), false);
  s.sendControl(Opcode.PING, new Uint8Array(0));
  assert.deepEqual(sizes, [5, 2]);
  assert.ok(chunks.every((c) => Buffer.isBuffer(c)));
});

// ---------------------------------------------------------------- control and raw frames

test('sendControl: ping, pong and close frames', () => {
  const { s, sent } = sender();
  s.sendControl(Opcode.PING, enc.encode('are you there'));
  s.sendControl(Opcode.PONG, new Uint8Array(0));
  s.sendControl(Opcode.CLOSE, new Uint8Array([0x03, 0xe8, 0x62]));
  assert.deepEqual(sent(), [
    [Opcode.PING, true, false, 'are you there'],
    [Opcode.PONG, true, false, ''],
    [Opcode.CLOSE, true, false, '\x03\xe8b'],
  ]);
});

test('sendFrame: a raw frame goes out exactly as given (opcode, FIN, RSV1), never deflated', () => {
  const deflater = fakeDeflater(0);
  const { s, sent } = sender({ deflater });
  s.sendFrame(Opcode.TEXT, enc.encode('ab'), false, true);
  s.sendFrame(Opcode.CONTINUATION, enc.encode('cd'), false);
  s.sendFrame(Opcode.PING, enc.encode('x'), true);
  s.sendFrame(Opcode.CONTINUATION, new Uint8Array(0), true);
  assert.deepEqual(sent(), [
    [Opcode.TEXT, false, true, 'ab'],
    [Opcode.CONTINUATION, false, false, 'cd'],
    [Opcode.PING, true, false, 'x'],
    [Opcode.CONTINUATION, true, false, ''],
  ]);
  assert.deepEqual(deflater.calls, []);
});

// ---------------------------------------------------------------- fragments

test('beginMessage / sendFragment / endMessage: first frame carries the opcode, continuations follow, FIN only on the last', () => {
  const { s, sent } = sender();
  assert.equal(s.inMessage, false);
  s.beginMessage(false);
  assert.equal(s.inMessage, true);
  assert.equal(sent().length, 0, 'begin sends nothing by itself');
  s.sendFragment(enc.encode('Hel'));
  s.sendControl(Opcode.PING, enc.encode('p')); // §5.4: control frames may be injected between fragments
  s.sendFragment(enc.encode('l'));
  s.endMessage(enc.encode('o'));
  assert.equal(s.inMessage, false);
  s.beginMessage(true);
  s.sendFragment(new Uint8Array([1]));
  s.endMessage(); // no data: an empty final frame
  assert.deepEqual(sent(), [
    [Opcode.TEXT, false, false, 'Hel'],
    [Opcode.PING, true, false, 'p'],
    [Opcode.CONTINUATION, false, false, 'l'],
    [Opcode.CONTINUATION, true, false, 'o'],
    [Opcode.BINARY, false, false, '\x01'],
    [Opcode.CONTINUATION, true, false, ''],
  ]);
  // begin then end at once: one whole frame.
  const one = sender();
  one.s.beginMessage(false);
  one.s.endMessage(enc.encode('whole'));
  assert.deepEqual(one.sent(), [[Opcode.TEXT, true, false, 'whole']]);
});

test('streamed message misuse throws and sends nothing', () => {
  const { s, sent } = sender();
  assert.throws(() => s.sendFragment(enc.encode('x')), /no streamed message/);
  assert.throws(() => s.endMessage(), /no streamed message/);
  s.beginMessage(false);
  assert.throws(() => s.beginMessage(true), /already open/);
  assert.throws(() => s.sendMessage(enc.encode('x'), false), /streamed message is open/);
  s.endMessage(enc.encode('ok'));
  assert.deepEqual(sent(), [[Opcode.TEXT, true, false, 'ok']]);
});

// ---------------------------------------------------------------- deflate, synchronous

test('compress: RSV1 on compressed messages; the threshold and compress=false leave messages plain', () => {
  const deflater = fakeDeflater(3);
  const { s, sent } = sender({ deflater });
  s.sendMessage(enc.encode('hello'), false);
  s.sendMessage(enc.encode('hi'), false); // below the threshold
  s.sendMessage(enc.encode('plain please'), true, false); // forced plain
  s.sendControl(Opcode.PING, enc.encode('ping!')); // control frames are never compressed (RFC 7692 §6.1)
  assert.deepEqual(sent(), [
    [Opcode.TEXT, true, true, D('hello')],
    [Opcode.TEXT, true, false, 'hi'],
    [Opcode.BINARY, true, false, 'plain please'],
    [Opcode.PING, true, false, 'ping!'],
  ]);
  assert.deepEqual(deflater.calls, [['hello', true]]);
});

test('compress a streamed message: RSV1 only on the first frame, deflate per fragment with fin on the last', () => {
  const deflater = fakeDeflater(1000); // the threshold does not apply to streamed messages (size unknown)
  const { s, sent } = sender({ deflater });
  s.beginMessage(false);
  s.sendFragment(enc.encode('ab'));
  s.sendControl(Opcode.PING, enc.encode('p'));
  s.sendFragment(enc.encode('cd'));
  s.endMessage(enc.encode('e'));
  assert.deepEqual(sent(), [
    [Opcode.TEXT, false, true, D('ab', false)],
    [Opcode.PING, true, false, 'p'],
    [Opcode.CONTINUATION, false, false, D('cd', false)],
    [Opcode.CONTINUATION, true, false, D('e')],
  ]);
  assert.deepEqual(deflater.calls, [['ab', false], ['cd', false], ['e', true]]);
  // beginMessage(binary, false): not compressed.
  const plain = sender({ deflater: fakeDeflater(0) });
  plain.s.beginMessage(true, false);
  plain.s.sendFragment(enc.encode('x'));
  plain.s.endMessage();
  assert.deepEqual(plain.sent(), [[Opcode.BINARY, false, false, 'x'], [Opcode.CONTINUATION, true, false, '']]);
});

test('setDeflater turns compression on and off', () => {
  const { s, sent } = sender();
  s.sendMessage(enc.encode('aaaa'), false);
  s.setDeflater(fakeDeflater(0));
  s.sendMessage(enc.encode('bbbb'), false);
  s.setDeflater(null);
  s.sendMessage(enc.encode('cccc'), false);
  assert.deepEqual(sent(), [[Opcode.TEXT, true, false, 'aaaa'], [Opcode.TEXT, true, true, D('bbbb')], [Opcode.TEXT, true, false, 'cccc']]);
});

// ---------------------------------------------------------------- deflate, asynchronous

test('async deflater: pings and messages sent while a deflate is pending leave in submission order', async () => {
  const deflater = asyncDeflater([5, 0, 2, 1]);
  for (const role of ['server', 'client'] as const) {
    deflater.calls.length = 0;
    const { s, sent, errors, drains } = sender({ role, deflater, maskKey: countingKeys().source });
    s.sendMessage(enc.encode('first'), false); // async deflate
    assert.equal(s.pending, true);
    assert.equal(s.queuedBytes, 0);
    s.sendControl(Opcode.PING, enc.encode('p1'));
    s.sendMessage(enc.encode('second'), true); // async deflate, queued
    s.sendMessage(enc.encode('plain'), false, false);
    s.beginMessage(false);
    s.sendFragment(enc.encode('st'));
    s.sendControl(Opcode.PONG, enc.encode('q'));
    s.endMessage(enc.encode('ream'));
    s.sendFrame(Opcode.CLOSE, new Uint8Array([0x03, 0xe8]), true);
    assert.deepEqual(sent(), [], 'nothing overtakes the pending deflate');
    assert.equal(s.queuedBytes, 2 + 6 + 5 + 2 + 1 + 4 + 2);
    const seen: number[] = [s.queuedBytes];
    const poll = setInterval(() => seen.push(s.queuedBytes), 0);
    await deflater.settled();
    clearInterval(poll);
    assert.deepEqual(errors, []);
    assert.deepEqual(sent(), [
      [Opcode.TEXT, true, true, D('first')],
      [Opcode.PING, true, false, 'p1'],
      [Opcode.BINARY, true, true, D('second')],
      [Opcode.TEXT, true, false, 'plain'],
      [Opcode.TEXT, false, true, D('st', false)],
      [Opcode.PONG, true, false, 'q'],
      [Opcode.CONTINUATION, true, false, D('ream')],
      [Opcode.CLOSE, true, false, '\x03\xe8'],
    ], role);
    assert.deepEqual(deflater.calls, [['first', true], ['second', true], ['st', false], ['ream', true]]);
    assert.equal(s.pending, false);
    assert.equal(s.queuedBytes, 0);
    assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'queuedBytes only goes down');
    assert.equal(drains(), 1, 'onDrain once, when everything has left');
  }
});

test('async deflater: a new deflate after the queue drained runs and drains again', async () => {
  const deflater = asyncDeflater([1]);
  const { s, sent, drains } = sender({ deflater });
  s.sendMessage(enc.encode('one'), false);
  await deflater.settled();
  s.sendControl(Opcode.PING, new Uint8Array(0)); // idle: goes straight out
  assert.equal(sent().length, 2);
  s.sendMessage(enc.encode('two'), false);
  s.sendControl(Opcode.PING, enc.encode('z'));
  await deflater.settled();
  assert.deepEqual(sent().map((f) => f[3]), [D('one'), '', D('two'), 'z']);
  assert.equal(drains(), 2);
});

test('async deflater: a rejection reaches onAsyncError; what was queued behind it is dropped', async () => {
  const deflater = asyncDeflater([1, 1], 1); // the second deflate rejects
  const { s, sent, errors, drains } = sender({ deflater });
  s.sendMessage(enc.encode('one'), false);
  s.sendControl(Opcode.PING, enc.encode('a'));
  s.sendMessage(enc.encode('two'), false);
  s.sendControl(Opcode.PING, enc.encode('b'));
  s.sendMessage(enc.encode('three'), false, false);
  await deflater.settled();
  assert.equal(errors.length, 1);
  assert.match((errors[0] as Error).message, /deflate 1 failed/);
  assert.deepEqual(sent(), [[Opcode.TEXT, true, true, D('one')], [Opcode.PING, true, false, 'a']]);
  assert.equal(s.queuedBytes, 0);
  assert.equal(s.pending, false);
  assert.equal(drains(), 0);
});

// ---------------------------------------------------------------- as a Transformer

async function throughStream(s: MessageSender, items: OutgoingMessage[]): Promise<Uint8Array> {
  const ts = new TransformStream<OutgoingMessage, Uint8Array>(s);
  const out: Uint8Array[] = [];
  const done = ts.readable.pipeTo(new WritableStream({ write: (c) => void out.push(c) }));
  const writing = (async () => {
    const w = ts.writable.getWriter();
    for (const it of items) await w.write(it);
    await w.close();
  })();
  await Promise.all([done, writing]);
  return join(out);
}

test('as a Transformer: OutgoingMessage items become frames, close with code and reason', async () => {
  const items: OutgoingMessage[] = [
    { type: 'message', data: enc.encode('text'), binary: false },
    { type: 'message', data: new Uint8Array([1, 2]), binary: true },
    { type: 'ping', data: enc.encode('pi') },
    { type: 'pong', data: new Uint8Array(0) },
    { type: 'close', code: 4000, reason: 'bye ✓' },
    { type: 'close' },
  ];
  for (const role of ['server', 'client'] as const) {
    const bytes = await throughStream(new MessageSender({ role, maskKey: countingKeys().source }), items);
    assert.deepEqual(decode(bytes, role).frames, [
      [Opcode.TEXT, true, false, 'text'],
      [Opcode.BINARY, true, false, '\x01\x02'],
      [Opcode.PING, true, false, 'pi'],
      [Opcode.PONG, true, false, ''],
      [Opcode.CLOSE, true, false, '\x0f\xa0' + latin1('bye ✓')],
      [Opcode.CLOSE, true, false, ''],
    ], role);
  }
});

test('as a Transformer: compress defaults to on, compress:false opts out, async deflate keeps the order', async () => {
  const deflater = asyncDeflater([3, 0, 1]);
  const bytes = await throughStream(new MessageSender({ role: 'server', deflater }), [
    { type: 'message', data: enc.encode('abc'), binary: false },
    { type: 'ping', data: enc.encode('p') },
    { type: 'message', data: enc.encode('defg'), binary: true, compress: false },
    { type: 'message', data: enc.encode('hij'), binary: true },
    { type: 'close', code: 1000 },
  ]);
  assert.deepEqual(decode(bytes, 'server').frames, [
    [Opcode.TEXT, true, true, D('abc')],
    [Opcode.PING, true, false, 'p'],
    [Opcode.BINARY, true, false, 'defg'],
    [Opcode.BINARY, true, true, D('hij')],
    [Opcode.CLOSE, true, false, '\x03\xe8'],
  ]);
});

test('as a Transformer: a deflate rejection or an invalid close code errors the stream', async () => {
  await assert.rejects(
    throughStream(new MessageSender({ role: 'server', deflater: asyncDeflater([1], 0) }), [{ type: 'message', data: enc.encode('abc'), binary: false }, { type: 'ping', data: new Uint8Array(0) }]),
    /deflate 0 failed/,
  );
  await assert.rejects(throughStream(new MessageSender({ role: 'server' }), [{ type: 'close', code: 1005 }]), RangeError);
  await assert.rejects(throughStream(new MessageSender({ role: 'server' }), [{ type: 'close', code: 1000, reason: 'x'.repeat(124) }]), RangeError);
});

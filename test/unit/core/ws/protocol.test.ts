import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketProtocol, CLOSED, CLOSING, OPEN, type PerMessageCodec } from '../../../../src/core/ws/protocol.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import type { FramePiece } from '../../../../src/core/ws/types.js';
import { clientFrame, close, enc, frame, join, splits } from '../../../helpers/frames.js';

interface Harness {
  p: WebSocketProtocol;
  messages: Array<[string, boolean]>;
  sent: Array<[number, string]>;
  transport: string[];
  errors: string[];
  events: string[];
}

/** A server-side protocol whose output is decoded back into frames, so tests can assert what was sent. */
function server(opts: { maxMessageSize?: number; maxFrameSize?: number; deflate?: PerMessageCodec } = {}): Harness {
  const h: Harness = { messages: [], sent: [], transport: [], errors: [], events: [] } as unknown as Harness;
  const out = new FrameDecoder({ role: 'client', maxFrameSize: 1 << 26, maxFragments: 1 << 20, allowRsv1: true }, (piece: FramePiece) => {
    if (piece.first) h.sent.push([piece.opcode, '']);
    const last = h.sent[h.sent.length - 1] as [number, string];
    last[1] += Buffer.from(piece.payload).toString('latin1');
  });
  h.p = new WebSocketProtocol({ role: 'server', ...opts }, {
    write: (c) => out.push(c.slice()),
    closeTransport: (how) => h.transport.push(how),
    onMessage: (d, b) => h.messages.push([b ? Buffer.from(d).toString('hex') : Buffer.from(d).toString('utf8'), b]),
    onPing: (d) => h.events.push('ping:' + Buffer.from(d).toString()),
    onPong: (d) => h.events.push('pong:' + Buffer.from(d).toString()),
    onCloseFrame: (c, r) => h.events.push(`close:${c}:${r}`),
    onError: (e) => h.errors.push(`${e.code}:${e.closeCode}`),
  });
  return h;
}

function feed(h: Harness, parts: Uint8Array[]): void {
  for (const p of parts) h.p.receive(p);
}

const closeSent = (h: Harness): number | null => {
  const c = h.sent.find(([op]) => op === Opcode.CLOSE);
  if (!c) return null;
  return c[1].length >= 2 ? (c[1].charCodeAt(0) << 8) | c[1].charCodeAt(1) : 1005;
};

test('text, binary, fragmented, with pings in between — at every split', () => {
  const bytes = join([
    clientFrame(Opcode.TEXT, 'héllo'),
    clientFrame(Opcode.BINARY, new Uint8Array([0, 255])),
    clientFrame(Opcode.TEXT, 'frag', { fin: false }),
    clientFrame(Opcode.PING, 'hb'),
    clientFrame(Opcode.CONTINUATION, 'men', { fin: false }),
    clientFrame(Opcode.CONTINUATION, 'ted'),
    clientFrame(Opcode.TEXT, ''),
  ]);
  for (const parts of splits(bytes)) {
    const h = server();
    feed(h, parts);
    assert.deepEqual(h.messages, [['héllo', false], ['00ff', true], ['fragmented', false], ['', false]]);
    assert.deepEqual(h.sent, [[Opcode.PONG, 'hb']], 'auto-pong with the same payload');
    assert.deepEqual(h.errors, []);
  }
});

test('invalid UTF-8 fails with 1007 as soon as the bad byte arrives, across fragments', () => {
  // "κόσμε" then an invalid byte 0xF5 in the second fragment; the message never ends
  const first = clientFrame(Opcode.TEXT, enc.encode('κόσμε'), { fin: false });
  const bad = clientFrame(Opcode.CONTINUATION, new Uint8Array([0xce, 0xba, 0xf5, 0x41]), { fin: false });
  const h = server();
  feed(h, [first]);
  assert.equal(closeSent(h), null);
  // only part of the bad frame: up to and including the invalid byte
  h.p.receive(bad.slice(0, bad.length - 1));
  assert.equal(closeSent(h), 1007, 'fails before the frame is complete');
  assert.deepEqual(h.errors, ['WS_ERR_INVALID_UTF8:1007']);
  assert.deepEqual(h.transport, ['end']);
  assert.equal(h.p.readyState, CLOSED);
});

test('a truncated UTF-8 sequence at message end fails with 1007', () => {
  for (const parts of splits(join([clientFrame(Opcode.TEXT, new Uint8Array([0x41, 0xe2, 0x82]))]))) {
    const h = server();
    feed(h, parts);
    assert.equal(closeSent(h), 1007);
    assert.deepEqual(h.messages, []);
  }
});

test('every violation closes with the right code: 1002, 1007, 1009', () => {
  const cases: Array<[Uint8Array, number, { maxMessageSize?: number; maxFrameSize?: number }?]> = [
    [clientFrame(3), 1002],
    [frame(Opcode.TEXT, 'unmasked'), 1002],
    [clientFrame(Opcode.PING, new Uint8Array(126)), 1002],
    [clientFrame(Opcode.CONTINUATION, 'x'), 1002],
    [clientFrame(Opcode.CLOSE, new Uint8Array([3])), 1002],
    [clientFrame(Opcode.CLOSE, close(999)), 1002],
    [clientFrame(Opcode.CLOSE, close(1005)), 1002],
    [clientFrame(Opcode.CLOSE, join([close(1000), new Uint8Array([0xff])])), 1007],
    [clientFrame(Opcode.BINARY, new Uint8Array(101)), 1009, { maxMessageSize: 100 }],
    [clientFrame(Opcode.BINARY, new Uint8Array(101)), 1009, { maxFrameSize: 100 }],
    [join([clientFrame(Opcode.BINARY, new Uint8Array(60), { fin: false }), clientFrame(Opcode.CONTINUATION, new Uint8Array(60))]), 1009, { maxMessageSize: 100 }],
  ];
  for (const [bytes, code, opts] of cases) {
    for (const parts of splits(bytes)) {
      const h = server(opts);
      feed(h, parts);
      assert.equal(closeSent(h), code, `${Buffer.from(bytes.slice(0, 4)).toString('hex')} → ${code}`);
      assert.equal(h.errors.length, 1);
      assert.equal(h.p.readyState, CLOSED);
      // nothing more is processed after failing
      h.p.receive(clientFrame(Opcode.TEXT, 'after'));
      assert.deepEqual(h.messages, []);
    }
  }
});

test('peer-initiated close: echo the code, server closes the transport, close info is clean', () => {
  const h = server();
  feed(h, [clientFrame(Opcode.CLOSE, close(4001, 'bye'))]);
  assert.deepEqual(h.events, ['close:4001:bye']);
  assert.equal(closeSent(h), 4001);
  // §7.1.1: the server closes TCP at once (a failure only half-closes: 'end')
  assert.deepEqual(h.transport, ['close']);
  assert.deepEqual(h.p.transportClosed(), { code: 4001, reason: 'bye', wasClean: true });
});

test('an empty Close is answered with an empty Close and reported as 1005', () => {
  const h = server();
  feed(h, [clientFrame(Opcode.CLOSE)]);
  assert.deepEqual(h.sent, [[Opcode.CLOSE, '']]);
  assert.equal(h.p.closeInfo.code, 1005);
});

test('we close first: CLOSING until the peer answers, data still delivered meanwhile, no pong after Close', () => {
  const h = server();
  h.p.close(1000, 'done');
  assert.equal(h.p.readyState, CLOSING);
  feed(h, [clientFrame(Opcode.TEXT, 'late'), clientFrame(Opcode.PING, 'x')]);
  assert.deepEqual(h.messages, [['late', false]]);
  assert.deepEqual(h.sent.map(([op]) => op), [Opcode.CLOSE], 'no pong after our Close');
  assert.throws(() => h.p.send(new Uint8Array(1), true), /not open/);
  feed(h, [clientFrame(Opcode.CLOSE, close(1000))]);
  assert.equal(h.p.readyState, CLOSED);
  assert.deepEqual(h.transport, ['close']);
  assert.equal(h.sent.filter(([op]) => op === Opcode.CLOSE).length, 1, 'one Close frame only');
  assert.equal(h.p.closeInfo.wasClean, true);
});

test('no Close frame before the transport ended is 1006, not clean', () => {
  const h = server();
  assert.equal(h.p.readyState, OPEN);
  assert.deepEqual(h.p.transportClosed(), { code: 1006, reason: '', wasClean: false });
});

test('close() validates code and reason', () => {
  const h = server();
  assert.throws(() => h.p.close(1005), RangeError);
  assert.throws(() => h.p.close(1000, 'x'.repeat(124)), RangeError);
  h.p.close(3000, 'ok');
  assert.equal(closeSent(h), 3000);
});

test('client role masks what it sends and a server-side decoder reads it back', () => {
  const got: string[] = [];
  const dec = new FrameDecoder({ role: 'server', maxFrameSize: 1 << 20, maxFragments: 10, allowRsv1: false }, (p) => got.push(Buffer.from(p.payload).toString()));
  let n = 0;
  const c = new WebSocketProtocol({ role: 'client', maskKey: (k) => k.set([n++, 0x55, 0xaa, 7]) }, { write: (b) => dec.push(b.slice()), closeTransport: () => {} });
  c.send(enc.encode('one'), false);
  c.send(enc.encode('two'), false);
  assert.deepEqual(got, ['one', 'two']);
});

test('streaming send: begin / fragments / end make one fragmented message; pings may interleave', () => {
  const h = server();
  h.p.beginMessage(false, false);
  h.p.sendFragment(enc.encode('ab'));
  h.p.ping(enc.encode('p'));
  h.p.sendFragment(enc.encode('cd'));
  h.p.endMessage(enc.encode('e'));
  assert.deepEqual(h.sent, [[Opcode.TEXT, 'ab'], [Opcode.PING, 'p'], [Opcode.CONTINUATION, 'cd'], [Opcode.CONTINUATION, 'e']]);
});

test('streaming receive: message-start / data / end events, UTF-8 checked per piece', () => {
  const events: string[] = [];
  const p = new WebSocketProtocol({ role: 'server', streaming: true }, {
    write: () => {},
    closeTransport: () => {},
    onStreamEvent: (e) => events.push(e.type === 'message-data' ? `data:${Buffer.from(e.data).toString()}` : e.type),
  });
  const bytes = join([clientFrame(Opcode.TEXT, 'abc', { fin: false }), clientFrame(Opcode.CONTINUATION, 'def')]);
  p.receive(bytes.slice(0, 7));
  p.receive(bytes.slice(7));
  assert.deepEqual(events.filter((e) => e !== 'message-start' && e !== 'message-end').join('').replace(/data:/g, ''), 'abcdef');
  assert.equal(events[0], 'message-start');
  assert.equal(events.at(-1), 'message-end');
});

test('bytes waiting for an async inflate are not counted as bytes waiting to be sent', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const codec = {
    inflate: (piece: Uint8Array) => gate.then(() => [piece.slice()]),
    shouldCompress: () => false,
    deflate: (d: Uint8Array) => d,
  };
  const got: string[] = [];
  const p = new WebSocketProtocol({ role: 'server', deflate: codec }, { write: () => {}, closeTransport: () => {}, onMessage: (d) => got.push(Buffer.from(d).toString()) });
  p.receive(join([clientFrame(Opcode.TEXT, 'one', { rsv1: true }), clientFrame(Opcode.TEXT, 'two', { rsv1: true })]));
  assert.ok(p.receivePending);
  assert.ok(p.queuedBytes > 0, 'the second message waits behind the first inflate');
  assert.equal(p.sendQueuedBytes, 0, 'nothing waits to be sent');
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, ['one', 'two']);
  assert.equal(p.queuedBytes, 0);
});

test('the transport closes only after frames queued behind an async deflate (our Close among them) are written', async () => {
  const gates: Array<() => void> = [];
  const codec = {
    inflate: (piece: Uint8Array) => [piece],
    shouldCompress: () => true,
    // Compression "takes time": each piece resolves when the test says so.
    deflate: (d: Uint8Array) => new Promise<Uint8Array>((resolve) => gates.push(() => resolve(d.slice()))),
  };
  const wrote: number[] = [];
  const transport: string[] = [];
  const p = new WebSocketProtocol({ role: 'server', deflate: codec }, {
    write: (b) => wrote.push((b[0] as number) & 0x0f),
    closeTransport: (how) => transport.push(`${how} after ${wrote.join(',')}`),
  });
  // An echo is being compressed when the client's Close arrives.
  p.send(enc.encode('echo'), false);
  p.receive(clientFrame(Opcode.CLOSE, close(1000)));
  assert.deepEqual(transport, [], 'the close waits for the deflate');
  (gates.shift() as () => void)();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(transport, [`close after ${Opcode.TEXT},${Opcode.CLOSE}`], 'message, then Close, then the transport');
  assert.deepEqual(p.closeInfo, { code: 1000, reason: '', wasClean: true });
});

test('a failed async deflate still closes the transport that was waiting for it', async () => {
  const codec = {
    inflate: (piece: Uint8Array) => [piece],
    shouldCompress: () => true,
    deflate: () => Promise.reject(new Error('zlib broke')),
  };
  const transport: string[] = [];
  const p = new WebSocketProtocol({ role: 'server', deflate: codec }, { write: () => {}, closeTransport: (how) => transport.push(how) });
  p.send(enc.encode('echo'), false);
  p.receive(clientFrame(Opcode.CLOSE, close(1000)));
  assert.deepEqual(transport, []);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(transport, ['close']);
});

test('an internal fault (async deflate rejects with a plain Error) fails the connection with 1011 on the wire', async () => {
  const h = server({
    deflate: {
      inflate: (piece: Uint8Array) => [piece],
      shouldCompress: () => true,
      deflate: () => Promise.reject(new Error('zlib broke')),
    },
  });
  h.p.send(enc.encode('echo'), false);
  assert.deepEqual([h.sent, h.errors, h.transport], [[], [], []], 'nothing happens before the deflate settles');
  await new Promise((r) => setTimeout(r, 0));
  // Not the peer's fault: 1011, with no internals in the reason; the message never went out.
  assert.deepEqual(h.sent, [[Opcode.CLOSE, 'ó']]);
  assert.equal(closeSent(h), 1011);
  assert.deepEqual(h.errors, ['WS_ERR_INTERNAL:1011']);
  assert.equal(h.p.error?.message, 'zlib broke', 'the detail stays in the error, for logs');
  assert.deepEqual(h.transport, ['end']);
  assert.equal(h.p.readyState, CLOSED);
  assert.deepEqual(h.p.closeInfo, { code: 1011, reason: '', wasClean: false });
  assert.throws(() => h.p.send(enc.encode('more'), false), (e: unknown) => e instanceof WebSocketError && e.code === 'WS_ERR_NOT_OPEN');
});

test('a deflate that throws synchronously fails the connection with 1011 instead of throwing out of send()', async () => {
  let calls = 0;
  let release!: (b: Uint8Array) => void;
  const cases: Array<[string, PerMessageCodec['deflate'], () => void]> = [
    // Thrown at once, for the message being sent now.
    ['at send()', () => { throw new Error('zlib broke'); }, () => {}],
    // Thrown for a message that waited behind an async deflate (inside a promise callback).
    [
      'behind an async deflate',
      (d: Uint8Array) => {
        if (calls++ === 0) return new Promise<Uint8Array>((r) => (release = r)).then(() => d.slice());
        throw new Error('zlib broke');
      },
      () => release(new Uint8Array(0)),
    ],
  ];
  for (const [name, deflate, next] of cases) {
    calls = 0;
    const h = server({ deflate: { inflate: (piece: Uint8Array) => [piece], shouldCompress: () => true, deflate } });
    h.p.send(enc.encode('one'), false);
    // (After a failure at send() the connection is closed: a second send would throw NOT_OPEN.)
    if (h.p.readyState !== CLOSED) h.p.send(enc.encode('two'), false);
    next();
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(closeSent(h), 1011, name);
    assert.deepEqual(h.errors, ['WS_ERR_INTERNAL:1011'], name);
    assert.deepEqual(h.transport, ['end'], name);
    assert.equal(h.p.readyState, CLOSED, name);
    // Nothing after the failed message went out: at most the first one, then our Close.
    assert.ok(h.sent.filter(([op]) => op !== Opcode.CLOSE).length <= 1, name);
  }
});

test('a fault inside inflate on a compressed (RSV1) frame: a plain Error is 1011, the codec\'s corrupt-data error keeps its 1007', async () => {
  const cases: Array<[string, PerMessageCodec['inflate'], string, number]> = [
    ['sync plain Error', () => { throw new Error('inflater bug'); }, 'WS_ERR_INTERNAL', 1011],
    ['async plain Error', () => Promise.reject(new Error('inflater bug')), 'WS_ERR_INTERNAL', 1011],
    // What the real backends throw for data that is not DEFLATE (core/deflate/backend.ts inflateFailed).
    ['sync corrupt data', () => { throw new WebSocketError('WS_ERR_INFLATE_FAILED', 'invalid compressed data', 1007); }, 'WS_ERR_INFLATE_FAILED', 1007],
  ];
  for (const [name, inflate, code, closeCode] of cases) {
    const h = server({ deflate: { inflate, shouldCompress: () => false, deflate: (d: Uint8Array) => d } });
    // A plain frame first: only the compressed one reaches the inflater.
    feed(h, [join([clientFrame(Opcode.TEXT, 'plain'), clientFrame(Opcode.TEXT, 'x', { rsv1: true }), clientFrame(Opcode.TEXT, 'after')])]);
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(h.messages, [['plain', false]], name);
    assert.deepEqual(h.sent, [[Opcode.CLOSE, String.fromCharCode(closeCode >> 8, closeCode & 0xff)]], `${name}: one Close frame, no reason`);
    assert.deepEqual(h.errors, [`${code}:${closeCode}`], name);
    assert.deepEqual(h.transport, ['end'], name);
    assert.equal(h.p.readyState, CLOSED, name);
  }
});

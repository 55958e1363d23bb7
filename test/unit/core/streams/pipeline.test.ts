/**
 * The Web Streams forms of the stages (createReceiveStream, createSendStream,
 * createPipeline): a client's send stream piped into a server's receive
 * stream and back, through a re-chunker that cuts bytes at awkward places,
 * plain and with a real permessage-deflate codec (pako) on both ends; errors
 * reach the stream as WebSocketErrors with their close codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createPipeline, createReceiveStream, createSendStream, type OutgoingMessage, type PipelineOptions } from '../../../../src/core/streams/pipeline.js';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import type { ReceiveEvent } from '../../../../src/core/ws/types.js';
import type { MessageInflater } from '../../../../src/core/ws/receiver.js';
import type { MessageDeflater } from '../../../../src/core/ws/sender.js';
import { PerMessageDeflate } from '../../../../src/core/deflate/codec.js';
import { pakoBackend } from '../../../../src/core/deflate/pako-backend.js';
import { buildDeflateOffer, negotiateDeflate, DEFLATE_DEFAULTS, type DeflateOptions } from '../../../../src/core/deflate/negotiate.js';
import { clientFrame, close, enc, frame, join } from '../../../helpers/frames.js';

// ---------------------------------------------------------------- helpers

const clientKeys = (k: Uint8Array): void => void k.set(randomBytes(4));

/** A stage that re-cuts bytes into chunks of the given sizes (cycling), copying them. */
function rechunk(sizes: number[]): TransformStream<Uint8Array, Uint8Array> {
  let buf: Uint8Array = new Uint8Array(0);
  let i = 0;
  const cutOff = (controller: TransformStreamDefaultController<Uint8Array>, all: boolean) => {
    for (;;) {
      const n = sizes[i % sizes.length] as number;
      if (buf.length < n && !(all && buf.length > 0)) return;
      controller.enqueue(buf.slice(0, n));
      buf = buf.subarray(Math.min(n, buf.length));
      i++;
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      buf = join([buf, chunk]);
      cutOff(controller, false);
    },
    flush(controller) {
      cutOff(controller, true);
    },
  });
}

/** A stage that records a copy of every chunk passing through (before the decoder unmasks in place). */
function tap(into: Uint8Array[]): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({ transform: (c, ctl) => (into.push(c.slice()), ctl.enqueue(c)) });
}

/** An event as a short string (payloads summarised when long). */
function show(e: ReceiveEvent): string {
  const body = (d: Uint8Array, text: boolean) => (d.length > 64 ? `${d.length}B#${checksum(d)}` : text ? Buffer.from(d).toString('utf8') : Buffer.from(d).toString('hex'));
  switch (e.type) {
    case 'message':
      return `${e.binary ? 'binary' : 'text'}:${body(e.data, !e.binary)}`;
    case 'ping':
    case 'pong':
      return `${e.type}:${body(e.data, true)}`;
    case 'close':
      return `close:${e.code}:${e.reason}`;
    case 'message-start':
      return `start:${e.binary ? 'binary' : 'text'}`;
    case 'message-data':
      return `data:${e.data.length}`;
    case 'message-end':
      return 'end';
  }
}

/** What the peer should see for an item. */
function expectedEvent(it: OutgoingMessage): string {
  if (it.type === 'message') return show({ type: 'message', binary: it.binary, data: it.data });
  if (it.type === 'close') return `close:${it.code ?? 1005}:${it.reason ?? ''}`;
  return show({ type: it.type, data: it.data });
}

function checksum(d: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + (d[i] as number)) | 0;
  return h >>> 0;
}

/**
 * items → send stream → [tap] → re-chunker → receive stream → events.
 * Both streams' errors are observed (a failure rejects once, nothing unhandled).
 */
async function roundTrip(send: TransformStream<OutgoingMessage, Uint8Array>, receive: TransformStream<Uint8Array, ReceiveEvent>, items: OutgoingMessage[], sizes = [1, 2, 3, 5, 7, 11, 13, 64, 1000, 65536], wire: Uint8Array[] = []): Promise<string[]> {
  const events: string[] = [];
  const done = send.readable
    .pipeThrough(tap(wire))
    .pipeThrough(rechunk(sizes))
    .pipeThrough(receive)
    .pipeTo(new WritableStream({ write: (e) => void events.push(show(e)) }));
  const writing = (async () => {
    const w = send.writable.getWriter();
    for (const it of items) await w.write(it);
    await w.close();
  })();
  await Promise.all([done, writing]);
  return events;
}

/** Frames on the wire as [opcode, fin, rsv1, payload length]; `from` is the sender's role. */
function wireFrames(chunks: Uint8Array[], from: 'client' | 'server'): Array<[number, boolean, boolean, number]> {
  const out: Array<[number, boolean, boolean, number]> = [];
  const d = new FrameDecoder({ role: from === 'client' ? 'server' : 'client', maxFrameSize: 1 << 26, maxFragments: 1000, allowRsv1: true }, (p) => {
    if (p.last) out.push([p.opcode, p.fin, p.rsv1, p.length]);
  });
  d.push(join(chunks));
  return out;
}

/** Feed raw chunks into a receive stream; resolves with the events or rejects with the stream's error. */
async function receiveAll(receive: TransformStream<Uint8Array, ReceiveEvent>, chunks: Uint8Array[]): Promise<string[]> {
  const events: string[] = [];
  const done = receive.readable.pipeTo(new WritableStream({ write: (e) => void events.push(show(e)) }));
  const writing = (async () => {
    const w = receive.writable.getWriter();
    for (const c of chunks) await w.write(c.slice());
    await w.close();
  })();
  await Promise.all([done, writing]);
  return events;
}

function wsError(code: string, closeCode: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof WebSocketError, `expected a WebSocketError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.closeCode, closeCode);
    return true;
  };
}

function pattern(n: number, seed = 1): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7 + seed * 13 + (i >> 8)) & 0xff);
}

function agreed(opts: DeflateOptions = {}) {
  const r = negotiateDeflate([buildDeflateOffer(opts)], opts);
  assert.ok(r, 'permessage-deflate negotiated');
  return r.params;
}

function codecs(params = agreed(), threshold?: number) {
  const common = { params, backend: pakoBackend, maxMessageSize: 1 << 24, ...(threshold === undefined ? {} : { threshold }) };
  return { client: new PerMessageDeflate({ ...common, role: 'client' }), server: new PerMessageDeflate({ ...common, role: 'server' }) };
}

// ---------------------------------------------------------------- plain round trips

const ITEMS: OutgoingMessage[] = [
  { type: 'message', data: enc.encode('hello ✓'), binary: false },
  { type: 'message', data: new Uint8Array(0), binary: false },
  { type: 'ping', data: enc.encode('are you there') },
  { type: 'message', data: pattern(125), binary: true },
  { type: 'message', data: pattern(126), binary: true },
  { type: 'pong', data: new Uint8Array(0) },
  { type: 'message', data: pattern(16 * 1024 + 1), binary: true },
  { type: 'message', data: enc.encode('€'.repeat(30_000)), binary: false },
  { type: 'message', data: pattern(65536), binary: true },
  { type: 'close', code: 4000, reason: 'done ✓' },
];

test('createPipeline returns a receive pair (readable/writable) and a send TransformStream', () => {
  const p = createPipeline({ role: 'server' });
  assert.ok(p.receive.readable instanceof ReadableStream);
  assert.ok(p.receive.writable instanceof WritableStream);
  assert.ok(p.send instanceof TransformStream);
  assert.throws(() => createPipeline({ role: 'client' }), TypeError, 'a client needs a maskKey source');
});

test('client send stream → server receive stream: text, binary, ping, pong, close arrive as sent, at awkward cuts', async () => {
  for (const sizes of [[1], [2, 3, 5, 7, 11, 13], [1, 65536, 1000, 3], [1 << 20]]) {
    const client = createPipeline({ role: 'client', maskKey: clientKeys });
    const server = createPipeline({ role: 'server' });
    const wire: Uint8Array[] = [];
    // Byte-at-a-time for the whole list is slow: drop the biggest items there.
    const items = sizes[0] === 1 && sizes.length === 1 ? ITEMS.filter((it) => it.type !== 'message' || it.data.length < 20_000) : ITEMS;
    const events = await roundTrip(client.send, server.receive, items, sizes, wire);
    assert.deepEqual(events, items.map(expectedEvent), `cut ${sizes.join(',')}`);
    // Every client frame is masked: the server's decoder would have failed otherwise.
    assert.ok(wireFrames(wire, 'client').every(([, fin, rsv1]) => fin && !rsv1));
  }
});

test('server send stream → client receive stream (unmasked), and close without a code', async () => {
  const server = createPipeline({ role: 'server' });
  const client = createPipeline({ role: 'client', maskKey: clientKeys });
  const items: OutgoingMessage[] = [...ITEMS.slice(0, -1), { type: 'close' }];
  const events = await roundTrip(server.send, client.receive, items);
  assert.deepEqual(events, items.map(expectedEvent));
  assert.equal(events.at(-1), 'close:1005:');
});

test('streaming receive: message-start / data / end reassemble to the bytes sent', async () => {
  const send = createSendStream({ role: 'client', maskKey: clientKeys });
  const receive = createReceiveStream({ role: 'server', streaming: true });
  const events = await roundTrip(send, receive, [
    { type: 'message', data: pattern(10), binary: true },
    { type: 'ping', data: enc.encode('p') },
    { type: 'message', data: new Uint8Array(0), binary: false },
  ], [4, 7]);
  // 10 payload bytes of a 16-byte frame cut at 4 / 7: the pieces follow the cuts.
  assert.equal(events[0], 'start:binary');
  assert.equal(events.filter((e) => e.startsWith('data:')).reduce((n, e) => n + Number(e.slice(5)), 0), 10);
  assert.ok(events.filter((e) => e.startsWith('data:')).length > 1, 'the payload arrived in more than one piece');
  assert.deepEqual(events.slice(events.indexOf('end')), ['end', 'ping:p', 'start:text', 'end']);
});

// ---------------------------------------------------------------- permessage-deflate

test('permessage-deflate (pako, negotiated defaults): compressed messages of many sizes round-trip both ways', async () => {
  const params = agreed();
  const sizes = [0, 1, 100, DEFLATE_DEFAULTS.threshold - 1, DEFLATE_DEFAULTS.threshold, 5000, 70_000, 300_000];
  const items: OutgoingMessage[] = [];
  for (const n of sizes) {
    items.push({ type: 'message', data: enc.encode('compress me please '.repeat(Math.ceil(n / 19)).slice(0, n)), binary: false });
    items.push({ type: 'message', data: new Uint8Array(randomBytes(n)), binary: true }); // incompressible
    items.push({ type: 'ping', data: enc.encode(`after ${n}`) });
  }
  items.push({ type: 'message', data: pattern(50_000), binary: true, compress: false });
  items.push({ type: 'close', code: 1000, reason: 'bye' });

  for (const from of ['client', 'server'] as const) {
    const { client, server } = codecs(params);
    const sender = from === 'client' ? client : server;
    const receiver = from === 'client' ? server : client;
    const send = createSendStream({ role: from, deflate: sender, maskKey: clientKeys });
    const receive = createReceiveStream({ role: from === 'client' ? 'server' : 'client', deflate: receiver });
    const wire: Uint8Array[] = [];
    const events = await roundTrip(send, receive, items, [3, 1, 4096, 17, 65536], wire);
    assert.deepEqual(events, items.map(expectedEvent), `from ${from}`);

    // RSV1 exactly on the messages at or above the threshold (not on compress:false, nor on control frames).
    const frames = wireFrames(wire, from);
    const expectRsv1 = items.map((it) => it.type === 'message' && it.compress !== false && it.data.length >= DEFLATE_DEFAULTS.threshold);
    assert.deepEqual(frames.map((f) => f[2]), expectRsv1, `RSV1 bits from ${from}`);
    // Text compresses: the 300 kB text message is much smaller on the wire.
    const bigText = items.findIndex((it) => it.type === 'message' && !it.binary && it.data.length === 300_000);
    assert.ok((frames[bigText] as [number, boolean, boolean, number])[3] < 30_000, 'actually compressed');
  }
});

test('permessage-deflate: context takeover shrinks a repeated message; no_context_takeover does not', async () => {
  const msg = new Uint8Array(randomBytes(4000));
  const items: OutgoingMessage[] = [
    { type: 'message', data: msg, binary: true },
    { type: 'message', data: msg, binary: true },
  ];
  const sizes = async (params: ReturnType<typeof agreed>) => {
    const { client, server } = codecs(params);
    const wire: Uint8Array[] = [];
    const events = await roundTrip(createSendStream({ role: 'client', deflate: client, maskKey: clientKeys }), createReceiveStream({ role: 'server', deflate: server }), items, [999], wire);
    assert.deepEqual(events, items.map(expectedEvent));
    return wireFrames(wire, 'client').map((f) => f[3]);
  };
  const [first, second] = await sizes(agreed());
  assert.ok((second as number) < (first as number) / 10, `second message refers back to the first: ${first} → ${second}`);
  const [a, b] = await sizes(agreed({ clientNoContextTakeover: true }));
  assert.ok(Math.abs((a as number) - (b as number)) < 16, `each message compressed alone: ${a}, ${b}`);
});

test('permessage-deflate: the fused receive stream with an asynchronous inflater holds input until it drains', async () => {
  const { client, server } = codecs(agreed(), 0);
  // Compressed bytes for two messages and a ping between them, made with the client codec.
  const send = createSendStream({ role: 'client', deflate: client, maskKey: clientKeys });
  const bytes: Uint8Array[] = [];
  const collected = send.readable.pipeTo(new WritableStream({ write: (c) => void bytes.push(c) }));
  const w0 = send.writable.getWriter();
  await w0.write({ type: 'message', data: enc.encode('first'), binary: false });
  await w0.write({ type: 'ping', data: enc.encode('p') });
  await w0.write({ type: 'message', data: enc.encode('second'), binary: false });
  await w0.close();
  await collected;
  const wire = join(bytes);

  const releases: Array<() => void> = [];
  const gated: MessageInflater & MessageDeflater = {
    inflate: (piece, fin, soFar) => {
      const out = server.inflate(piece, fin, soFar) as Uint8Array[];
      return new Promise((resolve) => releases.push(() => resolve(out)));
    },
    shouldCompress: () => false,
    deflate: () => {
      throw new Error('unused');
    },
  };
  const receive = createReceiveStream({ role: 'server', deflate: gated });
  const events: string[] = [];
  const done = receive.readable.pipeTo(new WritableStream({ write: (e) => void events.push(show(e)) }));
  const w = receive.writable.getWriter();
  let written = false;
  const write = w.write(wire).then(() => (written = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(written, false, 'the write waits for the pending inflate');
  assert.deepEqual(events, []);
  assert.equal(releases.length, 1, 'only the first inflate has started; the rest waits in order');
  (releases.shift() as () => void)();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(events, ['text:first', 'ping:p']);
  assert.equal(written, false);
  (releases.shift() as () => void)();
  await write;
  await w.close();
  await done;
  assert.deepEqual(events, ['text:first', 'ping:p', 'text:second']);
});

// ---------------------------------------------------------------- errors

test('invalid input errors the receive stream with a WebSocketError carrying the close code', async () => {
  const cases: Array<[string, PipelineOptions, Uint8Array[], string, number]> = [
    ['unmasked frame to a server', { role: 'server' }, [frame(Opcode.TEXT, 'x')], 'WS_ERR_EXPECTED_MASK', 1002],
    ['masked frame to a client', { role: 'client', maskKey: clientKeys }, [clientFrame(Opcode.TEXT, 'x')], 'WS_ERR_UNEXPECTED_MASK', 1002],
    ['reserved opcode', { role: 'server' }, [clientFrame(3, 'x')], 'WS_ERR_INVALID_OPCODE', 1002],
    ['RSV1 without permessage-deflate', { role: 'server' }, [clientFrame(Opcode.TEXT, 'x', { rsv1: true })], 'WS_ERR_UNEXPECTED_RSV', 1002],
    ['continuation without a message', { role: 'server' }, [clientFrame(Opcode.CONTINUATION, 'x')], 'WS_ERR_INVALID_CONTINUATION', 1002],
    ['fragmented ping', { role: 'server' }, [clientFrame(Opcode.PING, 'x', { fin: false })], 'WS_ERR_FRAGMENTED_CONTROL_FRAME', 1002],
    ['bad close code', { role: 'server' }, [clientFrame(Opcode.CLOSE, close(1005))], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['invalid UTF-8 text', { role: 'server' }, [clientFrame(Opcode.TEXT, new Uint8Array([0x61, 0xc0, 0xaf]))], 'WS_ERR_INVALID_UTF8', 1007],
    ['invalid UTF-8 across fragments', { role: 'server' }, [clientFrame(Opcode.TEXT, new Uint8Array([0xe2]), { fin: false }), clientFrame(Opcode.CONTINUATION, new Uint8Array([0x28]))], 'WS_ERR_INVALID_UTF8', 1007],
    ['message over maxMessageSize', { role: 'server', maxMessageSize: 10 }, [clientFrame(Opcode.TEXT, 'x'.repeat(6), { fin: false }), clientFrame(Opcode.CONTINUATION, 'y'.repeat(5))], 'WS_ERR_MESSAGE_TOO_BIG', 1009],
    ['frame over maxFrameSize', { role: 'server', maxFrameSize: 100 }, [clientFrame(Opcode.BINARY, new Uint8Array(101))], 'WS_ERR_FRAME_TOO_BIG', 1009],
    ['too many fragments', { role: 'server', maxFragments: 2 }, [clientFrame(Opcode.TEXT, 'a', { fin: false }), clientFrame(Opcode.CONTINUATION, 'b', { fin: false }), clientFrame(Opcode.CONTINUATION, 'c')], 'WS_ERR_TOO_MANY_FRAGMENTS', 1009],
    // Truncated input is a lost connection (1006), not a protocol violation.
    ['stream ends inside a frame', { role: 'server' }, [clientFrame(Opcode.TEXT, 'hello').subarray(0, 5)], 'WS_ERR_CONNECTION_LOST', 1006],
    ['stream ends inside a fragmented message', { role: 'server' }, [clientFrame(Opcode.TEXT, 'hel', { fin: false })], 'WS_ERR_CONNECTION_LOST', 1006],
  ];
  for (const [what, opts, chunks, code, closeCode] of cases) {
    // Whole, and byte by byte.
    for (const parts of [[join(chunks)], Array.from(join(chunks), (b) => new Uint8Array([b]))]) {
      await assert.rejects(receiveAll(createReceiveStream(opts), parts), wsError(code, closeCode), `${what} (${parts.length} parts)`);
    }
  }
});

test('events before the violation are delivered, nothing after it', async () => {
  const events: string[] = [];
  const receive = createReceiveStream({ role: 'server' });
  const done = receive.readable.pipeTo(new WritableStream({ write: (e) => void events.push(show(e)) }));
  const w = receive.writable.getWriter();
  const wrote = w.write(join([clientFrame(Opcode.TEXT, 'ok'), clientFrame(Opcode.PING, 'p'), clientFrame(Opcode.TEXT, new Uint8Array([0xff])), clientFrame(Opcode.TEXT, 'never')]));
  await assert.rejects(wrote, wsError('WS_ERR_INVALID_UTF8', 1007));
  await assert.rejects(done, wsError('WS_ERR_INVALID_UTF8', 1007));
  assert.deepEqual(events, ['text:ok', 'ping:p']);
});

test('corrupt compressed data errors the stream with 1007; a decompression bomb with 1009', async () => {
  const { server } = codecs();
  await assert.rejects(
    receiveAll(createReceiveStream({ role: 'server', deflate: server }), [clientFrame(Opcode.TEXT, new Uint8Array([0xff, 0xff, 0xff, 0xff]), { rsv1: true })]),
    wsError('WS_ERR_INFLATE_FAILED', 1007),
  );
  // 1 MB of zeros compresses to about 1 kB; the receiver allows 10 kB.
  const params = agreed();
  const client = new PerMessageDeflate({ params, role: 'client', backend: pakoBackend, maxMessageSize: 1 << 24 });
  const small = new PerMessageDeflate({ params, role: 'server', backend: pakoBackend, maxMessageSize: 10_000 });
  const bomb = client.deflate(new Uint8Array(1 << 20), true) as Uint8Array;
  assert.ok(bomb.length < 5000);
  await assert.rejects(
    receiveAll(createReceiveStream({ role: 'server', deflate: small, maxMessageSize: 10_000 }), [clientFrame(Opcode.BINARY, bomb, { rsv1: true })]),
    wsError('WS_ERR_MESSAGE_TOO_BIG', 1009),
  );
});

test('an invalid item errors the send stream; a violation on the receive side rejects the sender\'s pipe too', async () => {
  const send = createSendStream({ role: 'server' });
  const out = send.readable.pipeTo(new WritableStream());
  const w = send.writable.getWriter();
  await assert.rejects(w.write({ type: 'close', code: 1006 }), RangeError);
  await assert.rejects(out, RangeError);

  // A server sending into a server: its unmasked frames are refused, and the error travels back up the pipe.
  const a = createPipeline({ role: 'server' });
  const b = createPipeline({ role: 'server' });
  await assert.rejects(roundTrip(a.send, b.receive, [{ type: 'message', data: enc.encode('x'), binary: false }]), wsError('WS_ERR_EXPECTED_MASK', 1002));
});

/**
 * The connection facade over real Node server/client pairs: the stream API
 * and its backpressure, streamed receive (`streamMessages`), streaming send,
 * binaryType, message events, the frame-level API, throwing listeners. Then
 * the pipeline stages run as Web Streams (fused and composed), including an
 * asynchronous inflater that must not reorder anything.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocketServerOptions } from '../../src/adapters/node/server.js';
import { WebSocket, type ClientOptions } from '../../src/adapters/node/client.js';
import type { StreamMessage, WebSocketConnection, WsMessageStartEvent } from '../../src/connection.js';
import { WebSocketError } from '../../src/core/ws/errors.js';
import { createReceiveStream, createSendStream, type OutgoingMessage } from '../../src/core/streams/pipeline.js';
import { FrameDecoder } from '../../src/core/ws/decoder.js';
import { MessageReceiver, type MessageInflater } from '../../src/core/ws/receiver.js';
import type { MessageDeflater } from '../../src/core/ws/sender.js';
import type { FramePiece, ReceiveEvent } from '../../src/core/ws/types.js';
import { PerMessageDeflate } from '../../src/core/deflate/codec.js';
import { pakoBackend } from '../../src/core/deflate/pako-backend.js';
import { buildDeflateOffer, negotiateDeflate } from '../../src/core/deflate/negotiate.js';
import { clientFrame, close, join } from '../helpers/frames.js';
import { closed, nextMessage } from '../helpers/ws.js';
import { within } from './adapters/node/_util.js';

const T = { timeout: 20_000 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pair {
  wss: WebSocketServer;
  client: WebSocket;
  server: WebSocketConnection;
  stop(): Promise<void>;
}

/**
 * A server and one client connected to it. `onServer` runs synchronously on
 * the server side's connection event (before any message can arrive).
 */
async function pair(serverOpts: WebSocketServerOptions = {}, clientOpts: ClientOptions = {}, onServer?: (ws: WebSocketConnection) => void): Promise<Pair> {
  const wss = new WebSocketServer({ port: 0, ...serverOpts });
  const serverSide = new Promise<WebSocketConnection>((resolve) =>
    wss.on('connection', (ws) => {
      onServer?.(ws);
      resolve(ws);
    }),
  );
  await wss.ready();
  const client = await WebSocket.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, [], { perMessageDeflate: false, ...clientOpts });
  const server = await serverSide;
  return {
    wss,
    client,
    server,
    stop: async () => {
      client.terminate();
      await wss.close();
    },
  };
}

async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

/** Messages queued in a connection's stream readable (test-only peek at a private field). */
function readableQueued(ws: WebSocketConnection): number {
  const ctl = (ws as unknown as { readableCtl: ReadableStreamDefaultController<StreamMessage> | null }).readableCtl;
  return ctl ? 16 - (ctl.desiredSize ?? 16) : 0;
}

describe('stream API ({ readable, writable })', () => {
  test('writes of strings and bytes arrive in order, as strings and Uint8Arrays', T, async () => {
    const p = await pair({}, {}, (ws) => {
      ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
    });
    try {
      const { readable, writable } = p.client.stream;
      assert.equal(p.client.stream.readable, readable, 'the same pair on every access');
      const writer = writable.getWriter();
      const items: Array<string | Uint8Array> = [];
      for (let i = 0; i < 50; i++) items.push(i % 3 === 0 ? new Uint8Array([i, i + 1, i + 2]) : `msg ${i} ✓`);
      for (const it of items) await writer.write(it);
      const reader = readable.getReader();
      for (const it of items) {
        const { value, done } = await reader.read();
        assert.equal(done, false);
        if (typeof it === 'string') assert.equal(value, it);
        else {
          assert.ok(value instanceof Uint8Array);
          assert.deepEqual([...value], [...it]);
        }
      }
      // Closing the writable closes the connection cleanly; the readable then ends.
      const c = closed(p.client, 3000);
      await writer.close();
      assert.equal((await c).wasClean, true);
      assert.deepEqual(await reader.read(), { value: undefined, done: true });
    } finally {
      await p.stop();
    }
  });

  test('`closed` tells how the connection ended; an unclean end still leaves received messages readable', T, async () => {
    // Clean: the server closes with 4000.
    const a = await pair({}, {}, (ws) => {
      ws.onmessage = () => ws.close(4000, 'done');
    });
    try {
      const { readable, writable, closed: ended } = a.client.stream;
      await writable.getWriter().write('bye');
      assert.deepEqual(await within(ended, 3000, 'closed'), { code: 4000, reason: 'done', wasClean: true });
      assert.deepEqual(await readable.getReader().read(), { value: undefined, done: true });
    } finally {
      await a.stop();
    }
    // Unclean: the server sends two messages and drops TCP; the client reads them afterwards.
    const b = await pair({}, {}, (ws) => {
      ws.onmessage = () => {
        ws.send('one');
        ws.send('two');
        setTimeout(() => ws.terminate(), 50);
      };
    });
    try {
      const { readable, writable, closed: ended } = b.client.stream;
      await writable.getWriter().write('go');
      assert.deepEqual(await within(ended, 3000, 'closed'), { code: 1006, reason: '', wasClean: false });
      const got: StreamMessage[] = [];
      for await (const m of readable) got.push(m);
      assert.deepEqual(got, ['one', 'two']);
      // Asked for after the end: already settled.
      assert.equal((await b.client.stream.closed).wasClean, false);
    } finally {
      await b.stop();
    }
  });

  test('a slow reader applies backpressure end to end; nothing is lost', { timeout: 60_000 }, async () => {
    const COUNT = 2000;
    const SIZE = 64 * 1024;
    let readable!: ReadableStream<StreamMessage>;
    const p = await pair({}, {}, (ws) => {
      readable = ws.stream.readable; // the server reads through the stream API from the start
    });
    try {
      const writer = p.client.stream.writable.getWriter();
      let written = 0;
      let maxSenderBuffered = 0;
      let maxQueued = 0;
      const sample = setInterval(() => {
        maxQueued = Math.max(maxQueued, readableQueued(p.server));
      }, 2);
      const producer = (async () => {
        const chunk = new Uint8Array(SIZE);
        for (let i = 0; i < COUNT; i++) {
          new DataView(chunk.buffer).setUint32(0, i);
          await writer.ready;
          await writer.write(chunk.slice());
          written++;
          maxSenderBuffered = Math.max(maxSenderBuffered, p.client.bufferedAmount);
          maxQueued = Math.max(maxQueued, readableQueued(p.server));
        }
      })();
      // Nobody reads for a while: the producer must stall long before the end.
      await sleep(400);
      const stalledAt = written;
      await sleep(200);
      assert.equal(written, stalledAt, 'the producer is stalled while nobody reads');
      assert.ok(stalledAt < COUNT / 4, `${stalledAt} of ${COUNT} written with no reader`);
      assert.ok(readableQueued(p.server) <= 16 + 2, `receiver holds ${readableQueued(p.server)} messages`);
      // Now read everything, slowly at first.
      const reader = readable.getReader();
      for (let i = 0; i < COUNT; i++) {
        const { value } = await reader.read();
        assert.ok(value instanceof Uint8Array && value.length === SIZE, `message ${i}`);
        const n = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
        if (n !== i) assert.fail(`message ${i} arrived as ${n}`);
        if (i < 40) await sleep(2);
      }
      await producer;
      clearInterval(sample);
      assert.equal(written, COUNT);
      assert.ok(maxQueued <= 16 + 2, `receiver's readable held up to ${maxQueued} messages (highWaterMark 16)`);
      assert.ok(maxSenderBuffered <= 1024 * 1024 + 2 * SIZE, `sender buffered up to ${maxSenderBuffered} bytes`);
      reader.releaseLock();
    } finally {
      await p.stop();
    }
  });

  test('the writable waits instead of failing when maxBufferedAmount is below its high-water mark', T, async () => {
    let readable!: ReadableStream<StreamMessage>;
    const p = await pair({}, { maxBufferedAmount: 200 * 1024 }, (ws) => {
      readable = ws.stream.readable;
    });
    try {
      const writer = p.client.stream.writable.getWriter();
      const SIZE = 60_000;
      const COUNT = 300; // 18 MB: more than the kernel buffers absorb while nobody reads
      const producer = (async () => {
        for (let i = 0; i < COUNT; i++) await writer.write(new Uint8Array(SIZE).fill(i & 0xff));
      })();
      await sleep(300);
      const reader = readable.getReader();
      for (let i = 0; i < COUNT; i++) {
        const { value } = await reader.read();
        assert.ok(value instanceof Uint8Array && value.length === SIZE && value[SIZE - 1] === (i & 0xff), `message ${i}`);
      }
      await producer;
    } finally {
      await p.stop();
    }
  });

  test('with permessage-deflate, the writable does not stall behind the asynchronous deflate queue', T, async () => {
    let got = 0;
    const p = await pair({ perMessageDeflate: true }, { perMessageDeflate: true }, (ws) => {
      ws.onmessage = (e) => {
        if (e.raw.length === 2 * 1024 * 1024 && e.raw[12345] === got % 256) got++;
      };
    });
    try {
      assert.match(p.client.extensions, /^permessage-deflate/);
      const writer = p.client.stream.writable.getWriter();
      // 2 MiB of one byte: large enough for zlib's asynchronous path, compressing to a few KB.
      const writing = (async () => {
        for (let i = 0; i < 10; i++) await writer.write(new Uint8Array(2 * 1024 * 1024).fill(i));
      })();
      await within(writing, 5000, 'writer.write resolves');
      await until(() => got === 10, 5000, 'all ten messages');
    } finally {
      await p.stop();
    }
  });

  test('cancelling the readable closes the connection with 1000', T, async () => {
    const p = await pair();
    try {
      const c = closed(p.server, 3000);
      await p.client.stream.readable.cancel();
      const e = await c;
      assert.deepEqual([e.code, e.wasClean], [1000, true]);
    } finally {
      await p.stop();
    }
  });
});

describe('streamed messages', () => {
  test('streamMessages: a 5 MiB message sent with beginMessage/sendFragment/endMessage arrives as a messagestart stream', T, async () => {
    const starts: WsMessageStartEvent[] = [];
    const p = await pair({ streamMessages: true }, {}, (ws) => ws.addEventListener('messagestart', (e) => starts.push(e)));
    try {
      const total = 5 * 1024 * 1024;
      const data = new Uint8Array(total);
      for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 12)) & 0xff;
      p.client.beginMessage(true);
      const FRAG = 100_003;
      for (let off = 0; off < total - FRAG; off += FRAG) p.client.sendFragment(data.subarray(off, off + FRAG));
      p.client.endMessage(data.subarray(Math.floor((total - 1) / FRAG) * FRAG));
      await until(() => starts.length === 1, 3000, 'messagestart');
      const ev = starts[0] as WsMessageStartEvent;
      assert.equal(ev.binary, true);
      const parts: Uint8Array[] = [];
      const reader = ev.stream.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        parts.push(r.value);
        if (parts.length % 8 === 0) await sleep(1); // a slowish consumer
      }
      const got = join(parts);
      assert.equal(got.length, total);
      assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'bytes in order');
      assert.ok(parts.length > 1, 'delivered in pieces, not buffered whole');
      // A small text message is a stream too.
      p.client.send('small ✓');
      await until(() => starts.length === 2, 3000, 'second messagestart');
      const ev2 = starts[1] as WsMessageStartEvent;
      assert.equal(ev2.binary, false);
      const text: Uint8Array[] = [];
      const reader2 = ev2.stream.getReader();
      for (let r = await reader2.read(); !r.done; r = await reader2.read()) text.push(r.value);
      assert.equal(Buffer.from(join(text)).toString('utf8'), 'small ✓');
    } finally {
      await p.stop();
    }
  });

  test('streamMessages: an unread message stream pauses the socket (bounded memory), then resumes', T, async () => {
    const starts: WsMessageStartEvent[] = [];
    const p = await pair({ streamMessages: true }, {}, (ws) => ws.addEventListener('messagestart', (e) => starts.push(e)));
    try {
      const total = 24 * 1024 * 1024;
      const piece = new Uint8Array(256 * 1024);
      p.client.beginMessage(true);
      for (let off = 0; off < total; off += piece.length) {
        piece.fill((off / piece.length) & 0xff);
        p.client.sendFragment(piece.slice());
      }
      p.client.endMessage();
      await until(() => starts.length === 1, 3000, 'messagestart');
      await sleep(300); // nobody reads
      const ctl = (p.server as unknown as { streamCtl: ReadableStreamDefaultController<Uint8Array> | null }).streamCtl;
      assert.ok(ctl, 'the message is still streaming');
      const held = 1024 * 1024 - (ctl.desiredSize ?? 0);
      assert.ok(held <= 1024 * 1024 + 256 * 1024, `the receiver holds ${held} bytes (highWaterMark 1 MiB)`);
      assert.ok(p.client.bufferedAmount > 8 * 1024 * 1024, `sender still holds ${p.client.bufferedAmount} bytes: the receiver stopped reading`);
      let n = 0;
      const reader = (starts[0] as WsMessageStartEvent).stream.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        for (let i = 0; i < r.value.length; i += 4099) {
          if (r.value[i] !== (Math.floor((n + i) / piece.length) & 0xff)) assert.fail(`byte ${n + i}`);
        }
        n += r.value.length;
      }
      assert.equal(n, total);
    } finally {
      await p.stop();
    }
  });

  test('beginMessage/sendFragment/endMessage without streamMessages arrives as one message; misuse throws', T, async () => {
    const p = await pair({}, {}, (ws) => {
      ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
    });
    try {
      p.client.beginMessage(false);
      p.client.sendFragment('hello, ');
      p.client.ping('between fragments');
      p.client.sendFragment(new TextEncoder().encode('wor'));
      p.client.endMessage('ld');
      const e = await nextMessage(p.client, 3000);
      assert.equal(e.data, 'hello, world');
      assert.throws(() => p.client.sendFragment('x'));
      p.client.beginMessage(true);
      assert.throws(() => p.client.send('interleaved whole message'));
      p.client.endMessage();
      const e2 = await nextMessage(p.client, 3000);
      assert.equal(e2.binary, true);
      assert.equal(e2.raw.length, 0);
    } finally {
      await p.stop();
    }
  });
});

describe('message events, binaryType, frames, listeners', () => {
  test('text: e.data is a string and e.raw its UTF-8 bytes; binary as Uint8Array or ArrayBuffer (binaryType)', T, async () => {
    const p = await pair({}, { binaryType: 'arraybuffer' }, (ws) => {
      ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
    });
    try {
      p.client.send('héllo');
      const t = await nextMessage(p.client, 3000);
      assert.equal(t.binary, false);
      assert.equal(t.data, 'héllo');
      assert.ok(t.raw instanceof Uint8Array);
      assert.deepEqual([...t.raw], [...Buffer.from('héllo', 'utf8')]);

      assert.equal(p.client.binaryType, 'arraybuffer');
      p.client.send(new Uint8Array([1, 2, 3, 250]));
      const b = await nextMessage(p.client, 3000);
      assert.equal(b.binary, true);
      assert.ok(b.data instanceof ArrayBuffer, 'ArrayBuffer for binaryType arraybuffer');
      assert.deepEqual([...new Uint8Array(b.data)], [1, 2, 3, 250]);

      p.client.binaryType = 'uint8array';
      p.client.send(new Uint16Array([0x0102]).buffer);
      const u = await nextMessage(p.client, 3000);
      assert.ok(u.data instanceof Uint8Array);
      assert.equal((u.data as Uint8Array).length, 2);

      // A string sent as binary, bytes sent as text.
      p.client.send('as binary', { binary: true });
      assert.equal((await nextMessage(p.client, 3000)).binary, true);
      p.client.send(Buffer.from('as text'), { binary: false });
      const asText = await nextMessage(p.client, 3000);
      assert.deepEqual([asText.binary, asText.data], [false, 'as text']);
    } finally {
      await p.stop();
    }
  });

  test('ping()/pong() and sendFrame: a raw ping frame reaches the peer as a ping and is answered', T, async () => {
    const serverPings: string[] = [];
    const serverPongs: string[] = [];
    const serverMsgs: string[] = [];
    const p = await pair({}, {}, (ws) => {
      ws.addEventListener('ping', (e) => serverPings.push(Buffer.from(e.data).toString()));
      ws.addEventListener('pong', (e) => serverPongs.push(Buffer.from(e.data).toString()));
      ws.onmessage = (e) => serverMsgs.push(String(e.data));
    });
    try {
      const clientPongs: string[] = [];
      p.client.addEventListener('pong', (e) => clientPongs.push(Buffer.from(e.data).toString()));
      p.client.sendFrame(0x9, 'raw ping');
      p.client.ping('api ping');
      p.client.pong('unsolicited');
      // A message as two raw frames.
      p.client.sendFrame(0x1, 'frag', { fin: false });
      p.client.sendFrame(0x0, 'mented');
      await until(() => clientPongs.length === 2 && serverMsgs.length === 1, 3000, 'pongs and message');
      assert.deepEqual(serverPings, ['raw ping', 'api ping']);
      assert.deepEqual(clientPongs, ['raw ping', 'api ping']);
      assert.deepEqual(serverPongs, ['unsolicited']);
      assert.deepEqual(serverMsgs, ['fragmented']);
      assert.throws(() => p.client.ping('x'.repeat(126)), RangeError);
      assert.throws(() => p.client.sendFrame(0x8, close(1000)), TypeError);
    } finally {
      await p.stop();
    }
  });

  test('a throwing listener does not break the connection (the error is reported asynchronously)', T, async () => {
    // node:test fails a test on an uncaught exception: hold its listeners aside while we catch ours.
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const uncaught: unknown[] = [];
    const catcher = (e: unknown): void => void uncaught.push(e);
    process.on('uncaughtException', catcher);
    const received: string[] = [];
    const p = await pair({}, {}, (ws) => {
      ws.onmessage = () => {
        throw new Error('onmessage blew up');
      };
      ws.addEventListener('message', () => {
        throw new Error('listener blew up');
      });
      ws.addEventListener('message', (e) => {
        received.push(String(e.data));
        ws.send('ack ' + String(e.data));
      });
    });
    try {
      for (const m of ['one', 'two', 'three']) {
        p.client.send(m);
        assert.equal((await nextMessage(p.client, 3000)).data, 'ack ' + m);
      }
      await sleep(10);
      assert.deepEqual(received, ['one', 'two', 'three']);
      assert.equal(p.server.readyState, 1);
      assert.equal(uncaught.length, 6);
      assert.deepEqual(new Set(uncaught.map((e) => (e as Error).message)), new Set(['onmessage blew up', 'listener blew up']));
    } finally {
      process.off('uncaughtException', catcher);
      for (const l of saved) process.on('uncaughtException', l);
      await p.stop();
    }
  });

  test('send() returns false once closing; throws WS_ERR_NOT_OPEN for the frame APIs', T, async () => {
    const p = await pair();
    try {
      const c = closed(p.client, 3000);
      p.client.close(1000);
      assert.equal(p.client.send('late'), false);
      assert.equal(p.client.ping(), false);
      assert.throws(() => p.client.sendFrame(1, 'x'), (e: WebSocketError) => e.code === 'WS_ERR_NOT_OPEN');
      assert.throws(() => p.client.beginMessage(), (e: WebSocketError) => e.code === 'WS_ERR_NOT_OPEN');
      await c;
      assert.equal(p.client.send('later'), false);
    } finally {
      await p.stop();
    }
  });
});

// ---------------------------------------------------------------------------
// The pipeline stages as Web Streams.

/** Pipe `chunks` (copied: the decoder unmasks in place) through `ts` and collect the output. */
async function through<I, O>(ts: TransformStream<I, O>, chunks: I[]): Promise<O[]> {
  const out: O[] = [];
  const done = ts.readable.pipeTo(new WritableStream({ write: (o) => void out.push(o) }));
  const writing = (async () => {
    const w = ts.writable.getWriter();
    for (const c of chunks) await w.write(c);
    await w.close();
  })();
  await Promise.all([done, writing]); // both observed: an error rejects once, nothing unhandled
  return out;
}

/** Events in a comparable form (bytes as hex; text decoded). */
function show(events: ReceiveEvent[]): unknown[] {
  return events.map((e) => {
    if (e.type === 'message') return ['message', e.binary, e.binary ? Buffer.from(e.data).toString('hex') : Buffer.from(e.data).toString('utf8')];
    if (e.type === 'ping' || e.type === 'pong') return [e.type, Buffer.from(e.data).toString()];
    if (e.type === 'close') return ['close', e.code, e.reason];
    if (e.type === 'message-data') return ['data', Buffer.from(e.data).toString('hex')];
    return [e.type];
  });
}

/** Cut `bytes` into chunks at awkward places (1, 2, 3, 5, 7 … bytes), copying. */
function cut(bytes: Uint8Array, sizes = [1, 2, 3, 5, 7, 11, 13, 64, 1000]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = sizes[i++ % sizes.length] as number;
    out.push(bytes.slice(off, off + n));
    off += n;
  }
  return out;
}

function deflateParams(): ReturnType<typeof negotiateDeflate> & object {
  const agreed = negotiateDeflate([buildDeflateOffer({})], {});
  assert.ok(agreed);
  return agreed;
}

/** An inflater that answers with a promise after a timer: exercises the receiver's ordered queue. */
function slowInflater(codec: PerMessageDeflate): MessageInflater & MessageDeflater {
  let n = 0;
  return {
    inflate: (piece, fin, soFar) => {
      const result = codec.inflate(piece, fin, soFar); // in call order: the codec is stateful
      const delay = [3, 0, 1, 5][n++ % 4] as number;
      return new Promise((resolve, reject) => setTimeout(() => (result instanceof Promise ? result.then(resolve, reject) : resolve(result)), delay));
    },
    shouldCompress: () => false,
    deflate: () => {
      throw new Error('not used');
    },
  };
}

describe('pipeline stages as Web Streams', () => {
  const enc = new TextEncoder();
  const wire = join([
    clientFrame(1, 'hello'),
    clientFrame(9, 'p1'),
    clientFrame(2, new Uint8Array(300).map((_, i) => i & 0xff)),
    clientFrame(1, 'frag', { fin: false }),
    clientFrame(10, 'pong inside'),
    clientFrame(0, 'mented ✓', { fin: true }),
    clientFrame(2, new Uint8Array(70_000).fill(9)),
    clientFrame(1, ''),
    clientFrame(8, close(1000, 'done')),
  ]);

  test('createReceiveStream (fused) and FrameDecoder → MessageReceiver as two TransformStreams yield the same events', T, async () => {
    const fused = await through(createReceiveStream({ role: 'server' }), cut(wire));
    const decoder = new TransformStream<Uint8Array, FramePiece>(new FrameDecoder({ role: 'server', maxFrameSize: 1 << 20, maxFragments: 100, allowRsv1: false }));
    const receiver = new TransformStream<FramePiece, ReceiveEvent>(new MessageReceiver({ maxMessageSize: 1 << 20 }));
    const composed: ReceiveEvent[] = [];
    const done = decoder.readable.pipeThrough(receiver).pipeTo(new WritableStream({ write: (e) => void composed.push(e) }));
    const w = decoder.writable.getWriter();
    for (const c of cut(wire, [4096, 3, 17])) await w.write(c);
    await w.close();
    await done;
    assert.deepEqual(show(composed), show(fused));
    assert.deepEqual(show(fused), [
      ['message', false, 'hello'],
      ['ping', 'p1'],
      ['message', true, Buffer.from(new Uint8Array(300).map((_, i) => i & 0xff)).toString('hex')],
      ['pong', 'pong inside'],
      ['message', false, 'fragmented ✓'],
      ['message', true, Buffer.alloc(70_000, 9).toString('hex')],
      ['message', false, ''],
      ['close', 1000, 'done'],
    ]);
    // Byte-by-byte input gives the same events (a wire without the 70 kB frame, to stay quick).
    const small = join([clientFrame(1, 'héllo'), clientFrame(1, 'a', { fin: false }), clientFrame(9, 'p'), clientFrame(0, 'b'), clientFrame(2, new Uint8Array(200).fill(1)), clientFrame(8, close(1001))]);
    assert.deepEqual(show(await through(createReceiveStream({ role: 'server' }), cut(small, [1]))), show(await through(createReceiveStream({ role: 'server' }), [small.slice()])));
  });

  test('streaming mode: message-start / data / end carry the same bytes', T, async () => {
    const events = await through(createReceiveStream({ role: 'server', streaming: true }), cut(wire));
    const rebuilt: string[] = [];
    let cur: Buffer[] | null = null;
    for (const e of events) {
      if (e.type === 'message-start') cur = [];
      else if (e.type === 'message-data') cur?.push(Buffer.from(e.data));
      else if (e.type === 'message-end') rebuilt.push(Buffer.concat(cur ?? []).toString('hex'));
    }
    const whole = (await through(createReceiveStream({ role: 'server' }), cut(wire)))
      .filter((e): e is Extract<ReceiveEvent, { type: 'message' }> => e.type === 'message')
      .map((e) => Buffer.from(e.data).toString('hex'));
    assert.deepEqual(rebuilt, whole);
  });

  test('a protocol error errors the stream with the WebSocketError', T, async () => {
    await assert.rejects(through(createReceiveStream({ role: 'server' }), [clientFrame(3, 'x')]), (e: WebSocketError) => e.code === 'WS_ERR_INVALID_OPCODE' && e.closeCode === 1002);
    await assert.rejects(through(createReceiveStream({ role: 'server', maxMessageSize: 10 }), [clientFrame(1, 'x'.repeat(11))]), (e: WebSocketError) => e.closeCode === 1009);
  });

  test('createSendStream → createReceiveStream round trip (client masks, server decodes)', T, async () => {
    const items: OutgoingMessage[] = [
      { type: 'message', data: enc.encode('one'), binary: false },
      { type: 'ping', data: enc.encode('pp') },
      { type: 'message', data: new Uint8Array(100_000).fill(3), binary: true },
      { type: 'close', code: 4000, reason: 'bye' },
    ];
    const bytes = await through(createSendStream({ role: 'client', maskKey: (k) => k.set([1, 2, 3, 4]) }), items);
    const events = await through(createReceiveStream({ role: 'server' }), cut(join(bytes), [999, 1]));
    assert.deepEqual(show(events), [
      ['message', false, 'one'],
      ['ping', 'pp'],
      ['message', true, Buffer.alloc(100_000, 3).toString('hex')],
      ['close', 4000, 'bye'],
    ]);
  });

  test('permessage-deflate with an asynchronous inflater keeps messages and control frames in order', T, async () => {
    const { params } = deflateParams();
    const clientCodec = new PerMessageDeflate({ params, role: 'client', backend: pakoBackend, maxMessageSize: 1 << 24, threshold: 0 });
    const serverCodec = new PerMessageDeflate({ params, role: 'server', backend: pakoBackend, maxMessageSize: 1 << 24 });
    const items: OutgoingMessage[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const text = `message ${i} `.repeat(1 + ((i * 37) % 500));
      items.push({ type: 'message', data: enc.encode(text), binary: false });
      expected.push(['message', false, text]);
      if (i % 5 === 0) {
        items.push({ type: 'ping', data: enc.encode(`ping ${i}`) });
        expected.push(['ping', `ping ${i}`]);
      }
      if (i % 7 === 0) {
        // Uncompressed (compress: false) messages between compressed ones.
        items.push({ type: 'message', data: new Uint8Array([i]), binary: true, compress: false });
        expected.push(['message', true, Buffer.from([i]).toString('hex')]);
      }
    }
    const bytes = await through(createSendStream({ role: 'client', deflate: clientCodec, maskKey: (k) => k.set([9, 8, 7, 6]) }), items);
    const wireBytes = join(bytes);
    assert.ok(wireBytes.length < items.reduce((n, it) => n + (it.type === 'message' ? it.data.length : 0), 0) / 3, 'actually compressed');
    const fused = await through(createReceiveStream({ role: 'server', deflate: slowInflater(serverCodec) }), cut(wireBytes, [7, 300, 1, 4096]));
    assert.deepEqual(show(fused), expected);

    // The same through the composed stages, with a fresh (async) inflater.
    const serverCodec2 = new PerMessageDeflate({ params, role: 'server', backend: pakoBackend, maxMessageSize: 1 << 24 });
    const decoder = new TransformStream<Uint8Array, FramePiece>(new FrameDecoder({ role: 'server', maxFrameSize: 1 << 24, maxFragments: 100, allowRsv1: true }));
    const receiver = new TransformStream<FramePiece, ReceiveEvent>(new MessageReceiver({ maxMessageSize: 1 << 24, inflater: slowInflater(serverCodec2) }));
    const composed: ReceiveEvent[] = [];
    const done = decoder.readable.pipeThrough(receiver).pipeTo(new WritableStream({ write: (e) => void composed.push(e) }));
    const w = decoder.writable.getWriter();
    // The decoder unmasks in place: feed it a copy.
    for (const c of cut(wireBytes.slice(), [13, 2048])) await w.write(c);
    await w.close();
    await done;
    assert.deepEqual(show(composed), expected);
  });
});

/**
 * Liveness and limits on real sockets: heartbeat, close timeout, hostile
 * input from raw clients while healthy clients keep echoing, and the send
 * queue bound with a peer that stops reading.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { WebSocketServer, type WebSocketServerOptions } from '../../../../src/adapters/node/server.js';
import { WebSocket } from '../../../../src/adapters/node/client.js';
import type { WebSocketConnection, WsCloseEvent } from '../../../../src/connection.js';
import { computeAccept } from '../../../../src/core/ws/handshake.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import { Opcode } from '../../../../src/core/ws/constants.js';
import { clientFrame, close, frame, join } from '../../../helpers/frames.js';
import { closed, nextMessage } from '../../../helpers/ws.js';
import { RawClient, eventually, sleep, tripwire, within, type RawFrame } from './_util.js';

const T = { timeout: 15_000 };

/** A server-side connection as a test sees it: its errors and how it closed. */
interface Seen {
  ws: WebSocketConnection;
  errors: string[];
  close: Promise<WsCloseEvent>;
  pongs: number;
}

async function server(opts: WebSocketServerOptions, echo = true): Promise<{ wss: WebSocketServer; port: number; url: string; seen: Seen[] }> {
  const wss = new WebSocketServer({ port: 0, ...opts });
  const seen: Seen[] = [];
  wss.on('connection', (ws) => {
    const s: Seen = { ws, errors: [], close: new Promise((r) => ws.addEventListener('close', r)), pongs: 0 };
    ws.addEventListener('error', (e) => s.errors.push(e.error.code));
    ws.addEventListener('pong', () => s.pongs++);
    if (echo) ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
    seen.push(s);
  });
  await wss.ready();
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}`, seen };
}


/** The attacker got a Close with `code` and no reason, then the server's FIN; the server side reported `errorCode` and an unclean close. */
async function assertFailedWith(raw: RawClient, victim: Seen, name: string, code: number, errorCode: string): Promise<void> {
  const cf = await raw.closeFrame(3000).catch((e: Error) => assert.fail(`${name}: ${e.message}`));
  assert.equal(cf.code, code, name);
  assert.equal(cf.reason, '', `${name}: no internals in the reason`);
  await within(raw.closed, 2000, `${name}: the server closes TCP`);
  assert.deepEqual(victim.errors, [errorCode], name);
  const c = await within(victim.close, 2000, `${name}: close event`);
  assert.deepEqual([c.code, c.wasClean], [code, false], `${name}: close event`);
}

describe('heartbeat', () => {
  test('a peer that never answers pings is dropped with WS_ERR_PING_TIMEOUT', T, async () => {
    const { wss, port, seen } = await server({ heartbeat: { interval: 100, timeout: 100 } });
    try {
      const raw = await RawClient.connect(port);
      const t0 = Date.now();
      await within(raw.closed, 3000, 'server drops the silent peer');
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 150 && elapsed < 2000, `dropped after ${elapsed} ms`);
      assert.ok(raw.frames.some((f) => f.opcode === 0x9), 'a ping was sent first');
      const s = seen[0] as Seen;
      assert.deepEqual(s.errors, ['WS_ERR_PING_TIMEOUT']);
      const c = await within(s.close, 1000, 'server close event');
      assert.deepEqual([c.code, c.wasClean], [1006, false]);
      assert.equal(wss.clients.size, 0);
    } finally {
      await wss.close();
    }
  });

  test('a peer that answers pings stays open across many intervals (heartbeat on both ends)', T, async () => {
    const { wss, url, seen } = await server({ heartbeat: { interval: 50, timeout: 100 } });
    try {
      const ws = await WebSocket.connect(url, [], { perMessageDeflate: false, heartbeat: { interval: 50, timeout: 100 } });
      let pingsSeen = 0;
      ws.addEventListener('ping', () => pingsSeen++);
      const errors: string[] = [];
      ws.addEventListener('error', (e) => errors.push(e.error.code));
      await sleep(500);
      assert.equal(ws.readyState, WebSocket.OPEN);
      const s = seen[0] as Seen;
      assert.ok(s.pongs >= 3, `server got ${s.pongs} pongs`);
      assert.ok(pingsSeen >= 3, `client saw ${pingsSeen} pings`);
      assert.deepEqual([errors, s.errors], [[], []]);
      ws.send('still here');
      assert.equal((await nextMessage(ws, 2000)).data, 'still here');
      const done = closed(ws, 2000);
      ws.close();
      assert.equal((await done).wasClean, true);
    } finally {
      await wss.close();
    }
  });

  test('traffic from the peer postpones the ping', T, async () => {
    const { wss, port, seen } = await server({ heartbeat: { interval: 150, timeout: 100 } });
    try {
      const raw = await RawClient.connect(port);
      // Something every 50 ms: the connection is never idle for 150 ms.
      for (let i = 0; i < 8; i++) {
        raw.write(clientFrame(0xa, 'unsolicited pong'));
        await sleep(50);
      }
      assert.equal(raw.frames.filter((f) => f.opcode === 0x9).length, 0, 'no ping while busy');
      assert.equal(raw.socket.destroyed, false);
      assert.equal((seen[0] as Seen).pongs, 8);
      raw.destroy();
    } finally {
      await wss.close();
    }
  });
});

describe('close timeout', () => {
  test('server: a peer that never answers our Close frame is destroyed after closeTimeout', T, async () => {
    const { wss, port, seen } = await server({ closeTimeout: 200 });
    try {
      const raw = await RawClient.connect(port);
      await eventually(() => seen.length === 1);
      (seen[0] as Seen).ws.close(1000, 'bye');
      const cf = await raw.closeFrame();
      assert.deepEqual(cf, { code: 1000, reason: 'bye' });
      const t0 = Date.now();
      await within(raw.closed, 3000, 'destroyed after closeTimeout');
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 150 && elapsed < 2000, `destroyed after ${elapsed} ms`);
      const c = await (seen[0] as Seen).close;
      assert.deepEqual([c.code, c.wasClean], [1006, false]);
    } finally {
      await wss.close();
    }
  });

  test('client: a server that never answers our Close frame is dropped after closeTimeout', T, async () => {
    const sockets: Socket[] = [];
    const fake = createNetServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      let buf = '';
      socket.on('data', (c: Buffer) => {
        if (buf.includes('\r\n\r\n')) return; // frames after the handshake are ignored
        buf += c.toString('latin1');
        const key = /\r\nSec-WebSocket-Key: ([^\r]+)/i.exec(buf)?.[1];
        if (key && buf.includes('\r\n\r\n')) {
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`);
        }
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const ws = await WebSocket.connect(`ws://127.0.0.1:${(fake.address() as AddressInfo).port}/`, [], { perMessageDeflate: false, closeTimeout: 200 });
      const t0 = Date.now();
      const done = closed(ws, 3000);
      ws.close(1000);
      const c = await done;
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 150 && elapsed < 2000, `closed after ${elapsed} ms`);
      assert.deepEqual([c.code, c.wasClean], [1006, false]);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });
});

describe('hostile input is isolated', () => {
  const LIMITS = { maxFrameSize: 1024, maxMessageSize: 4096, maxFragments: 8 };
  const frag = (op: number, payload: Uint8Array | string, fin: boolean): Uint8Array => clientFrame(op, payload, { fin });
  const bytes = (n: number, v = 0x61): Uint8Array => new Uint8Array(n).fill(v);

  /** [name, bytes to send, close code expected in the server's Close frame, error code on the server]. */
  const attacks: Array<[string, Uint8Array, number, string]> = [
    ['invalid opcode 3', clientFrame(3, 'x'), 1002, 'WS_ERR_INVALID_OPCODE'],
    ['invalid opcode 0xB (control)', clientFrame(0xb, 'x'), 1002, 'WS_ERR_INVALID_OPCODE'],
    ['unmasked frame', frame(1, 'hi'), 1002, 'WS_ERR_EXPECTED_MASK'],
    ['RSV2 set', clientFrame(1, 'x', { rsv2: true }), 1002, 'WS_ERR_UNEXPECTED_RSV'],
    ['RSV1 without permessage-deflate', clientFrame(1, 'x', { rsv1: true }), 1002, 'WS_ERR_UNEXPECTED_RSV'],
    ['invalid UTF-8 text', clientFrame(1, new Uint8Array([0xce, 0xba, 0xff])), 1007, 'WS_ERR_INVALID_UTF8'],
    ['invalid UTF-8 across fragments', join([frag(1, new Uint8Array([0x68, 0xce]), false), frag(0, new Uint8Array([0x41]), true)]), 1007, 'WS_ERR_INVALID_UTF8'],
    ['truncated UTF-8 at message end', clientFrame(1, new Uint8Array([0x68, 0xe2, 0x82])), 1007, 'WS_ERR_INVALID_UTF8'],
    ['oversize frame', clientFrame(2, bytes(2000)), 1009, 'WS_ERR_FRAME_TOO_BIG'],
    ['oversize message in fragments', join([frag(2, bytes(1000), false), frag(0, bytes(1000), false), frag(0, bytes(1000), false), frag(0, bytes(1000), false), frag(0, bytes(1000), true)]), 1009, 'WS_ERR_MESSAGE_TOO_BIG'],
    ['too many fragments', join([frag(1, 'a', false), ...Array.from({ length: 9 }, () => frag(0, 'a', false)), frag(0, 'a', true)]), 1009, 'WS_ERR_TOO_MANY_FRAGMENTS'],
    ['continuation without a message', clientFrame(0, 'x'), 1002, 'WS_ERR_INVALID_CONTINUATION'],
    ['new message inside a fragmented one', join([frag(1, 'a', false), clientFrame(1, 'b')]), 1002, 'WS_ERR_EXPECTED_CONTINUATION'],
    ['fragmented ping', frag(9, 'p', false), 1002, 'WS_ERR_FRAGMENTED_CONTROL_FRAME'],
    ['ping over 125 bytes', clientFrame(9, bytes(126)), 1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
    ['truncated close payload (1 byte)', clientFrame(8, new Uint8Array([0x03])), 1002, 'WS_ERR_INVALID_CLOSE_PAYLOAD'],
    ['close code 1005 on the wire', clientFrame(8, close(1005)), 1002, 'WS_ERR_INVALID_CLOSE_CODE'],
    ['close reason not UTF-8', clientFrame(8, join([close(1000), new Uint8Array([0xff])])), 1007, 'WS_ERR_INVALID_UTF8'],
    ['64-bit length with the top bit set', new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), 1002, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'],
    ['garbage bytes (an HTTP request line: "G" is opcode 7)', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 1002, 'WS_ERR_INVALID_OPCODE'],
  ];

  test('each bad client gets the right Close code; three healthy clients keep echoing; no unhandled errors', { timeout: 30_000 }, async () => {
    const wire = tripwire();
    const { wss, port, url, seen } = await server(LIMITS);
    let stop = false;
    const healthy = await Promise.all([0, 1, 2].map((i) => WebSocket.connect(url, [], { perMessageDeflate: i === 2 ? false : true, ...LIMITS })));
    await eventually(() => seen.length === 3);
    const loops = healthy.map(async (ws, i) => {
      let n = 0;
      while (!stop) {
        const size = (n * 37 + i * 101) % 1000;
        const binary = n % 2 === 1;
        const payload = binary ? new Uint8Array(size).map((_, k) => (k + n) & 0xff) : `${i}:${n}:` + 'é'.repeat(size >> 2);
        ws.send(payload);
        const e = await nextMessage(ws, 3000);
        if (binary) assert.deepEqual(new Uint8Array(e.raw), payload, `client ${i} message ${n}`);
        else assert.equal(e.data, payload, `client ${i} message ${n}`);
        n++;
      }
      return n;
    });
    try {
      for (const [name, attack, code, errorCode] of attacks) {
        const before = seen.length;
        const raw = await RawClient.connect(port);
        await eventually(() => seen.length === before + 1, 2000, name);
        const victim = seen[before] as Seen;
        raw.write(attack);
        await assertFailedWith(raw, victim, name, code, errorCode);
      }

      // Abrupt disconnect in the middle of a frame: no Close frame, a 1006 on our side.
      const before = seen.length;
      const raw = await RawClient.connect(port);
      await eventually(() => seen.length === before + 1);
      raw.write(clientFrame(2, bytes(1000)).subarray(0, 20));
      await sleep(20);
      raw.destroy();
      const c = await within((seen[before] as Seen).close, 2000, 'close after abrupt disconnect');
      assert.deepEqual([c.code, c.wasClean], [1006, false]);
      // A half-sent upgrade, then gone.
      const half = await RawClient.connect(port, { expect101: false }).catch(() => null);
      half?.destroy();

      stop = true;
      const counts = await within(Promise.all(loops), 5000, 'echo loops finish');
      for (const n of counts) assert.ok(n >= 20, `a healthy client echoed only ${n} messages`);
      for (const ws of healthy) assert.equal(ws.readyState, WebSocket.OPEN);
      await eventually(() => wss.clients.size === 3, 2000, 'only the healthy clients remain');
      assert.deepEqual(seen.slice(0, 3).map((s) => s.errors), [[], [], []]);
    } finally {
      stop = true;
      await Promise.allSettled(loops);
      await wss.close();
      await sleep(20);
      wire.uninstall();
    }
    assert.deepEqual(wire.errors, [], 'no uncaught exceptions or unhandled rejections');
  });
});

describe('hostile permessage-deflate input is isolated', () => {
  const MAX = 1024 * 1024;
  const DEFLATE = 'Sec-WebSocket-Extensions: permessage-deflate';
  /** A message compressed as RFC 7692 §7.2.1 says: sync-flushed, 00 00 ff ff stripped. */
  const compress = (data: Uint8Array | string): Uint8Array => {
    const out = deflateRawSync(typeof data === 'string' ? Buffer.from(data) : data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    assert.deepEqual([...out.subarray(-4)], [0x00, 0x00, 0xff, 0xff]);
    return new Uint8Array(out.subarray(0, -4));
  };
  const frag = (op: number, payload: Uint8Array, fin: boolean, rsv1: boolean): Uint8Array => clientFrame(op, payload, { fin, rsv1 });
  // 8 MiB of zeros shrinks to ~8 KiB: a small frame that inflates 8× past maxMessageSize.
  const bomb = compress(new Uint8Array(8 * MAX));
  // The same bomb cut into 32 fragments of ~256 KiB inflated each: no single
  // piece passes the limit, their sum does (the bound is per message, not per piece).
  const slices = Array.from({ length: 32 }, (_, i) => bomb.subarray(Math.floor((i * bomb.length) / 32), Math.floor(((i + 1) * bomb.length) / 32)));
  const hello = compress('hello, compressed');

  /** [name, bytes to send, close code expected in the server's Close frame, error code on the server]. */
  const attacks: Array<[string, Uint8Array, number, string]> = [
    ['decompression bomb in one frame', clientFrame(2, bomb, { rsv1: true }), 1009, 'WS_ERR_MESSAGE_TOO_BIG'],
    ['decompression bomb across 32 fragments', join(slices.map((s, i) => frag(i === 0 ? 2 : 0, s, i === 31, i === 0))), 1009, 'WS_ERR_MESSAGE_TOO_BIG'],
    // 0xff: BFINAL=1, BTYPE=11 (reserved): not DEFLATE. The codec documents 1007 for corrupt data.
    ['corrupt deflate data with RSV1', clientFrame(1, new Uint8Array([0xff, 0xff, 0xff, 0xff]), { rsv1: true }), 1007, 'WS_ERR_INFLATE_FAILED'],
    // RFC 7692 §6.1: RSV1 belongs on the first frame of a message only.
    ['RSV1 on a continuation frame', join([frag(1, hello.subarray(0, 5), false, true), frag(0, hello.subarray(5), true, true)]), 1002, 'WS_ERR_UNEXPECTED_RSV'],
  ];

  test('bombs, corrupt data and RSV1 on a continuation each get the right Close code; a deflate client keeps echoing', { timeout: 30_000 }, async () => {
    const wire = tripwire();
    const { wss, port, url, seen } = await server({ perMessageDeflate: true, maxMessageSize: MAX });
    let stop = false;
    const good = await WebSocket.connect(url, [], { perMessageDeflate: true });
    assert.match(good.extensions, /permessage-deflate/, 'the good client negotiated deflate');
    await eventually(() => seen.length === 1);
    let echoed = 0;
    const loop = (async () => {
      while (!stop) {
        // Sizes around the 1 KiB threshold: both compressed and plain messages, each way.
        const text = `${echoed}:` + 'ab'.repeat((echoed * 211) % 3000);
        good.send(text);
        assert.equal((await nextMessage(good, 3000)).data, text, `echo ${echoed}`);
        echoed++;
      }
    })();
    try {
      await eventually(() => echoed >= 10, 5000, 'echoes before the attacks');
      for (const [name, attack, code, errorCode] of attacks) {
        const before = seen.length;
        const raw = await RawClient.connect(port, { headers: [DEFLATE] });
        assert.match(raw.head, /\r\nSec-WebSocket-Extensions: permessage-deflate/i, `${name}: deflate accepted`);
        await eventually(() => seen.length === before + 1, 2000, name);
        const victim = seen[before] as Seen;
        // A well-formed compressed message first, fragmented with RSV1 on the first
        // frame only: deflate really works on this connection, and the continuation
        // attack below differs from it by one bit.
        raw.write(join([frag(1, hello.subarray(0, 5), false, true), frag(0, hello.subarray(5), true, false)]));
        await within(raw.until(() => raw.frames.length === 1), 2000, `${name}: echo of a valid compressed message`);
        const echo = raw.frames[0] as RawFrame;
        assert.equal(echo.rsv1 ? inflateRawSync(Buffer.concat([echo.payload, Buffer.from([0, 0, 0xff, 0xff])])).toString() : echo.payload.toString(), 'hello, compressed');
        raw.write(attack);
        await assertFailedWith(raw, victim, name, code, errorCode);
      }
      const afterAttacks = echoed;
      await eventually(() => echoed >= afterAttacks + 10, 5000, 'echoes after the attacks');
      stop = true;
      await within(loop, 5000, 'echo loop finishes');
      assert.equal(good.readyState, WebSocket.OPEN);
      await eventually(() => wss.clients.size === 1, 2000, 'only the good client remains');
      assert.deepEqual((seen[0] as Seen).errors, []);
    } finally {
      stop = true;
      await Promise.allSettled([loop]);
      await wss.close();
      await sleep(20);
      wire.uninstall();
    }
    assert.deepEqual(wire.errors, [], 'no uncaught exceptions or unhandled rejections');
  });
});

describe('send queue bound', () => {
  /** A server with `maxBufferedAmount: max` and one raw client that does not read; `body` gets both ends. */
  async function withStalledPeer(max: number, body: (ws: WebSocketConnection, raw: RawClient) => Promise<void>): Promise<void> {
    const { wss, port, seen } = await server({ maxBufferedAmount: max }, false);
    try {
      const raw = await RawClient.connect(port);
      raw.socket.pause();
      await eventually(() => seen.length === 1);
      await body((seen[0] as Seen).ws, raw);
    } finally {
      await wss.close();
    }
  }

  test('a peer that floods pings and never reads: pongs stay within maxBufferedAmount (reading stops until they drain)', T, async () => {
    const MAX = 64 * 1024;
    await withStalledPeer(MAX, async (ws, raw) => {
      // 100,000 masked pings with 125-byte payloads: 13 MB of pongs to send back.
      const ping = clientFrame(Opcode.PING, new Uint8Array(125).fill(0x61));
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
      let peak = 0;
      for (let i = 0; i < 100; i++) {
        if (!raw.socket.write(batch)) await Promise.race([new Promise((r) => raw.socket.once('drain', r)), sleep(50)]);
        peak = Math.max(peak, ws.bufferedAmount);
      }
      await sleep(200);
      peak = Math.max(peak, ws.bufferedAmount);
      // One read's worth of pongs may pass the limit before reading stops.
      assert.ok(peak <= MAX + 128 * 1024, `send queue peaked at ${peak} B`);
      assert.equal(ws.readyState, 1);
      // Reading again drains the pongs, and the server reads the pings again.
      raw.socket.resume();
      await within(raw.until(() => raw.frames.length >= 100_000), 20_000, 'every pong');
      assert.ok(raw.frames.every((f) => f.opcode === Opcode.PONG && f.payload.length === 125));
      raw.destroy();
    });
  });

  test('every way of sending is bounded, not only send(): sendFrame, fragments, endMessage, ping, pong', T, async () => {
    const MAX = 256 * 1024;
    await withStalledPeer(MAX, async (ws, raw) => {
      const isFull = (e: unknown): boolean => e instanceof WebSocketError && e.code === 'WS_ERR_SEND_QUEUE_FULL';
      // Fill the kernel's buffers, then the queue, then the queue's last bytes.
      for (let i = 0; i < 2000; i++) {
        try {
          ws.send(new Uint8Array(60_000));
        } catch (err) {
          assert.ok(isFull(err));
          break;
        }
        if (i % 4 === 3) await new Promise((r) => setImmediate(r));
      }
      const rest = MAX - ws.bufferedAmount;
      if (rest > 0) ws.send(new Uint8Array(rest));
      assert.ok(ws.bufferedAmount >= MAX, `bufferedAmount ${ws.bufferedAmount}`);
      assert.throws(() => ws.sendFrame(2, new Uint8Array(1)), isFull, 'sendFrame');
      assert.throws(() => ws.ping('x'), isFull, 'ping');
      assert.throws(() => ws.pong('x'), isFull, 'pong');
      ws.beginMessage(true);
      assert.throws(() => ws.sendFragment(new Uint8Array(1)), isFull, 'sendFragment');
      assert.throws(() => ws.endMessage(new Uint8Array(1)), isFull, 'endMessage with data');
      assert.equal(ws.readyState, 1, 'refusing is not failing: the connection stays open');
      raw.destroy();
    });
  });

  test('send() throws WS_ERR_SEND_QUEUE_FULL when the peer stops reading; drain fires once it reads; nothing lost or reordered', T, async () => {
    const MAX = 256 * 1024;
    const SIZE = 60_000;
    await withStalledPeer(MAX, async (ws, raw) => {
      let drains = 0;
      ws.addEventListener('drain', () => drains++);
      let sent = 0;
      let full: unknown = null;
      // The kernel's socket buffers absorb a few MB first; then the user-space queue fills.
      while (sent < 2000) {
        const msg = new Uint8Array(SIZE).fill(sent & 0xff);
        new DataView(msg.buffer).setUint32(0, sent);
        try {
          ws.send(msg);
        } catch (err) {
          full = err;
          break;
        }
        sent++;
        if (sent % 4 === 0) await new Promise((r) => setImmediate(r));
      }
      assert.ok(full instanceof WebSocketError, `send never refused after ${sent} messages`);
      assert.equal(full.code, 'WS_ERR_SEND_QUEUE_FULL');
      assert.ok(sent > MAX / SIZE, `only ${sent} messages before the queue filled: the kernel buffers took none?`);
      assert.ok(ws.bufferedAmount > MAX - SIZE - 16 && ws.bufferedAmount <= MAX, `bufferedAmount ${ws.bufferedAmount}`);
      // Still full while the peer does not read.
      assert.throws(() => ws.send(new Uint8Array(SIZE)), (e: WebSocketError) => e.code === 'WS_ERR_SEND_QUEUE_FULL');
      assert.equal(drains, 0);
      assert.equal(ws.readyState, 1);

      raw.socket.resume();
      await within(new Promise<void>((r) => ws.addEventListener('drain', () => r())), 5000, 'drain event');
      assert.equal(drains, 1);
      assert.equal(ws.bufferedAmount, 0);
      assert.equal(ws.send('after drain'), true);
      await within(raw.until(() => raw.frames.length === sent + 1), 5000, 'all frames arrive');
      for (let i = 0; i < sent; i++) {
        const f = raw.frames[i];
        assert.ok(f && f.opcode === 2 && f.payload.length === SIZE && f.payload.readUInt32BE(0) === i, `frame ${i} in order`);
      }
      const last = raw.frames[sent];
      assert.deepEqual([last?.opcode, last?.payload.toString()], [1, 'after drain']);
      raw.destroy();
    });
  });
});

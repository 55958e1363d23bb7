/**
 * SocketTransport over a real TCP socket pair (127.0.0.1): a tick's writes
 * leave as one socket write, large batches complete and in order, pending
 * bytes count in bufferedAmount, end() flushes before FIN, destroy() drops
 * them; socket events reach the connection. And the Node runtime hooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type Server } from 'node:net';
import { once } from 'node:events';
import { SocketTransport, nodeHooks } from '../../../../src/adapters/node/transport.js';
import { applyMask } from '../../../../src/core/ws/mask.js';
import type { WebSocketConnection } from '../../../../src/connection.js';

// ---------------------------------------------------------------- helpers

/** The connection side SocketTransport calls, recording what it was told. */
class StubConnection {
  received: Buffer[] = [];
  drained = 0;
  closed: Array<{ error: unknown }> = [];
  receive(chunk: Uint8Array): void {
    this.received.push(Buffer.from(chunk));
  }
  transportDrained(): void {
    this.drained++;
  }
  transportClosed(error?: unknown): void {
    this.closed.push({ error });
  }
}

interface Pair {
  /** Our side, wrapped in a SocketTransport. */
  socket: Socket;
  t: SocketTransport;
  conn: StubConnection;
  /** The far end, a plain socket. */
  peer: Socket;
  /** Every 'data' event the peer got, in order. */
  peerChunks: Buffer[];
  /** socket.write calls made by the transport: their byte lengths. */
  writes: number[];
  done: () => Promise<void>;
}

/** A connected TCP pair on 127.0.0.1 with a SocketTransport on the client end. */
async function pair(): Promise<Pair> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const [peer] = await accepted;
  const peerChunks: Buffer[] = [];
  peer.on('data', (c: Buffer) => peerChunks.push(c));
  peer.on('error', () => undefined);
  const writes: number[] = [];
  const realWrite = socket.write.bind(socket) as (chunk: Uint8Array) => boolean;
  (socket as unknown as { write: (c: Uint8Array) => boolean }).write = (c: Uint8Array) => {
    writes.push(c.length);
    return realWrite(c);
  };
  const conn = new StubConnection();
  const t = new SocketTransport(socket, conn as unknown as WebSocketConnection);
  return {
    socket,
    t,
    conn,
    peer,
    peerChunks,
    writes,
    done: async () => {
      socket.destroy();
      peer.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Resolves once the peer has received at least `n` bytes in all. */
async function peerReceived(p: Pair, n: number): Promise<Buffer> {
  const deadline = Date.now() + 3000;
  while (Buffer.concat(p.peerChunks).length < n) {
    if (Date.now() > deadline) throw new Error(`peer got ${Buffer.concat(p.peerChunks).length} of ${n} bytes`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return Buffer.concat(p.peerChunks);
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

function chunk(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);
}

// ---------------------------------------------------------------- batching

test('several writes in one tick leave as ONE socket write, arriving in order as one segment', async () => {
  const p = await pair();
  try {
    const parts = [chunk(3, 1), chunk(40, 2), chunk(1, 3), chunk(125, 4), Buffer.from('tail')];
    for (const c of parts) p.t.write(c);
    assert.deepEqual(p.writes, [], 'nothing written before the tick ends');
    const expected = Buffer.concat(parts);
    const got = await peerReceived(p, expected.length);
    assert.deepEqual(got, expected);
    assert.deepEqual(p.writes, [expected.length], 'one write of the joined batch');
    // One small write on loopback arrives as one 'data' event.
    assert.equal(p.peerChunks.length, 1);
  } finally {
    await p.done();
  }
});

test('a single write in a tick is handed over as is; writes in later ticks form new batches', async () => {
  const p = await pair();
  try {
    p.t.write(Buffer.from('one'));
    await tick();
    assert.deepEqual(p.writes, [3]);
    p.t.write(Buffer.from('two'));
    p.t.write(Buffer.from('three'));
    await tick();
    assert.deepEqual(p.writes, [3, 8]);
    assert.equal((await peerReceived(p, 11)).toString(), 'onetwothree');
  } finally {
    await p.done();
  }
});

test('more than 64 KiB written in one tick still arrives complete and in order (corked list)', async () => {
  const p = await pair();
  try {
    const parts = [chunk(10, 1), chunk(70_000, 2), chunk(5, 3), chunk(200_000, 4), chunk(1, 5), chunk(64 * 1024, 6)];
    for (const c of parts) p.t.write(c);
    const total = parts.reduce((n, c) => n + c.length, 0);
    assert.equal(p.t.bufferedAmount, total);
    const got = await peerReceived(p, total);
    assert.equal(got.length, total);
    assert.ok(got.equals(Buffer.concat(parts)), 'bytes in write order');
    assert.deepEqual(p.writes, parts.map((c) => c.length), 'each chunk written (no 330 kB copy)');
  } finally {
    await p.done();
  }
});

test('a batch of exactly 64 KiB is still joined into one write', async () => {
  const p = await pair();
  try {
    const parts = [chunk(32 * 1024, 1), chunk(32 * 1024, 2)];
    for (const c of parts) p.t.write(c);
    const got = await peerReceived(p, 64 * 1024);
    assert.ok(got.equals(Buffer.concat(parts)));
    assert.deepEqual(p.writes, [64 * 1024]);
  } finally {
    await p.done();
  }
});

test('bufferedAmount counts bytes written this tick before the flush', async () => {
  const p = await pair();
  try {
    assert.equal(p.t.bufferedAmount, 0);
    p.t.write(chunk(10, 1));
    assert.equal(p.t.bufferedAmount, 10);
    p.t.write(chunk(25, 2));
    assert.equal(p.t.bufferedAmount, 35);
    await tick();
    // Handed to the socket: what remains is the socket's own buffer.
    assert.equal(p.t.bufferedAmount, p.socket.writableLength);
    await peerReceived(p, 35);
    assert.equal(p.t.bufferedAmount, 0);
  } finally {
    await p.done();
  }
});

test('after a flush that leaves the socket buffer empty, the connection is told it drained', async () => {
  const p = await pair();
  try {
    p.t.write(chunk(100, 1));
    assert.equal(p.conn.drained, 0);
    await tick();
    // 100 bytes on loopback go to the kernel at once: the socket buffer is empty after the write.
    assert.equal(p.socket.writableLength, 0);
    assert.equal(p.conn.drained, 1);
    await peerReceived(p, 100);
    // A flush with nothing pending does nothing.
    p.t.flush();
    assert.deepEqual(p.writes, [100]);
  } finally {
    await p.done();
  }
});

// ---------------------------------------------------------------- end and destroy

test('end() flushes the pending bytes before the FIN', async () => {
  const p = await pair();
  try {
    const parts = [Buffer.from('last '), Buffer.from('words'), chunk(1000, 7)];
    for (const c of parts) p.t.write(c);
    p.t.end();
    assert.equal(p.t.bufferedAmount, p.socket.writableLength, 'nothing left pending');
    await once(p.peer, 'end');
    assert.ok(Buffer.concat(p.peerChunks).equals(Buffer.concat(parts)), 'every byte before the FIN');
    // The scheduled flush finds nothing to do; a second end() is harmless.
    await tick();
    p.t.end();
    assert.deepEqual(p.writes, [Buffer.concat(parts).length]);
  } finally {
    await p.done();
  }
});

test('destroy() drops pending bytes: the peer gets nothing but the close', async () => {
  const p = await pair();
  try {
    p.t.write(Buffer.from('never sent'));
    p.t.destroy();
    assert.equal(p.t.bufferedAmount, 0);
    await once(p.peer, 'close');
    await tick();
    assert.deepEqual(p.peerChunks, []);
    assert.deepEqual(p.writes, []);
    // Writes after destroy go nowhere and do not throw.
    p.t.write(Buffer.from('x'));
    await tick();
    assert.deepEqual(p.writes, []);
  } finally {
    await p.done();
  }
});

// ---------------------------------------------------------------- socket events → connection

test('received bytes reach conn.receive, in order', async () => {
  const p = await pair();
  try {
    p.peer.write('hello ');
    p.peer.write(Buffer.from(chunk(50_000, 3)));
    const want = Buffer.concat([Buffer.from('hello '), Buffer.from(chunk(50_000, 3))]);
    const deadline = Date.now() + 3000;
    while (Buffer.concat(p.conn.received).length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.ok(Buffer.concat(p.conn.received).equals(want));
  } finally {
    await p.done();
  }
});

test('pause() stops delivery, resume() restarts it', async () => {
  const p = await pair();
  try {
    p.t.pause();
    p.peer.write('while paused');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(p.conn.received, []);
    p.t.resume();
    const deadline = Date.now() + 3000;
    while (p.conn.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.equal(Buffer.concat(p.conn.received).toString(), 'while paused');
  } finally {
    await p.done();
  }
});

test('the peer half-closing makes the transport end too; conn.transportClosed is called once without an error', async () => {
  const p = await pair();
  try {
    p.t.write(Buffer.from('bye'));
    p.peer.end();
    await once(p.socket, 'close');
    assert.deepEqual(p.conn.closed, [{ error: undefined }]);
    await once(p.peer, 'end');
    assert.equal(Buffer.concat(p.peerChunks).toString(), 'bye', 'pending bytes flushed before our FIN');
  } finally {
    await p.done();
  }
});

test('a reset by the peer reaches conn.transportClosed with the socket error', async () => {
  const p = await pair();
  try {
    // (events.once would reject on the 'error' that precedes 'close'.)
    const closed = new Promise((r) => p.socket.once('close', r));
    p.peer.resetAndDestroy();
    await closed;
    assert.equal(p.conn.closed.length, 1);
    const err = p.conn.closed[0]?.error as NodeJS.ErrnoException | undefined;
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(p.t.lastError, err);
  } finally {
    await p.done();
  }
});

test('socket listeners are shared functions, not closures per connection', async () => {
  const a = await pair();
  const b = await pair();
  try {
    for (const ev of ['data', 'drain', 'end', 'error', 'close'] as const) {
      // net.Socket may have listeners of its own (its 'end' handler): ours is the last one added.
      const la = a.socket.listeners(ev);
      const lb = b.socket.listeners(ev);
      assert.equal(la.length, lb.length, ev);
      assert.equal(typeof la.at(-1), 'function', ev);
      assert.equal(la.at(-1), lb.at(-1), ev);
    }
    // Each socket still reaches its own connection.
    a.peer.write('to a');
    b.peer.write('to b');
    const deadline = Date.now() + 3000;
    while ((a.conn.received.length === 0 || b.conn.received.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.equal(Buffer.concat(a.conn.received).toString(), 'to a');
    assert.equal(Buffer.concat(b.conn.received).toString(), 'to b');
  } finally {
    await a.done();
    await b.done();
  }
});

// ---------------------------------------------------------------- nodeHooks

test('nodeHooks.alloc returns a Buffer of the size asked', () => {
  for (const n of [0, 1, 14, 8192, 100_000]) {
    const b = nodeHooks.alloc(n);
    assert.ok(Buffer.isBuffer(b));
    assert.equal(b.length, n);
  }
});

test('nodeHooks.encodeText / decodeText round-trip, also from a plain Uint8Array view', () => {
  for (const s of ['', 'hello', 'héllo wörld', '€ and 𝄞 and 😀', 'x'.repeat(10_000)]) {
    const bytes = nodeHooks.encodeText(s);
    assert.deepEqual(new Uint8Array(bytes), new TextEncoder().encode(s));
    assert.equal(nodeHooks.decodeText(bytes), s);
    // A non-Buffer view into a larger buffer decodes only its own bytes.
    const backing = new Uint8Array(bytes.length + 6).fill(0x41);
    backing.set(bytes, 3);
    assert.equal(nodeHooks.decodeText(backing.subarray(3, 3 + bytes.length)), s);
  }
  // Lone surrogates become U+FFFD, as TextEncoder does.
  assert.equal(nodeHooks.decodeText(nodeHooks.encodeText('a\ud800b')), 'a\ufffdb');
});

test('nodeHooks.isUtf8 accepts valid UTF-8 and rejects invalid input', () => {
  assert.equal(nodeHooks.isUtf8(new Uint8Array(0)), true);
  assert.equal(nodeHooks.isUtf8(new TextEncoder().encode('€ 𝄞 ok')), true);
  for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82], [0x80]]) {
    assert.equal(nodeHooks.isUtf8(new Uint8Array(bad)), false, Buffer.from(bad).toString('hex'));
  }
  // On a subarray, only the view's bytes count.
  const v = new Uint8Array([0xff, 0x61, 0x62, 0xff]);
  assert.equal(nodeHooks.isUtf8(v.subarray(1, 3)), true);
});

test('nodeHooks.maskKey fills 4 bytes with varying keys, across pool refills', () => {
  const seen = new Set<string>();
  const out = new Uint8Array(6).fill(0xaa);
  const n = 5000; // the pool holds 2048 keys: this crosses two refills
  for (let i = 0; i < n; i++) {
    out[4] = 0xaa;
    out[5] = 0xaa;
    nodeHooks.maskKey(out);
    assert.equal(out[4], 0xaa, 'writes only 4 bytes');
    assert.equal(out[5], 0xaa);
    seen.add(Buffer.from(out.subarray(0, 4)).toString('hex'));
  }
  // 5000 random 32-bit keys: a handful of collisions at most.
  assert.ok(seen.size > n - 10, `${seen.size} distinct keys of ${n}`);
  // Consecutive keys differ.
  const a = new Uint8Array(4);
  const b = new Uint8Array(4);
  nodeHooks.maskKey(a);
  nodeHooks.maskKey(b);
  assert.notDeepEqual(a, b);
});

test('nodeHooks.unmask (native bufferutil above 1 KiB when it loads) equals applyMask at every key phase', () => {
  const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  for (const size of [0, 1, 127, 1023, 1024, 1025, 5000, 70_000]) {
    for (let phase = 0; phase < 4; phase++) {
      const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31) & 0xff));
      const a = Buffer.from(data);
      const b = Buffer.from(data);
      applyMask(a, key, phase);
      nodeHooks.unmask(b, key, phase);
      assert.ok(a.equals(b), `size ${size} phase ${phase}`);
    }
  }
});

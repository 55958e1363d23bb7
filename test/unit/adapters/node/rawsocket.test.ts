/**
 * The Node RawSocket adapter over real sockets: TCP, TLS (a throw-away
 * self-signed certificate from the `openssl` binary) and a Unix socket path
 * under os.tmpdir(); handshake refusals, limits, PING/PONG and heartbeat,
 * close mapping, send queue and drain. Every test is bounded in time and
 * closes what it opens.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as createNetServer, type Server, type Socket, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import {
  RawSocketServer,
  acceptRawSocket,
  connectRawSocket,
  type RawSocketTransport,
} from '../../../../src/adapters/node/rawsocket.js';
import { RawSocketError } from '../../../../src/core/rawsocket/errors.js';
import { encodeFrame, encodeFrameHeader } from '../../../../src/core/rawsocket/frame.js';
import type { WampMessage } from '../../../../src/wamp/messages.js';
import type { WampTransportCloseInfo } from '../../../../src/wamp/transport.js';
import { SerializationError } from '../../../../src/wamp/serializers/types.js';
import { selfSignedCert, sleep, tripwire, within } from './_util.js';

const wire = tripwire();
after(() => {
  wire.uninstall();
  assert.deepEqual(wire.errors, [], 'no uncaught exceptions or unhandled rejections');
});

const HELLO: WampMessage = { type: 1, realm: 'realm1', details: { roles: { caller: {} } } };
const ABORT: WampMessage = { type: 3, details: {}, reason: 'wamp.error.no_such_realm' };

/** A transport's deliveries, recorded; `next()` waits for the next message. */
interface Peer {
  t: RawSocketTransport;
  messages: WampMessage[];
  protocolErrors: Error[];
  drains: number;
  closed: Promise<WampTransportCloseInfo>;
  next(ms?: number): Promise<WampMessage>;
}

function attach(t: RawSocketTransport, onMessage?: (m: WampMessage, p: Peer) => void): Peer {
  let waiting: ((m: WampMessage) => void) | null = null;
  let read = 0;
  let onClosed!: (i: WampTransportCloseInfo) => void;
  const peer: Peer = {
    t,
    messages: [],
    protocolErrors: [],
    drains: 0,
    closed: new Promise((r) => (onClosed = r)),
    next: (ms = 3000) => {
      if (read < peer.messages.length) return Promise.resolve(peer.messages[read++] as WampMessage);
      return within(new Promise<WampMessage>((r) => (waiting = (m) => { read++; r(m); })), ms, 'next message');
    },
  };
  t.open({
    onMessage: (m) => {
      peer.messages.push(m);
      onMessage?.(m, peer);
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(m);
      }
    },
    onProtocolError: (e) => void peer.protocolErrors.push(e),
    onClose: (i) => onClosed(i),
    onDrain: () => void peer.drains++,
  });
  return peer;
}

/** A server whose transports answer every message with ABORT (or run `onMessage`). */
async function echoServer(options: ConstructorParameters<typeof RawSocketServer>[0] = {}, onMessage?: (m: WampMessage, p: Peer) => void) {
  const peers: Peer[] = [];
  const server = new RawSocketServer({ port: 0, ...options }, (t) => {
    peers.push(attach(t, onMessage ?? ((m, p) => p.t.send(m.type === 1 ? ABORT : m))));
  });
  await server.ready();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { server, port, peers };
}

/** A bare socket client: writes what it is told, records what comes back. */
function rawClient(port: number): Promise<{ s: Socket; data: () => Buffer; closed: Promise<void>; waitBytes: (n: number, ms?: number) => Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const s = netConnect({ host: '127.0.0.1', port });
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.on('error', () => {});
    s.on('data', (c: Buffer) => parts.push(c));
    s.once('connect', () =>
      resolve({
        s,
        data: () => Buffer.concat(parts),
        closed,
        waitBytes: async (n, ms = 3000) => {
          const end = Date.now() + ms;
          while (Buffer.concat(parts).length < n) {
            if (Date.now() > end) throw new Error(`wanted ${n} bytes, got ${Buffer.concat(parts).length}`);
            await sleep(5);
          }
          return Buffer.concat(parts);
        },
      }),
    );
    s.once('error', reject);
  });
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<RawSocketError> {
  const err = await within(p.then(() => null, (e: unknown) => e), 5000, code);
  assert.ok(err instanceof RawSocketError, `expected RawSocketError ${code}, got ${String(err)}`);
  assert.equal(err.code, code);
  return err;
}

test('TCP: a WAMP exchange in each serializer; info describes the channel', async () => {
  const { server, port, peers } = await echoServer();
  try {
    for (const serializer of ['json', 'msgpack', 'cbor'] as const) {
      const t = await within(connectRawSocket({ host: '127.0.0.1', port, serializer }), 5000, 'connect');
      assert.equal(t.info.type, 'rawsocket');
      assert.equal(t.info.serializer, serializer);
      assert.equal(t.info.protocol, `wamp.2.${serializer}`);
      assert.equal(t.info.secure, false);
      assert.match(t.info.peer ?? '', /^tcp4:127\.0\.0\.1:\d+$/);
      const c = attach(t);
      c.t.send(HELLO);
      assert.deepEqual(await c.next(), ABORT);
      // Binary payloads survive every serializer (JSON as "\0"+Base64).
      const call: WampMessage = { type: 48, request: 7, options: {}, procedure: 'com.x', args: [new Uint8Array([0, 1, 255]), 'ü€😀'] };
      c.t.send(call);
      assert.deepEqual(await c.next(), call);
      const sp = peers.at(-1) as Peer;
      assert.equal(sp.t.info.serializer, serializer);
      assert.match(sp.t.info.peer ?? '', /^tcp4:127\.0\.0\.1:\d+$/);
      c.t.close(1000, 'done');
      assert.deepEqual(await within(c.closed, 3000, 'client close'), { code: 1000, reason: 'done', wasClean: true });
      assert.deepEqual(await within(sp.closed, 3000, 'server close'), { code: 1000, reason: '', wasClean: true });
    }
  } finally {
    await server.close();
  }
});

test('Unix socket path: exchange and close; peer is "unix"', async () => {
  const dir = mkdtempSync(joinPath(tmpdir(), 'autostrada-rs-'));
  const path = joinPath(dir, 'wamp.sock');
  const server = new RawSocketServer({ path }, (t) => {
    attach(t, (m, p) => p.t.send(m.type === 1 ? ABORT : m));
  });
  try {
    await server.ready();
    assert.equal(server.address(), path);
    const t = await within(connectRawSocket({ path, serializer: 'msgpack' }), 5000, 'connect unix');
    assert.equal(t.info.peer, 'unix');
    const c = attach(t);
    c.t.send(HELLO);
    assert.deepEqual(await c.next(), ABORT);
    c.t.close();
    assert.equal((await within(c.closed, 3000, 'close')).wasClean, true);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const cert = selfSignedCert();

test('TLS: exchange over RawSocket-over-TLS; both ends see secure and the same channel binding', { skip: cert === null ? 'the openssl binary is missing' : false }, async () => {
  const { key, cert: pem } = cert as { key: string; cert: string };
  const { server, port, peers } = await echoServer({ tls: { key, cert: pem } });
  try {
    const t = await within(connectRawSocket({ host: '127.0.0.1', port, serializer: 'cbor', tls: { ca: pem, servername: 'localhost' } }), 5000, 'connect tls');
    const c = attach(t);
    c.t.send(HELLO);
    assert.deepEqual(await c.next(), ABORT);
    const sp = peers[0] as Peer;
    assert.equal(c.t.info.secure, true);
    assert.equal(sp.t.info.secure, true);
    const a = c.t.info.channelBinding;
    const b = sp.t.info.channelBinding;
    assert.ok(a && b, 'channel binding on both ends');
    assert.equal(a.type, b.type);
    assert.ok(a.type === 'tls-exporter' || a.type === 'tls-unique');
    assert.ok(a.data.length > 0);
    assert.deepEqual([...a.data], [...b.data]);
    c.t.close();
    await within(c.closed, 3000, 'close');
    // An untrusted certificate fails the connect, with the TLS error as cause.
    const err = await rejectsWith(connectRawSocket({ host: '127.0.0.1', port, tls: true }), 'RAWSOCKET_ERR_CONNECT_FAILED');
    assert.ok(err.cause instanceof Error);
  } finally {
    await server.close();
  }
});

test('refusals reach the client as stable codes: serializer unsupported, length unacceptable, connection limit', async () => {
  const a = await echoServer({ serializers: ['cbor'] });
  const b = await echoServer({ minPeerMaxLength: 1 << 20 });
  const c = await echoServer({ maxConnections: 1 });
  try {
    const e1 = await rejectsWith(connectRawSocket({ port: a.port, serializer: 'json' }), 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED');
    assert.equal(e1.handshakeError, 1);
    const e2 = await rejectsWith(connectRawSocket({ port: b.port, maxMessageSize: 1024 }), 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE');
    assert.equal(e2.handshakeError, 2);
    const first = await within(connectRawSocket({ port: c.port }), 5000, 'first');
    const e4 = await rejectsWith(connectRawSocket({ port: c.port }), 'RAWSOCKET_ERR_MAX_CONNECTIONS');
    assert.equal(e4.handshakeError, 4);
    first.close();
    await sleep(50);
    const again = await within(connectRawSocket({ port: c.port }), 5000, 'after the first left');
    again.close();
  } finally {
    await Promise.all([a.server.close(), b.server.close(), c.server.close()]);
  }
});

test('raw clients: reserved handshake bits get error 3; an HTTP request gets no reply; both are closed', async () => {
  const { server, port } = await echoServer();
  const errors: string[] = [];
  server.on('handshakeError', (e) => errors.push(e.code));
  try {
    const r1 = await rawClient(port);
    r1.s.write(Uint8Array.of(0x7f, 0xf1, 0x01, 0));
    await within(r1.closed, 3000, 'closed after error 3');
    assert.deepEqual([...r1.data()], [0x7f, 0x30, 0, 0]);
    const r2 = await rawClient(port);
    r2.s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await within(r2.closed, 3000, 'closed after bad magic');
    assert.equal(r2.data().length, 0);
    assert.deepEqual(errors.sort(), ['RAWSOCKET_ERR_BAD_MAGIC', 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS']);
  } finally {
    await server.close();
  }
});

test('handshake timeouts: a silent client is dropped; a silent router fails the connect', async () => {
  const { server, port } = await echoServer({ handshakeTimeout: 100 });
  const errors: string[] = [];
  server.on('handshakeError', (e) => errors.push(e.code));
  const silent: Server = createNetServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await rawClient(port);
    r.s.write(Uint8Array.of(0x7f)); // 1 of 4 octets, then nothing
    await within(r.closed, 3000, 'dropped');
    assert.deepEqual(errors, ['RAWSOCKET_ERR_HANDSHAKE_TIMEOUT']);
    const silentPort = (silent.address() as AddressInfo).port;
    await rejectsWith(connectRawSocket({ port: silentPort, handshakeTimeout: 100 }), 'RAWSOCKET_ERR_HANDSHAKE_TIMEOUT');
  } finally {
    await server.close();
    silent.close();
  }
});

test('connect failures: refused port, abort signal', async () => {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const freePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const err = await rejectsWith(connectRawSocket({ host: '127.0.0.1', port: freePort }), 'RAWSOCKET_ERR_CONNECT_FAILED');
  assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  const ac = new AbortController();
  ac.abort();
  await rejectsWith(connectRawSocket({ port: freePort, signal: ac.signal }), 'RAWSOCKET_ERR_CONNECT_FAILED');
});

test('acceptRawSocket with firstBytes: a listener that sniffed 0x7F hands over the octets it read', async () => {
  const transports: Promise<RawSocketTransport>[] = [];
  const shared = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (chunk[0] !== 0x7f) {
        socket.destroy();
        return;
      }
      transports.push(acceptRawSocket(socket, { firstBytes: new Uint8Array(chunk), serializers: ['json'] }));
    });
  });
  await new Promise<void>((r) => shared.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await rawClient((shared.address() as AddressInfo).port);
    // Handshake and a first message in one write: both are in firstBytes.
    const hello = Buffer.from(JSON.stringify([1, 'realm1', {}]));
    r.s.write(Buffer.concat([Buffer.from([0x7f, 0xf1, 0, 0]), encodeFrame(0, hello)]));
    await within((async () => { while (transports.length === 0) await sleep(5); })(), 3000, 'accepted');
    const t = await within(transports[0] as Promise<RawSocketTransport>, 3000, 'handshake');
    const p = attach(t);
    assert.deepEqual(await p.next(), { type: 1, realm: 'realm1', details: {} });
    // The reply came back, and the socket reads on after the pause.
    assert.deepEqual([...(await r.waitBytes(4)).subarray(0, 4)], [0x7f, 0xf1, 0, 0]);
    r.s.write(encodeFrame(0, Buffer.from(JSON.stringify([6, {}, 'wamp.close.normal']))));
    assert.equal((await p.next()).type, 6);
    r.s.end();
    assert.deepEqual(await within(p.closed, 3000, 'closed'), { code: 1000, reason: '', wasClean: true });
  } finally {
    await new Promise<void>((r) => shared.close(() => r()));
  }
});

/** A raw client that completed a handshake (JSON, receive limit 2^(9+l)). */
async function handshaken(port: number, l = 15) {
  const r = await rawClient(port);
  r.s.write(Uint8Array.of(0x7f, (l << 4) | 1, 0, 0));
  await r.waitBytes(4);
  return r;
}

test('limits: more than our announced maximum closes with 1009; a send over the peer\'s limit throws and sends nothing', async () => {
  const { server, port, peers } = await echoServer({ maxMessageSize: 1000 });
  try {
    const r = await handshaken(port, 0); // we (the raw client) accept 512 octets
    assert.deepEqual([...r.data()], [0x7f, 0x11, 0, 0]); // server announced 1024
    await within((async () => { while (peers.length === 0) await sleep(5); })(), 3000, 'server transport');
    const sp = peers[0] as Peer;
    assert.equal(sp.t.maxSendLength, 512);
    assert.equal(sp.t.maxReceiveLength, 1024);
    const big: WampMessage = { type: 3, details: { message: 'x'.repeat(600) }, reason: 'wamp.error.x' };
    assert.throws(() => sp.t.send(big), (e: unknown) => e instanceof SerializationError && (e.cause as RawSocketError).code === 'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED');
    assert.equal(sp.t.isOpen, true);
    await sleep(20);
    assert.equal(r.data().length, 4, 'nothing sent');
    r.s.write(encodeFrameHeader(0, 1025));
    const info = await within(sp.closed, 3000, 'closed');
    assert.equal(info.code, 1009);
    assert.equal(info.wasClean, false);
    assert.equal((info.error as RawSocketError).code, 'RAWSOCKET_ERR_MESSAGE_TOO_BIG');
    await within(r.closed, 3000, 'raw closed');
  } finally {
    await server.close();
  }
});

test('framing violations close with 1002; a peer gone mid-frame closes with 1006', async () => {
  const { server, port, peers } = await echoServer();
  try {
    const r1 = await handshaken(port);
    r1.s.write(Uint8Array.of(0x20, 0, 0, 1, 0x5b)); // reserved bit
    const r2 = await handshaken(port);
    r2.s.write(Uint8Array.of(0x05, 0, 0, 0)); // reserved type 5
    const r3 = await handshaken(port);
    r3.s.end(encodeFrame(0, Buffer.from('[1,"realm1",{}]')).subarray(0, 7)); // FIN inside a frame
    await within((async () => { while (peers.length < 3) await sleep(5); })(), 3000, 'three transports');
    const infos = await within(Promise.all(peers.map((p) => p.closed)), 3000, 'closed');
    const byCode = infos.map((i) => [i.code, (i.error as RawSocketError).code]).sort();
    assert.deepEqual(byCode, [
      [1002, 'RAWSOCKET_ERR_FRAME_RESERVED_BITS'],
      [1002, 'RAWSOCKET_ERR_INVALID_FRAME_TYPE'],
      [1006, 'RAWSOCKET_ERR_CONNECTION_LOST'],
    ]);
    assert.ok(infos.every((i) => !i.wasClean));
  } finally {
    await server.close();
  }
});

test('undecodable or invalid WAMP reaches onProtocolError and the transport stays open for ABORT', async () => {
  const { server, port, peers } = await echoServer({}, () => {});
  try {
    const r = await handshaken(port);
    r.s.write(encodeFrame(0, Buffer.from('[1, "realm1"'))); // truncated JSON
    r.s.write(encodeFrame(0, Buffer.from('[999]'))); // unknown type
    await within((async () => { while ((peers[0]?.protocolErrors.length ?? 0) < 2) await sleep(5); })(), 3000, 'protocol errors');
    const sp = peers[0] as Peer;
    assert.equal(sp.t.isOpen, true);
    sp.t.send({ type: 3, details: {}, reason: 'wamp.error.protocol_violation' });
    sp.t.close(1002, 'protocol violation');
    await within(r.closed, 3000, 'raw closed');
    const abort = r.data().subarray(4);
    assert.equal(abort.readUInt32BE(0), abort.length - 4);
    assert.deepEqual(JSON.parse(abort.subarray(4).toString()), [3, {}, 'wamp.error.protocol_violation']);
    assert.deepEqual(await sp.closed, { code: 1002, reason: 'protocol violation', wasClean: true });
  } finally {
    await server.close();
  }
});

test('PING is answered with a PONG echoing the payload; ping() reaches the peer', async () => {
  const { server, port, peers } = await echoServer();
  try {
    const r = await handshaken(port);
    r.s.write(encodeFrame(1, Uint8Array.of(1, 2, 3, 4, 5)));
    const got = await r.waitBytes(4 + 9);
    assert.deepEqual([...got.subarray(4)], [2, 0, 0, 5, 1, 2, 3, 4, 5]);
    await within((async () => { while (peers.length === 0) await sleep(5); })(), 3000, 'transport');
    (peers[0] as Peer).t.ping(Uint8Array.of(9));
    const after = await r.waitBytes(4 + 9 + 5);
    assert.deepEqual([...after.subarray(13)], [1, 0, 0, 1, 9]);
    r.s.destroy();
  } finally {
    await server.close();
  }
});

test('heartbeat: a peer that answers stays connected; a peer that does not is dropped with 1006', async () => {
  const { server, port, peers } = await echoServer({ heartbeat: { interval: 30, timeout: 100 } });
  try {
    // Our own client answers PINGs (autoPong).
    const good = attach(await within(connectRawSocket({ port }), 5000, 'connect'));
    // A raw client that never answers.
    const bad = await handshaken(port);
    await within((async () => { while (peers.length < 2) await sleep(5); })(), 3000, 'transports');
    const lost = await within(Promise.race(peers.map((p) => p.closed)), 3000, 'heartbeat failure');
    assert.equal(lost.code, 1006);
    assert.equal((lost.error as RawSocketError).code, 'RAWSOCKET_ERR_PING_TIMEOUT');
    await within(bad.closed, 3000, 'raw dropped');
    assert.ok(bad.data().length > 4, 'the raw client received PINGs');
    await sleep(200); // several more intervals
    assert.equal(good.t.isOpen, true);
    good.t.send(HELLO);
    assert.deepEqual(await good.next(), ABORT);
    good.t.close();
    await within(good.closed, 3000, 'close');
  } finally {
    await server.close();
  }
});

test('send queue: bufferedAmount grows while the peer does not read, onDrain fires when it does; over maxBufferedAmount fails with 1008', async () => {
  const { server, port, peers } = await echoServer({ maxBufferedAmount: 4 << 20 }, () => {});
  try {
    const r = await handshaken(port);
    r.s.pause();
    await within((async () => { while (peers.length === 0) await sleep(5); })(), 3000, 'transport');
    const sp = peers[0] as Peer;
    const ev: WampMessage = { type: 36, subscription: 1, publication: 2, details: {}, args: ['y'.repeat(64 * 1024)] };
    let sent = 0;
    while (sp.t.bufferedAmount === 0 && sent < 1000) {
      sp.t.send(ev);
      sent++;
    }
    assert.ok(sp.t.bufferedAmount > 0, 'socket buffer filled');
    r.s.resume();
    await within((async () => { while (sp.drains === 0) await sleep(5); })(), 5000, 'drain');
    r.s.pause();
    for (let i = 0; i < 200 && sp.t.isOpen; i++) {
      sp.t.send(ev);
      await sleep(0);
    }
    const info = await within(sp.closed, 5000, 'queue full');
    assert.equal(info.code, 1008);
    assert.equal((info.error as RawSocketError).code, 'RAWSOCKET_ERR_SEND_QUEUE_FULL');
    r.s.destroy();
  } finally {
    await server.close();
  }
});

test('server.close() closes open transports with 1001 and stops listening', async () => {
  const { server, port, peers } = await echoServer();
  const c = attach(await within(connectRawSocket({ port }), 5000, 'connect'));
  await within((async () => { while (peers.length === 0) await sleep(5); })(), 3000, 'transport');
  await within(server.close(), 5000, 'server.close');
  assert.deepEqual(await (peers[0] as Peer).closed, { code: 1001, reason: 'server shutting down', wasClean: true });
  assert.deepEqual(await within(c.closed, 3000, 'client sees the end'), { code: 1000, reason: '', wasClean: true });
  await rejectsWith(connectRawSocket({ port }), 'RAWSOCKET_ERR_CONNECT_FAILED');
});

test('a reset connection reports 1006 with the socket error', async () => {
  const { server, port, peers } = await echoServer();
  try {
    const r = await handshaken(port);
    await within((async () => { while (peers.length === 0) await sleep(5); })(), 3000, 'transport');
    r.s.resetAndDestroy();
    const info = await within((peers[0] as Peer).closed, 3000, 'closed');
    assert.equal(info.code, 1006);
    assert.equal(info.wasClean, false);
    assert.ok(info.error instanceof Error);
  } finally {
    await server.close();
  }
});

test('large messages cross in many socket chunks (4 MiB binary, each serializer)', async () => {
  const { server, port } = await echoServer();
  try {
    const blob = new Uint8Array(4 << 20).map((_, i) => (i * 131) & 0xff);
    for (const serializer of ['msgpack', 'cbor', 'json'] as const) {
      const c = attach(await within(connectRawSocket({ port, serializer }), 5000, 'connect'));
      const call: WampMessage = { type: 48, request: 1, options: {}, procedure: 'com.blob', args: [blob] };
      c.t.send(call);
      const back = (await c.next(10_000)) as Extract<WampMessage, { type: 48 }>;
      const got = back.args?.[0] as Uint8Array;
      assert.equal(got.length, blob.length, serializer);
      assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(blob), `${serializer}: same bytes`);
      c.t.close();
      await within(c.closed, 3000, 'close');
    }
  } finally {
    await server.close();
  }
});

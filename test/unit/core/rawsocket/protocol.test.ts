/**
 * The sans-I/O RawSocket connection: handshake for both roles, frames after
 * it, PING → PONG, limits both ways, end of input — at every split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawSocketProtocol, type RawSocketEvent } from '../../../../src/core/rawsocket/protocol.js';
import { encodeFrame, encodeFrameHeader } from '../../../../src/core/rawsocket/frame.js';
import { RawSocketError } from '../../../../src/core/rawsocket/errors.js';

const te = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Events with payloads copied to plain arrays (payloads may be views into input). */
function plain(events: RawSocketEvent[]): unknown[] {
  return events.map((e) =>
    e.type === 'error' ? { type: 'error', code: e.error.code } : 'data' in e ? { type: e.type, data: [...e.data] } : { ...e },
  );
}

function expectThrows(fn: () => void, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RawSocketError && e.code === code);
}

test('client sends its request at once; server replies; both open with each other\'s limits', () => {
  const client = new RawSocketProtocol({ role: 'client', serializer: 2, maxMessageSize: 4096 });
  const server = new RawSocketProtocol({ role: 'server', serializers: [1, 2, 3], maxMessageSize: 1 << 20 });
  const req = concat(client.dataToSend());
  assert.deepEqual([...req], [0x7f, 0x32, 0, 0]);
  assert.equal(client.state, 'handshake');
  assert.equal(server.serializer, 0);
  server.receiveData(req);
  assert.deepEqual(plain(server.eventsReceived()), [{ type: 'open', serializer: 2, maxSendLength: 4096, maxReceiveLength: 1 << 20 }]);
  const reply = concat(server.dataToSend());
  assert.deepEqual([...reply], [0x7f, 0xb2, 0, 0]);
  client.receiveData(reply);
  assert.deepEqual(plain(client.eventsReceived()), [{ type: 'open', serializer: 2, maxSendLength: 1 << 20, maxReceiveLength: 4096 }]);
  assert.equal(client.state, 'open');
  assert.equal(server.state, 'open');
  assert.equal(server.serializer, 2);
  assert.deepEqual(client.eventsReceived(), []);
  assert.deepEqual(client.dataToSend(), []);
});

// The router's whole output for one connection: reply + message + PING + PONG + message.
const MSG1 = te.encode('[2,1,{}]');
const MSG2 = te.encode('[36,5,6,{},["x"]]');
const ROUTER_OUT = concat([
  Uint8Array.of(0x7f, 0xf1, 0, 0),
  encodeFrame(0, MSG1),
  encodeFrame(1, Uint8Array.of(7, 7)),
  encodeFrame(2, Uint8Array.of(1)),
  encodeFrame(0, MSG2),
]);
const CLIENT_EXPECTED = [
  { type: 'open', serializer: 1, maxSendLength: 2 ** 24, maxReceiveLength: 2 ** 24 },
  { type: 'message', data: [...MSG1] },
  { type: 'ping', data: [7, 7] },
  { type: 'pong', data: [1] },
  { type: 'message', data: [...MSG2] },
];

test('client: handshake reply and frames cut at every position give the same events, and the PONG', () => {
  for (let i = 0; i <= ROUTER_OUT.length; i++) {
    const c = new RawSocketProtocol({ role: 'client', serializer: 1 });
    c.dataToSend();
    c.receiveData(ROUTER_OUT.slice(0, i));
    c.receiveData(ROUTER_OUT.slice(i));
    assert.deepEqual(plain(c.eventsReceived()), CLIENT_EXPECTED, `cut at ${i}`);
    // "A Peer MUST reply to each PING by sending exactly one PONG immediately ... echo back the payload"
    assert.deepEqual([...concat(c.dataToSend())], [2, 0, 0, 2, 7, 7], `cut at ${i}`);
  }
});

test('client: one octet at a time', () => {
  const c = new RawSocketProtocol({ role: 'client', serializer: 1 });
  for (let i = 0; i < ROUTER_OUT.length; i++) c.receiveData(ROUTER_OUT.subarray(i, i + 1));
  assert.deepEqual(plain(c.eventsReceived()), CLIENT_EXPECTED);
});

test('server: request plus frames sent without waiting, cut at every position', () => {
  const input = concat([Uint8Array.of(0x7f, 0x23, 0, 0), encodeFrame(0, MSG1), encodeFrame(1, new Uint8Array(0)), encodeFrame(0, MSG2)]);
  for (let i = 0; i <= input.length; i++) {
    const s = new RawSocketProtocol({ role: 'server', serializers: [3], maxMessageSize: 1000 });
    s.receiveData(input.slice(0, i));
    s.receiveData(input.slice(i));
    assert.deepEqual(
      plain(s.eventsReceived()),
      [
        { type: 'open', serializer: 3, maxSendLength: 2048, maxReceiveLength: 1024 },
        { type: 'message', data: [...MSG1] },
        { type: 'ping', data: [] },
        { type: 'message', data: [...MSG2] },
      ],
      `cut at ${i}`,
    );
    assert.deepEqual([...concat(s.dataToSend())], [0x7f, 0x13, 0, 0, 2, 0, 0, 0], `cut at ${i}`);
  }
});

function serverRefuses(request: number[], opts: Partial<ConstructorParameters<typeof RawSocketProtocol>[0]>, code: string, reply: number[] | null): void {
  const s = new RawSocketProtocol({ role: 'server', serializers: [1, 2], maxMessageSize: 1024, ...opts } as ConstructorParameters<typeof RawSocketProtocol>[0]);
  // The request split in two, followed by a frame that must be ignored.
  s.receiveData(Uint8Array.from(request.slice(0, 1)));
  s.receiveData(concat([Uint8Array.from(request.slice(1)), encodeFrame(0, MSG1)]));
  assert.deepEqual(plain(s.eventsReceived()), [{ type: 'error', code }]);
  assert.equal(s.state, 'failed');
  assert.deepEqual([...concat(s.dataToSend())], reply ?? []);
  s.receiveData(encodeFrame(0, MSG1));
  assert.deepEqual(s.eventsReceived(), []);
  expectThrows(() => s.sendMessage(MSG1), 'RAWSOCKET_ERR_NOT_OPEN');
}

test('server: every refusal sends its error reply and fails', () => {
  serverRefuses([0x7f, 0xf3, 0, 0], {}, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED', [0x7f, 0x10, 0, 0]);
  serverRefuses([0x7f, 0xf0, 0, 0], {}, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED', [0x7f, 0x10, 0, 0]);
  serverRefuses([0x7f, 0x01, 0, 0], { minPeerMaxLength: 4096 }, 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE', [0x7f, 0x20, 0, 0]);
  serverRefuses([0x7f, 0xf1, 0, 8], {}, 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS', [0x7f, 0x30, 0, 0]);
  serverRefuses([0x7f, 0xf1, 0, 0], { refuse: 4 }, 'RAWSOCKET_ERR_MAX_CONNECTIONS', [0x7f, 0x40, 0, 0]);
  serverRefuses([0x47, 0x45, 0x54, 0x20], {}, 'RAWSOCKET_ERR_BAD_MAGIC', null);
});

test('client: every error reply fails the handshake with its code', () => {
  const cases: Array<[number[], string]> = [
    [[0x7f, 0x10, 0, 0], 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED'],
    [[0x7f, 0x20, 0, 0], 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE'],
    [[0x7f, 0x30, 0, 0], 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS'],
    [[0x7f, 0x40, 0, 0], 'RAWSOCKET_ERR_MAX_CONNECTIONS'],
    [[0x7f, 0x00, 0, 0], 'RAWSOCKET_ERR_HANDSHAKE_REJECTED'],
    [[0x7f, 0xf2, 0, 0], 'RAWSOCKET_ERR_SERIALIZER_MISMATCH'],
    [[0x7e, 0xf1, 0, 0], 'RAWSOCKET_ERR_BAD_MAGIC'],
    [[0x7f, 0xf1, 1, 0], 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS'],
  ];
  for (const [reply, code] of cases) {
    const c = new RawSocketProtocol({ role: 'client', serializer: 1 });
    c.dataToSend();
    c.receiveData(Uint8Array.from(reply));
    assert.deepEqual(plain(c.eventsReceived()), [{ type: 'error', code }], code);
    assert.deepEqual(c.dataToSend(), []);
  }
});

function openPair(clientMax = 2 ** 24, serverMax = 2 ** 24): { c: RawSocketProtocol; s: RawSocketProtocol } {
  const c = new RawSocketProtocol({ role: 'client', serializer: 1, maxMessageSize: clientMax });
  const s = new RawSocketProtocol({ role: 'server', serializers: [1], maxMessageSize: serverMax });
  for (const b of c.dataToSend()) s.receiveData(b);
  for (const b of s.dataToSend()) c.receiveData(b);
  c.eventsReceived();
  s.eventsReceived();
  return { c, s };
}

test('sending: within the peer\'s limit only; nothing queued when refused; not before open', () => {
  const early = new RawSocketProtocol({ role: 'client', serializer: 1 });
  expectThrows(() => early.sendMessage(MSG1), 'RAWSOCKET_ERR_NOT_OPEN');
  expectThrows(() => early.sendPing(), 'RAWSOCKET_ERR_NOT_OPEN');
  const { c, s } = openPair(1024, 600); // announced: client 1024, server 1024 (600 rounds up)
  assert.equal(c.maxSendLength, 1024);
  assert.equal(s.maxSendLength, 1024);
  c.sendMessage(new Uint8Array(1024));
  assert.equal(concat(c.dataToSend()).length, 1028);
  expectThrows(() => c.sendMessage(new Uint8Array(1025)), 'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED');
  expectThrows(() => s.sendPing(new Uint8Array(1025)), 'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED');
  assert.deepEqual(c.dataToSend(), []);
  // Header and payload leave as two chunks (no copy of the payload).
  const payload = new Uint8Array(10);
  s.sendMessage(payload);
  const out = s.dataToSend();
  assert.equal(out.length, 2);
  assert.equal(out[1], payload);
});

test('receiving more than we announced fails with 1009 (the announced power of two, not the option)', () => {
  const { c } = openPair(1000);
  c.receiveData(encodeFrame(0, new Uint8Array(1024))); // 1000 → announced 1024: allowed
  assert.equal(c.eventsReceived().length, 1);
  c.receiveData(encodeFrameHeader(0, 1025));
  const ev = c.eventsReceived();
  assert.equal(ev.length, 1);
  assert.equal(ev[0]?.type, 'error');
  if (ev[0]?.type === 'error') assert.equal(ev[0].error.closeCode, 1009);
  assert.equal(c.state, 'failed');
});

test('reserved bits in a frame fail the connection; frames before them are delivered', () => {
  const { s } = openPair();
  s.receiveData(concat([encodeFrame(0, MSG1), Uint8Array.of(0x40, 0, 0, 0), encodeFrame(0, MSG2)]));
  assert.deepEqual(plain(s.eventsReceived()), [{ type: 'message', data: [...MSG1] }, { type: 'error', code: 'RAWSOCKET_ERR_FRAME_RESERVED_BITS' }]);
});

test('a PING too large to echo within the peer\'s limit fails instead of breaking the peer\'s limit', () => {
  const { c } = openPair(2 ** 24, 512); // we (client) may only send 512
  c.receiveData(encodeFrame(1, new Uint8Array(600)));
  assert.deepEqual(plain(c.eventsReceived()).map((e) => (e as { type: string }).type), ['error']);
  assert.deepEqual(c.dataToSend(), []);
});

test('autoPong: false leaves the PONG to the user', () => {
  const c = new RawSocketProtocol({ role: 'client', serializer: 1, autoPong: false });
  c.dataToSend();
  c.receiveData(concat([Uint8Array.of(0x7f, 0xf1, 0, 0), encodeFrame(1, Uint8Array.of(5))]));
  assert.deepEqual(plain(c.eventsReceived()).at(-1), { type: 'ping', data: [5] });
  assert.deepEqual(c.dataToSend(), []);
  c.sendPong(Uint8Array.of(5));
  assert.deepEqual([...concat(c.dataToSend())], [2, 0, 0, 1, 5]);
});

test('end of input: clean between frames, lost inside the handshake or a frame', () => {
  const { c } = openPair();
  assert.equal(c.receiveEof(), true);
  assert.equal(c.state, 'closed');
  assert.deepEqual(c.eventsReceived(), []);
  c.receiveData(encodeFrame(0, MSG1)); // after the end: ignored
  assert.deepEqual(c.eventsReceived(), []);
  expectThrows(() => c.sendMessage(MSG1), 'RAWSOCKET_ERR_NOT_OPEN');

  const hs = new RawSocketProtocol({ role: 'server', serializers: [1] });
  hs.receiveData(Uint8Array.of(0x7f, 0xf1));
  assert.equal(hs.receiveEof(), false);
  assert.deepEqual(plain(hs.eventsReceived()), [{ type: 'error', code: 'RAWSOCKET_ERR_CONNECTION_LOST' }]);

  const mid = openPair().s;
  mid.receiveData(encodeFrame(0, MSG1).subarray(0, 6));
  assert.equal(mid.receiveEof(), false);
  const ev = mid.eventsReceived();
  assert.equal(ev[0]?.type === 'error' && ev[0].error.closeCode, 1006);
});

test('a client never accepts an HTTP response as a handshake reply', () => {
  const c = new RawSocketProtocol({ role: 'client', serializer: 1 });
  c.receiveData(te.encode('HTTP/1.1 400 Bad Request\r\n\r\n'));
  assert.deepEqual(plain(c.eventsReceived()), [{ type: 'error', code: 'RAWSOCKET_ERR_BAD_MAGIC' }]);
});

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('random input never throws; an error event is always the last one (2000 runs, both roles)', () => {
  const rand = rng(0xc0ffee);
  for (let run = 0; run < 2000; run++) {
    const role = run % 2 === 0 ? 'client' : 'server';
    const p =
      role === 'client'
        ? new RawSocketProtocol({ role: 'client', serializer: 1, maxMessageSize: 1024 })
        : new RawSocketProtocol({ role: 'server', serializers: [1, 2, 3], maxMessageSize: 1024 });
    // Half the runs start with a valid handshake so that framing gets fuzzed too.
    const prefix = run % 4 < 2 ? (role === 'client' ? [0x7f, 0x11, 0, 0] : [0x7f, 0x12, 0, 0]) : [];
    const body = Array.from({ length: Math.floor(rand() * 64) }, () => {
      const r = rand();
      // Bias towards small header octets so that some headers are valid.
      return r < 0.5 ? Math.floor(rand() * 4) : Math.floor(rand() * 256);
    });
    const input = Uint8Array.from([...prefix, ...body]);
    const events: RawSocketEvent[] = [];
    let pos = 0;
    while (pos < input.length) {
      const n = 1 + Math.floor(rand() * 8);
      p.receiveData(input.slice(pos, pos + n));
      events.push(...p.eventsReceived());
      pos += n;
    }
    p.receiveEof();
    events.push(...p.eventsReceived());
    p.dataToSend();
    const errors = events.filter((e) => e.type === 'error');
    assert.ok(errors.length <= 1, `run ${run}: ${errors.length} error events`);
    if (errors.length === 1) assert.equal(events.at(-1)?.type, 'error', `run ${run}: error is last`);
    for (const e of events) if (e.type === 'message' || e.type === 'ping' || e.type === 'pong') assert.ok(e.data.length <= 1024);
  }
});

test('random valid frame streams give the same events however they are cut (500 runs)', () => {
  const rand = rng(42);
  for (let run = 0; run < 500; run++) {
    const frames: Array<[0 | 1 | 2, Uint8Array]> = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => [
      Math.floor(rand() * 3) as 0 | 1 | 2,
      Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)),
    ]);
    const input = concat([Uint8Array.of(0x7f, 0xf1, 0, 0), ...frames.map(([t, d]) => encodeFrame(t, d))]);
    const expected = [
      { type: 'open', serializer: 1, maxSendLength: 2 ** 24, maxReceiveLength: 2 ** 24 },
      ...frames.map(([t, d]) => ({ type: ['message', 'ping', 'pong'][t], data: [...d] })),
    ];
    const c = new RawSocketProtocol({ role: 'client', serializer: 1 });
    c.dataToSend();
    let pos = 0;
    while (pos < input.length) {
      const n = 1 + Math.floor(rand() * 12);
      c.receiveData(input.slice(pos, pos + n));
      pos += n;
    }
    assert.deepEqual(plain(c.eventsReceived()), expected, `run ${run}`);
    const pongs = concat(c.dataToSend());
    const want = concat(frames.filter(([t]) => t === 1).map(([, d]) => encodeFrame(2, d)));
    assert.deepEqual([...pongs], [...want], `run ${run}: one PONG per PING, same payload`);
  }
});

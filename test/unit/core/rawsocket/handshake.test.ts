/**
 * RawSocket opening handshake (WAMP Advanced Profile, "RawSocket Transport" →
 * "Handshake"): request/reply octets, every error reply, both roles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RAWSOCKET_MAGIC,
  acceptHandshake,
  encodeHandshake,
  encodeHandshakeError,
  exponentToLength,
  handshakeErrorText,
  lengthExponent,
  parseHandshakeReply,
} from '../../../../src/core/rawsocket/handshake.js';
import { RawSocketError } from '../../../../src/core/rawsocket/errors.js';

const ALL = { serializers: [1, 2, 3], maxMessageSize: 2 ** 24 };

test('LENGTH exponent: 2^(9+L) octets, 512 B to 16 MiB, rounded up and clamped', () => {
  assert.equal(lengthExponent(1), 0);
  assert.equal(lengthExponent(512), 0);
  assert.equal(lengthExponent(513), 1);
  assert.equal(lengthExponent(1024), 1);
  assert.equal(lengthExponent(2 ** 20), 11);
  assert.equal(lengthExponent(2 ** 24 - 1), 15);
  assert.equal(lengthExponent(2 ** 24), 15);
  assert.equal(lengthExponent(2 ** 30), 15);
  assert.throws(() => lengthExponent(0), RangeError);
  for (let l = 0; l < 16; l++) assert.equal(exponentToLength(l), 2 ** (9 + l));
});

test('request octets: 0x7F, LLLL SSSS, two zero octets (the spec\'s table for every serializer and length)', () => {
  for (const ser of [1, 2, 3]) {
    for (let l = 0; l < 16; l++) {
      assert.deepEqual([...encodeHandshake(ser, l)], [0x7f, (l << 4) | ser, 0, 0]);
    }
  }
  assert.deepEqual([...encodeHandshake(1, 15)], [0x7f, 0xf1, 0, 0]);
  assert.throws(() => encodeHandshake(0, 1), RangeError);
  assert.throws(() => encodeHandshake(1, 16), RangeError);
});

test('error reply octets: 0x7F, EEEE 0000, zeros; error 0 is illegal', () => {
  for (const e of [1, 2, 3, 4]) assert.deepEqual([...encodeHandshakeError(e)], [0x7f, e << 4, 0, 0]);
  assert.throws(() => encodeHandshakeError(0), RangeError);
  assert.equal(handshakeErrorText(4), 'maximum connection count reached');
  assert.match(handshakeErrorText(9), /undefined/);
});

test('router accepts: echoes the serializer, announces its own limit, learns the client\'s', () => {
  for (const ser of [1, 2, 3]) {
    const r = acceptHandshake(Uint8Array.of(0x7f, 0x30 | ser, 0, 0), { serializers: [1, 2, 3], maxMessageSize: 1 << 20 });
    assert.ok(r.ok);
    assert.equal(r.serializer, ser);
    assert.equal(r.maxSendLength, 2 ** 12); // client: L=3
    assert.equal(r.maxReceiveLength, 1 << 20);
    assert.deepEqual([...r.reply], [0x7f, (11 << 4) | ser, 0, 0]);
  }
});

function refused(request: number[], policy: Parameters<typeof acceptHandshake>[1], code: string, n: number): void {
  const r = acceptHandshake(Uint8Array.from(request), policy);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.ok(r.error instanceof RawSocketError);
  assert.equal(r.error.code, code);
  assert.equal(r.error.handshakeError, n);
  assert.deepEqual(r.reply && [...r.reply], [0x7f, n << 4, 0, 0]);
}

test('router refusals: 1 serializer unsupported (also the illegal serializer 0)', () => {
  refused([0x7f, 0xf3, 0, 0], { serializers: [1, 2], maxMessageSize: 1024 }, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED', 1);
  refused([0x7f, 0xf0, 0, 0], ALL, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED', 1);
  refused([0x7f, 0xf5, 0, 0], ALL, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED', 1); // FlatBuffers: not ours
});

test('router refusals: 2 maximum message length unacceptable', () => {
  refused([0x7f, 0x01, 0, 0], { ...ALL, minPeerMaxLength: 1024 }, 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE', 2);
  assert.ok(acceptHandshake(Uint8Array.of(0x7f, 0x11, 0, 0), { ...ALL, minPeerMaxLength: 1024 }).ok);
});

test('router refusals: 3 use of reserved bits (either reserved octet)', () => {
  refused([0x7f, 0xf1, 1, 0], ALL, 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS', 3);
  refused([0x7f, 0xf1, 0, 0x80], ALL, 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS', 3);
});

test('router refusals: 4 maximum connection count reached (policy.refuse)', () => {
  refused([0x7f, 0xf1, 0, 0], { ...ALL, refuse: 4 }, 'RAWSOCKET_ERR_MAX_CONNECTIONS', 4);
  refused([0x7f, 0xf1, 0, 0], { ...ALL, refuse: 7 }, 'RAWSOCKET_ERR_HANDSHAKE_REJECTED', 7);
});

test('router: a first octet other than 0x7F fails without a reply (e.g. an HTTP request)', () => {
  for (const req of [[0x47, 0x45, 0x54, 0x20], [0x7e, 0xf1, 0, 0], [0, 0, 0, 0]]) {
    const r = acceptHandshake(Uint8Array.from(req), ALL);
    assert.equal(r.ok, false);
    if (r.ok) continue;
    assert.equal(r.reply, null);
    assert.equal(r.error.code, 'RAWSOCKET_ERR_BAD_MAGIC');
  }
});

test('client: success reply gives the router\'s limit', () => {
  for (let l = 0; l < 16; l++) {
    const r = parseHandshakeReply(Uint8Array.of(RAWSOCKET_MAGIC, (l << 4) | 2, 0, 0), 2);
    assert.deepEqual(r, { ok: true, maxSendLength: 2 ** (9 + l) });
  }
});

test('client: every error reply maps to a stable code and keeps the error number', () => {
  const want: Array<[number, string]> = [
    [0, 'RAWSOCKET_ERR_HANDSHAKE_REJECTED'],
    [1, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED'],
    [2, 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE'],
    [3, 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS'],
    [4, 'RAWSOCKET_ERR_MAX_CONNECTIONS'],
    [5, 'RAWSOCKET_ERR_HANDSHAKE_REJECTED'],
    [15, 'RAWSOCKET_ERR_HANDSHAKE_REJECTED'],
  ];
  for (const [n, code] of want) {
    const r = parseHandshakeReply(Uint8Array.of(0x7f, n << 4, 0, 0), 1);
    assert.equal(r.ok, false);
    if (r.ok) continue;
    assert.equal(r.error.code, code, `error ${n}`);
    assert.equal(r.error.handshakeError, n);
    assert.equal(r.error.closeCode, 1002);
  }
});

test('client: wrong magic, reserved octets, or another serializer than requested fail', () => {
  const cases: Array<[number[], string]> = [
    [[0x48, 0x54, 0x54, 0x50], 'RAWSOCKET_ERR_BAD_MAGIC'], // "HTTP"
    [[0x7f, 0xf1, 0, 1], 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS'],
    [[0x7f, 0xf2, 0, 0], 'RAWSOCKET_ERR_SERIALIZER_MISMATCH'],
  ];
  for (const [bytes, code] of cases) {
    const r = parseHandshakeReply(Uint8Array.from(bytes), 1);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, code);
  }
});

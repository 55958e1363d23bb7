import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_CLOSE_REASON_BYTES,
  encodeClosePayload,
  isApplicationCloseCode,
  isSendableCloseCode,
  isValidCloseCode,
  parseClosePayload,
} from '../../../../src/core/ws/close.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A Close payload: 2-byte big-endian code, then the reason bytes. */
function payload(code: number, reason: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const r = typeof reason === 'string' ? enc(reason) : reason;
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

/** assert.throws matcher for a WebSocketError with this code and close code. */
function wsError(code: string, closeCode: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof WebSocketError, `expected WebSocketError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.closeCode, closeCode);
    return true;
  };
}

/** Every code 0..65535 that may appear on the wire, by RFC 6455 §7.4 and the IANA registry. */
function expectedValid(code: number): boolean {
  if (code >= 1000 && code <= 1003) return true; // §7.4.1
  if (code >= 1007 && code <= 1011) return true; // §7.4.1
  if (code >= 1012 && code <= 1014) return true; // IANA registry
  return code >= 3000 && code <= 4999; // §7.4.2
}

describe('isValidCloseCode', () => {
  it('accepts the boundary values of every valid range', () => {
    for (const c of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      assert.equal(isValidCloseCode(c), true, String(c));
    }
  });

  it('rejects reserved, unassigned and out-of-range codes', () => {
    for (const c of [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, 65536, -1000]) {
      assert.equal(isValidCloseCode(c), false, String(c));
    }
  });

  it('rejects non-integers', () => {
    for (const c of [1000.5, 3000.1, Number.NaN, Infinity, -Infinity]) assert.equal(isValidCloseCode(c), false, String(c));
  });

  it('agrees with the RFC on every 16-bit code', () => {
    for (let c = 0; c <= 0xffff; c++) {
      if (isValidCloseCode(c) !== expectedValid(c)) assert.fail(`code ${c}`);
    }
  });
});

describe('isSendableCloseCode / isApplicationCloseCode', () => {
  it('sendable = valid on the wire', () => {
    for (let c = 0; c <= 0xffff; c++) {
      if (isSendableCloseCode(c) !== isValidCloseCode(c)) assert.fail(`code ${c}`);
    }
  });

  it('application codes are 1000 and 3000-4999, as in the WebSocket API', () => {
    for (const c of [1000, 3000, 3001, 4000, 4998, 4999]) assert.equal(isApplicationCloseCode(c), true, String(c));
    for (const c of [999, 1001, 1002, 1003, 1005, 1006, 1007, 1011, 1014, 1015, 2999, 5000, 3000.5, Number.NaN]) {
      assert.equal(isApplicationCloseCode(c), false, String(c));
    }
    for (let c = 0; c <= 0xffff; c++) {
      if (isApplicationCloseCode(c) && !isValidCloseCode(c)) assert.fail(`application code ${c} not valid on the wire`);
    }
  });
});

describe('parseClosePayload', () => {
  it('empty payload: 1005, no reason (§7.1.5)', () => {
    assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: '' });
  });

  it('1-byte payload: protocol error 1002', () => {
    for (const b of [0x03, 0x00, 0xff]) {
      assert.throws(() => parseClosePayload(new Uint8Array([b])), wsError('WS_ERR_INVALID_CLOSE_PAYLOAD', 1002));
    }
  });

  it('code only', () => {
    assert.deepEqual(parseClosePayload(new Uint8Array([0x03, 0xe8])), { code: 1000, reason: '' });
    assert.deepEqual(parseClosePayload(payload(4999)), { code: 4999, reason: '' });
  });

  it('reads the code big-endian, with a reason', () => {
    assert.deepEqual(parseClosePayload(new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65])), { code: 1000, reason: 'bye' });
    assert.deepEqual(parseClosePayload(payload(3000, 'κόσμε 😀')), { code: 3000, reason: 'κόσμε 😀' });
  });

  it('accepts every valid code and rejects every invalid one with 1002', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const p = payload(c, 'x');
      if (expectedValid(c)) {
        assert.deepEqual(parseClosePayload(p), { code: c, reason: 'x' });
      } else {
        assert.throws(() => parseClosePayload(p), wsError('WS_ERR_INVALID_CLOSE_CODE', 1002), `code ${c}`);
      }
    }
  });

  it('1005, 1006 and 1015 received on the wire are protocol errors', () => {
    for (const c of [1005, 1006, 1015]) {
      assert.throws(() => parseClosePayload(payload(c)), wsError('WS_ERR_INVALID_CLOSE_CODE', 1002), String(c));
    }
  });

  it('invalid UTF-8 in the reason: 1007', () => {
    for (const bad of [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xe2, 0x82]]) {
      assert.throws(() => parseClosePayload(payload(1000, new Uint8Array(bad))), wsError('WS_ERR_INVALID_UTF8', 1007), bad.join(','));
    }
  });

  it('an invalid code is reported before an invalid reason', () => {
    assert.throws(() => parseClosePayload(payload(1004, new Uint8Array([0xff]))), wsError('WS_ERR_INVALID_CLOSE_CODE', 1002));
  });

  it('keeps a leading BOM and NULs in the reason', () => {
    assert.deepEqual(parseClosePayload(payload(1000, '\ufeffhi')), { code: 1000, reason: '\ufeffhi' });
    assert.deepEqual(parseClosePayload(payload(1000, 'a\u0000b')), { code: 1000, reason: 'a\u0000b' });
  });

  it('payload length limits: 125 bytes is fine, 126 is not (§5.5)', () => {
    const max = payload(1000, 'r'.repeat(123));
    assert.equal(max.length, 125);
    assert.equal(parseClosePayload(max).reason.length, 123);
    assert.throws(() => parseClosePayload(payload(1000, 'r'.repeat(124))), wsError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002));
  });

  it('reads a payload that is a subarray of a larger buffer', () => {
    const frame = new Uint8Array([0x88, 0x05, 0x03, 0xe8, 0x6f, 0x6b, 0xff, 0xff]);
    assert.deepEqual(parseClosePayload(frame.subarray(2, 6)), { code: 1000, reason: 'ok' });
  });
});

describe('encodeClosePayload', () => {
  it('no code: empty payload', () => {
    assert.deepEqual(encodeClosePayload(), new Uint8Array(0));
    assert.deepEqual(encodeClosePayload(undefined, ''), new Uint8Array(0));
  });

  it('a reason without a code is a TypeError', () => {
    assert.throws(() => encodeClosePayload(undefined, 'why'), TypeError);
  });

  it('code alone, and code with reason, big-endian', () => {
    assert.deepEqual(encodeClosePayload(1000), new Uint8Array([0x03, 0xe8]));
    assert.deepEqual(encodeClosePayload(1000, ''), new Uint8Array([0x03, 0xe8]));
    assert.deepEqual(encodeClosePayload(1000, 'bye'), new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65]));
    assert.deepEqual(encodeClosePayload(4999), new Uint8Array([0x13, 0x87]));
    assert.deepEqual(encodeClosePayload(1011), new Uint8Array([0x03, 0xf3]));
  });

  it('accepts every valid code, rejects every other with RangeError', () => {
    for (let c = 0; c <= 0xffff; c++) {
      if (expectedValid(c)) {
        const p = encodeClosePayload(c);
        assert.equal((p[0]! << 8) | p[1]!, c);
      } else {
        assert.throws(() => encodeClosePayload(c), RangeError, `code ${c}`);
      }
    }
    for (const c of [1005, 1006, 1015, -1, 65536, 1000.5, Number.NaN]) {
      assert.throws(() => encodeClosePayload(c, 'x'), RangeError, String(c));
    }
  });

  it('reason limit is 123 UTF-8 bytes, not 123 characters', () => {
    assert.equal(MAX_CLOSE_REASON_BYTES, 123);
    assert.equal(encodeClosePayload(1000, 'a'.repeat(123)).length, 125);
    assert.throws(() => encodeClosePayload(1000, 'a'.repeat(124)), RangeError);
    // 41 × "€" (3 bytes) = 123 bytes: fits. One more "a" does not.
    assert.equal(encodeClosePayload(1000, '€'.repeat(41)).length, 125);
    assert.throws(() => encodeClosePayload(1000, `${'€'.repeat(41)}a`), RangeError);
    // 62 characters but 124 bytes.
    assert.throws(() => encodeClosePayload(1000, 'é'.repeat(62)), RangeError);
    // 30 emoji = 60 UTF-16 units but 120 bytes: fits.
    assert.equal(encodeClosePayload(1000, '😀'.repeat(30)).length, 122);
  });

  it('encodes lone surrogates as U+FFFD (like the WebSocket API)', () => {
    const p = encodeClosePayload(1000, 'a\ud800b');
    assert.deepEqual(parseClosePayload(p), { code: 1000, reason: 'a\ufffdb' });
  });

  it('round-trips through parseClosePayload', () => {
    for (const [code, reason] of [
      [1000, ''],
      [1001, 'going away'],
      [1008, 'policy'],
      [1014, 'bad gateway'],
      [3000, '\ufeffBOM kept'],
      [4321, 'ünïcödé 日本語 😀'],
      [4999, 'x'.repeat(123)],
    ] as const) {
      assert.deepEqual(parseClosePayload(encodeClosePayload(code, reason)), { code, reason });
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Utf8Validator, isValidUtf8 } from '../../../../src/core/ws/utf8.js';

// ---------------------------------------------------------------- references

/** Whole-buffer reference: the platform's fatal TextDecoder. */
function refValid(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reference for fail-fast: index of the first byte at which the input can no
 * longer be valid, or -1. A streaming fatal TextDecoder fed one byte at a time
 * throws at exactly that byte (WHATWG Encoding, UTF-8 decoder: an out-of-range
 * continuation byte is an error as soon as it is seen).
 */
function refFirstInvalid(bytes: Uint8Array): number {
  const d = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      d.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

const u8 = (...b: number[]): Uint8Array => new Uint8Array(b);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** Deterministic PRNG (mulberry32) so failures reproduce. */
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

/** Copy `b` into a fresh buffer at byteOffset `off`, surrounded by invalid bytes (0xff). */
function atOffset(b: Uint8Array, off: number): Uint8Array {
  const big = new Uint8Array(off + b.length + 8).fill(0xff);
  big.set(b, off);
  return big.subarray(off, off + b.length);
}

/**
 * The full contract for one input: the whole-buffer answer, byte-by-byte
 * fail-fast index, and every 2-way split agree with the references.
 */
function checkAll(b: Uint8Array, label = hex(b)): void {
  const whole = refValid(b);
  const bad = refFirstInvalid(b);
  assert.equal(isValidUtf8(b), whole, `isValidUtf8 ${label}`);

  // One write of everything.
  const v = new Utf8Validator();
  assert.equal(v.write(b), bad === -1, `write ${label}`);
  assert.equal(v.end(), whole, `end ${label}`);

  // Byte by byte: false exactly from the first invalid byte on.
  v.reset();
  for (let i = 0; i < b.length; i++) {
    const ok = v.write(b, i, i + 1);
    assert.equal(ok, bad === -1 || i < bad, `byte ${i} of ${label} (first invalid ${bad})`);
  }
  assert.equal(v.end(), whole, `end after bytes ${label}`);

  // Every split point, through start/end and through subarrays.
  for (let p = 0; p <= b.length; p++) {
    v.reset();
    assert.equal(v.write(b, 0, p), bad === -1 || bad >= p, `split ${p} head of ${label}`);
    assert.equal(v.write(b, p, b.length), bad === -1, `split ${p} tail of ${label}`);
    assert.equal(v.end(), whole, `split ${p} end of ${label}`);

    v.reset();
    v.write(b.subarray(0, p));
    v.write(b.subarray(p));
    assert.equal(v.end(), whole, `split ${p} (subarray) of ${label}`);
  }
}

// ------------------------------------------------------------------- fixtures

/** Markus Kuhn's UTF-8 decoder stress test, sections 3-5: all malformed. */
const KUHN_INVALID: Array<[string, Uint8Array, number]> = [
  // [name, bytes, index of the first invalid byte]
  // 3.1 unexpected continuation bytes
  ['3.1.1 first continuation byte 0x80', u8(0x80), 0],
  ['3.1.2 last continuation byte 0xbf', u8(0xbf), 0],
  ['3.1.3 2 continuation bytes', u8(0x80, 0xbf), 0],
  ['3.1.4 3 continuation bytes', u8(0x80, 0xbf, 0x80), 0],
  ['3.1.5 4 continuation bytes', u8(0x80, 0xbf, 0x80, 0xbf), 0],
  ['3.1.8 7 continuation bytes', u8(0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf, 0x80), 0],
  ['continuation after ASCII', u8(0x41, 0x42, 0x80), 2],
  ['extra continuation after 2-byte', u8(0xc3, 0xa9, 0x80), 2],
  ['extra continuation after 4-byte', u8(0xf0, 0x9f, 0x98, 0x80, 0x80), 4],
  // 3.2 lonely start characters (followed by a space)
  ['3.2.1 lonely C2 + space', u8(0xc2, 0x20), 1],
  ['3.2.1 lonely DF + space', u8(0xdf, 0x20), 1],
  ['3.2.2 lonely E1 + space', u8(0xe1, 0x20), 1],
  ['3.2.2 lonely EF + space', u8(0xef, 0x20), 1],
  ['3.2.3 lonely F1 + space', u8(0xf1, 0x20), 1],
  ['3.2.3 lonely F4 + space', u8(0xf4, 0x20), 1],
  ['3.2.4 lonely F8 (5-byte lead)', u8(0xf8, 0x20), 0],
  ['3.2.5 lonely FC (6-byte lead)', u8(0xfc, 0x20), 0],
  // 3.3 sequences with last continuation byte missing, then more input
  ['3.3 2-byte missing last, then ASCII', u8(0xdf, 0x41), 1],
  ['3.3 3-byte missing last, then ASCII', u8(0xef, 0xbf, 0x41), 2],
  ['3.3 4-byte missing last, then ASCII', u8(0xf3, 0xbf, 0xbf, 0x41), 3],
  ['3.3 3-byte missing last, then new lead', u8(0xe2, 0x82, 0xe2, 0x82, 0xac), 2],
  ['3.3.6 2-byte U+0000 truncated (C0)', u8(0xc0), 0],
  ['3.3.7 3-byte truncated E0 80', u8(0xe0, 0x80), 1],
  ['3.3.8 4-byte truncated F0 80 80', u8(0xf0, 0x80, 0x80), 1],
  ['3.3.9 5-byte truncated F8 80 80 80', u8(0xf8, 0x80, 0x80, 0x80), 0],
  // 3.4 concatenation of incomplete sequences
  ['3.4 concatenated incomplete', u8(0xc0, 0xe0, 0x80, 0xf0, 0x80, 0x80, 0xdf, 0xef, 0xbf, 0xf7, 0xbf, 0xbf), 0],
  ['3.4 concatenated incomplete (valid leads)', u8(0xdf, 0xef, 0xbf, 0xf3, 0xbf, 0xbf), 1],
  // 3.5 impossible bytes
  ['3.5.1 FE', u8(0xfe), 0],
  ['3.5.2 FF', u8(0xff), 0],
  ['3.5.3 FE FE FF FF', u8(0xfe, 0xfe, 0xff, 0xff), 0],
  // 4.1 overlong ASCII '/'
  ['4.1.1 C0 AF', u8(0xc0, 0xaf), 0],
  ['4.1.2 E0 80 AF', u8(0xe0, 0x80, 0xaf), 1],
  ['4.1.3 F0 80 80 AF', u8(0xf0, 0x80, 0x80, 0xaf), 1],
  ['4.1.4 F8 80 80 80 AF', u8(0xf8, 0x80, 0x80, 0x80, 0xaf), 0],
  ['4.1.5 FC 80 80 80 80 AF', u8(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf), 0],
  // 4.2 maximum overlong sequences
  ['4.2.1 C1 BF (U+007F)', u8(0xc1, 0xbf), 0],
  ['4.2.2 E0 9F BF (U+07FF)', u8(0xe0, 0x9f, 0xbf), 1],
  ['4.2.3 F0 8F BF BF (U+FFFF)', u8(0xf0, 0x8f, 0xbf, 0xbf), 1],
  ['4.2.4 F8 87 BF BF BF', u8(0xf8, 0x87, 0xbf, 0xbf, 0xbf), 0],
  ['4.2.5 FC 83 BF BF BF BF', u8(0xfc, 0x83, 0xbf, 0xbf, 0xbf, 0xbf), 0],
  // 4.3 overlong NUL
  ['4.3.1 C0 80', u8(0xc0, 0x80), 0],
  ['4.3.2 E0 80 80', u8(0xe0, 0x80, 0x80), 1],
  ['4.3.3 F0 80 80 80', u8(0xf0, 0x80, 0x80, 0x80), 1],
  ['4.3.4 F8 80 80 80 80', u8(0xf8, 0x80, 0x80, 0x80, 0x80), 0],
  // 5.1 single UTF-16 surrogates
  ['5.1.1 U+D800', u8(0xed, 0xa0, 0x80), 1],
  ['5.1.2 U+DB7F', u8(0xed, 0xad, 0xbf), 1],
  ['5.1.3 U+DB80', u8(0xed, 0xae, 0x80), 1],
  ['5.1.4 U+DBFF', u8(0xed, 0xaf, 0xbf), 1],
  ['5.1.5 U+DC00', u8(0xed, 0xb0, 0x80), 1],
  ['5.1.6 U+DF80', u8(0xed, 0xbe, 0x80), 1],
  ['5.1.7 U+DFFF', u8(0xed, 0xbf, 0xbf), 1],
  // 5.2 paired UTF-16 surrogates
  ['5.2.1 U+D800 U+DC00', u8(0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80), 1],
  ['5.2.8 U+DBFF U+DFFF', u8(0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf), 1],
  // beyond U+10FFFF
  ['U+110000 (F4 90 80 80)', u8(0xf4, 0x90, 0x80, 0x80), 1],
  ['U+13FFFF (F4 BF BF BF)', u8(0xf4, 0xbf, 0xbf, 0xbf), 1],
  ['U+140000 (F5 80 80 80)', u8(0xf5, 0x80, 0x80, 0x80), 0],
  ['U+1FFFFF (F7 BF BF BF)', u8(0xf7, 0xbf, 0xbf, 0xbf), 0],
  // Autobahn 6.x style: valid text, then a bad byte
  ['κόσμε then F4 90', u8(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80), 12],
  ['κόσμε then ED A0 80', u8(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80), 12],
];

/** Truncated at the end: no byte is invalid, but the message is incomplete. */
const TRUNCATED: Array<[string, Uint8Array]> = [
  ['2-byte lead only', u8(0xc2)],
  ['3-byte, 1 of 3', u8(0xe2)],
  ['3-byte, 2 of 3', u8(0xe2, 0x82)],
  ['3-byte E0 A0', u8(0xe0, 0xa0)],
  ['3-byte ED 9F', u8(0xed, 0x9f)],
  ['4-byte, 1 of 4', u8(0xf0)],
  ['4-byte, 2 of 4', u8(0xf0, 0x90)],
  ['4-byte, 3 of 4', u8(0xf0, 0x90, 0x80)],
  ['4-byte F4 8F BF', u8(0xf4, 0x8f, 0xbf)],
  ['text then 3.3.10 DF', u8(0x61, 0x62, 0xdf)],
  ['text then 3.3.11 EF BF', u8(0x61, 0xef, 0xbf)],
  ['text then 3.3.12 F3 BF BF', u8(0x61, 0xf3, 0xbf, 0xbf)],
];

/** Boundary code points (Kuhn 2.1-2.3) and their encodings. */
const BOUNDARIES: Array<[number, Uint8Array]> = [
  [0x0000, u8(0x00)],
  [0x007f, u8(0x7f)],
  [0x0080, u8(0xc2, 0x80)],
  [0x07ff, u8(0xdf, 0xbf)],
  [0x0800, u8(0xe0, 0xa0, 0x80)],
  [0xd7ff, u8(0xed, 0x9f, 0xbf)],
  [0xe000, u8(0xee, 0x80, 0x80)],
  [0xfffd, u8(0xef, 0xbf, 0xbd)],
  [0xfffe, u8(0xef, 0xbf, 0xbe)], // noncharacters are valid UTF-8 (Kuhn 5.3)
  [0xffff, u8(0xef, 0xbf, 0xbf)],
  [0x10000, u8(0xf0, 0x90, 0x80, 0x80)],
  [0x3ffff, u8(0xf0, 0xbf, 0xbf, 0xbf)],
  [0x40000, u8(0xf1, 0x80, 0x80, 0x80)],
  [0xfffff, u8(0xf3, 0xbf, 0xbf, 0xbf)],
  [0x100000, u8(0xf4, 0x80, 0x80, 0x80)],
  [0x10ffff, u8(0xf4, 0x8f, 0xbf, 0xbf)],
];

const VALID_TEXT = [
  '',
  'a',
  'Hello, world',
  'κόσμε',
  'Hello-µ@ßöäüàá-UTF-8!!',
  '日本語のテキスト',
  '😀🎉 emoji 👍🏽 and ZWJ 👩‍👩‍👧',
  '\u0000\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}',
  'mixed ascii ü and € and 𝄞 '.repeat(5),
];

// ---------------------------------------------------------------------- tests

describe('isValidUtf8 / Utf8Validator', () => {
  it('references agree with the hand-written expectations', () => {
    for (const [name, b, bad] of KUHN_INVALID) {
      assert.equal(refValid(b), false, name);
      assert.equal(refFirstInvalid(b), bad, name);
    }
    for (const [name, b] of TRUNCATED) {
      assert.equal(refValid(b), false, name);
      assert.equal(refFirstInvalid(b), -1, name);
    }
  });

  it('accepts every boundary code point, alone and in context', () => {
    for (const [cp, bytes] of BOUNDARIES) {
      assert.deepEqual(enc(String.fromCodePoint(cp)), bytes, `encoding of U+${cp.toString(16)}`);
      assert.equal(isValidUtf8(bytes), true, `U+${cp.toString(16)}`);
      checkAll(bytes);
      checkAll(enc(`a${String.fromCodePoint(cp)}z`));
    }
  });

  it('accepts valid text, split anywhere', () => {
    for (const s of VALID_TEXT) {
      const b = enc(s);
      assert.equal(isValidUtf8(b), true, s);
      checkAll(b, JSON.stringify(s));
    }
  });

  it("rejects every malformed class of Kuhn's stress test, at the first bad byte", () => {
    for (const [name, b, bad] of KUHN_INVALID) {
      assert.equal(isValidUtf8(b), false, name);
      const v = new Utf8Validator();
      for (let i = 0; i < b.length; i++) {
        assert.equal(v.write(b, i, i + 1), i < bad, `${name}: byte ${i}`);
      }
      checkAll(b, name);
    }
  });

  it('rejects every unexpected continuation byte 80..BF and every impossible lead', () => {
    for (let c = 0x80; c <= 0xbf; c++) checkAll(u8(c));
    for (const c of [0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff]) {
      const v = new Utf8Validator();
      assert.equal(v.write(u8(c)), false, `lead ${c.toString(16)}`);
      checkAll(u8(0x41, c, 0x80, 0x80, 0x80));
    }
  });

  it('fails fast on the named examples: F4 90, ED A0, E0 80', () => {
    for (const [lead, bad] of [
      [0xf4, 0x90],
      [0xed, 0xa0],
      [0xe0, 0x80],
      [0xf0, 0x8f],
    ] as const) {
      const v = new Utf8Validator();
      assert.equal(v.write(u8(lead)), true);
      assert.equal(v.valid, true);
      assert.equal(v.write(u8(bad)), false, `${lead.toString(16)} ${bad.toString(16)}`);
      assert.equal(v.valid, false);
    }
  });

  it('reports truncated sequences only at end()', () => {
    for (const [name, b] of TRUNCATED) {
      const v = new Utf8Validator();
      assert.equal(v.write(b), true, name);
      assert.equal(v.end(), false, name);
      assert.equal(isValidUtf8(b), false, name);
      checkAll(b, name);
    }
  });

  it('stays invalid once invalid, until reset()', () => {
    const v = new Utf8Validator();
    assert.equal(v.write(u8(0xff)), false);
    assert.equal(v.write(enc('fine')), false);
    assert.equal(v.write(new Uint8Array(0)), false);
    assert.equal(v.end(), false);
    assert.equal(v.end(), false);
    v.reset();
    assert.equal(v.valid, true);
    assert.equal(v.end(), true, 'empty input is valid');
    assert.equal(v.write(enc('fine')), true);
    assert.equal(v.end(), true);
  });

  it('reset() drops a pending sequence', () => {
    const v = new Utf8Validator();
    v.write(u8(0xe2, 0x82));
    assert.equal(v.end(), false);
    v.reset();
    assert.equal(v.write(u8(0x41)), true);
    assert.equal(v.end(), true);
  });

  it('end() does not consume state: more input may follow', () => {
    const v = new Utf8Validator();
    v.write(u8(0xe2));
    assert.equal(v.end(), false);
    v.write(u8(0x82, 0xac));
    assert.equal(v.end(), true);
  });

  it('reads only bytes[start..end)', () => {
    const b = u8(0xff, 0x41, 0xe2, 0x82, 0xac, 0x42, 0xff);
    const v = new Utf8Validator();
    assert.equal(v.write(b, 1, 6), true);
    assert.equal(v.end(), true);
    v.reset();
    assert.equal(v.write(b, 1, 1), true, 'empty range');
    assert.equal(v.write(b, 2, 4), true);
    assert.equal(v.write(b, 4, 5), true);
    assert.equal(v.end(), true);
    // Long range (word path) inside a buffer of invalid bytes.
    const long = new Uint8Array(300).fill(0xff);
    long.fill(0x61, 3, 297);
    assert.equal(v.write(long, 3, 297), true);
    assert.equal(isValidUtf8(long.subarray(3, 297)), true);
    assert.equal(isValidUtf8(long.subarray(3, 298)), false);
  });

  it('finds a bad byte at every position of long ASCII runs, at every alignment', () => {
    // Exercises the word-at-a-time ASCII scan: head bytes, aligned words, tail.
    for (const len of [63, 64, 65, 100, 131]) {
      for (let off = 0; off < 4; off++) {
        for (let pos = 0; pos < len; pos++) {
          const b = new Uint8Array(len).fill(0x61);
          b[pos] = 0x80;
          const x = atOffset(b, off);
          assert.equal(isValidUtf8(x), false, `len ${len} off ${off} pos ${pos}`);
          const v = new Utf8Validator();
          assert.equal(v.write(x, 0, pos), true);
          assert.equal(v.write(x, pos, len), false);
          // A valid 2-, 3- and 4-byte character at the same spot is accepted.
          for (const ch of ['é', '€', '😀']) {
            const c = enc(ch);
            if (pos + c.length > len) continue;
            const y = new Uint8Array(len).fill(0x61);
            y.set(c, pos);
            assert.equal(isValidUtf8(atOffset(y, off)), true, `${ch} len ${len} off ${off} pos ${pos}`);
            // Cut before the last byte: truncated.
            assert.equal(isValidUtf8(atOffset(y.subarray(0, pos + c.length - 1), off)), false);
          }
        }
      }
    }
  });

  it('agrees with TextDecoder on every 1- and 2-byte input', () => {
    const b1 = new Uint8Array(1);
    for (let a = 0; a < 256; a++) {
      b1[0] = a;
      assert.equal(isValidUtf8(b1), refValid(b1));
    }
    const b2 = new Uint8Array(2);
    const v = new Utf8Validator();
    for (let a = 0; a < 256; a++) {
      for (let c = 0; c < 256; c++) {
        b2[0] = a;
        b2[1] = c;
        const bad = refFirstInvalid(b2);
        v.reset();
        const r0 = v.write(b2, 0, 1);
        const r1 = v.write(b2, 1, 2);
        if (r0 !== (bad === -1 || bad > 0) || r1 !== (bad === -1) || isValidUtf8(b2) !== refValid(b2)) {
          assert.fail(`mismatch on ${hex(b2)}: first invalid ${bad}, writes ${r0} ${r1}`);
        }
      }
    }
  });

  it('agrees with TextDecoder on every 3-byte input with a multi-byte lead and an edge second byte', () => {
    const seconds = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
    const thirds = [0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xe0, 0xff];
    const b = new Uint8Array(3);
    for (let a = 0xc0; a < 0x100; a++) {
      for (const s of seconds) {
        for (const t of thirds) {
          b[0] = a;
          b[1] = s;
          b[2] = t;
          checkAll(b);
        }
      }
    }
  });

  it('fuzz: random mutated text agrees with TextDecoder (whole, fail-fast index, random splits)', () => {
    const rand = rng(0x5eed);
    const pick = (n: number): number => Math.floor(rand() * n);
    const randomCodePoint = (): number => {
      switch (pick(5)) {
        case 0:
          return pick(0x80);
        case 1:
          return 0x80 + pick(0x800 - 0x80);
        case 2: {
          const cp = 0x800 + pick(0x10000 - 0x800);
          return cp >= 0xd800 && cp <= 0xdfff ? 0x41 : cp;
        }
        case 3:
          return 0x10000 + pick(0x110000 - 0x10000);
        default:
          return 0x20 + pick(0x5f);
      }
    };
    const v = new Utf8Validator();
    let invalidSeen = 0;
    for (let n = 0; n < 3000; n++) {
      // Long inputs now and then, to reach the word-scan path.
      const count = pick(10) === 0 ? 40 + pick(120) : pick(24);
      let s = '';
      for (let k = 0; k < count; k++) s += String.fromCodePoint(randomCodePoint());
      let b = enc(s);
      // Mutate: flip, insert, delete or truncate a few bytes (or leave it valid).
      const mutations = pick(3);
      for (let m = 0; m < mutations; m++) {
        const arr = Array.from(b);
        const at = pick(arr.length + 1);
        const op = pick(4);
        const byte = pick(2) ? 0x80 + pick(0x80) : pick(0x100);
        if (op === 0 && at < arr.length) arr[at] = byte;
        else if (op === 1) arr.splice(at, 0, byte);
        else if (op === 2) arr.splice(at, 1);
        else arr.length = at;
        b = Uint8Array.from(arr);
      }
      const x = atOffset(b, pick(4));
      const whole = refValid(x);
      const bad = refFirstInvalid(x);
      if (!whole) invalidSeen++;
      assert.equal(isValidUtf8(x), whole, `fuzz ${n}: ${hex(x)}`);

      // Random chunking: write returns false exactly at the chunk holding the first bad byte.
      v.reset();
      let i = 0;
      while (i < x.length) {
        const j = Math.min(x.length, i + 1 + pick(pick(2) ? 4 : 80));
        const ok = v.write(x, i, j);
        assert.equal(ok, bad === -1 || bad >= j, `fuzz ${n} chunk [${i},${j}) first invalid ${bad}: ${hex(x)}`);
        i = j;
      }
      assert.equal(v.end(), whole, `fuzz ${n} end: ${hex(x)}`);
      if (x.length <= 32) checkAll(x, `fuzz ${n}: ${hex(x)}`);
    }
    assert.ok(invalidSeen > 500 && invalidSeen < 2900, `mix of valid and invalid (${invalidSeen} invalid)`);
  });
});

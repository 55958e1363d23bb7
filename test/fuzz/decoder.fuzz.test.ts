/**
 * Bounded random fuzzing of the receive path (WebSocketProtocol: frame
 * decoder → message receiver → protocol), with fixed seeds so a failure
 * replays. Inputs are valid conversations (with a known outcome), the same
 * mutated at the frame level (RSV bits, opcodes, FIN, mask bit, lengths,
 * control payloads, UTF-8, close payloads) or the byte level, and plain
 * random bytes; each is fed unsplit and in random splits (down to single
 * bytes). Properties:
 *
 * - `receive()` never throws;
 * - the connection delivers events or fails with 1002, 1007 or 1009 — and a
 *   failure sends a Close frame with that code;
 * - nothing is delivered after a Close frame;
 * - a valid conversation delivers exactly its messages, pings, pongs and Close;
 * - any split gives the same events, the same bytes out and the same verdict
 *   as the unsplit input (the code may differ only between 1007 and 1009,
 *   when one piece both exceeds the size limit and holds invalid UTF-8:
 *   which is seen first depends on where the piece ends).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketProtocol } from '../../src/core/ws/protocol.js';
import { OP, closePayload, encodeFrame, rng, type FrameSpec } from '../conformance/wire.js';

const LIMITS = { maxFrameSize: 4096, maxMessageSize: 8192, maxFragments: 16 };
const INPUTS = 20_000;
const ALLOWED = new Set([1002, 1007, 1009]);

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;

/** FNV-1a: events compare by length + hash, not by kilobytes of hex. */
function digest(b: Uint8Array): string {
  let h = 2166136261;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 16777619);
  return `${b.length}:${(h >>> 0).toString(16)}`;
}

// ---- generators ------------------------------------------------------------------------

/** Random valid UTF-8 of about `n` bytes: 1- to 4-byte code points, no surrogates. */
function utf8Text(r: Rand, n: number): Buffer {
  let s = '';
  let bytes = 0;
  while (bytes < n) {
    const k = r();
    const cp = k < 0.6 ? 0x20 + int(r, 0x5f) : k < 0.75 ? 0x80 + int(r, 0x780) : k < 0.9 ? (() => { const c = 0x800 + int(r, 0xf800); return c >= 0xd800 && c <= 0xdfff ? 0xe000 : c; })() : 0x10000 + int(r, 0x100000);
    s += String.fromCodePoint(cp);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return Buffer.from(s);
}

function randomBytes(r: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

const size = (r: Rand): number => (r() < 0.7 ? int(r, 40) : r() < 0.8 ? int(r, 300) : int(r, 3000));

interface Conversation {
  frames: FrameSpec[];
  /** The events a correct receiver delivers. */
  expect: string[];
}

/** A valid conversation: messages (some fragmented, control frames in between), pings, pongs, maybe a Close. */
function conversation(r: Rand, masked: boolean): Conversation {
  const mask = (): Uint8Array | null => (masked ? randomBytes(r, 4) : null);
  const frames: FrameSpec[] = [];
  const expect: string[] = [];
  const control = (): void => {
    const op = pick(r, [OP.PING, OP.PONG]);
    const p = randomBytes(r, r() < 0.5 ? 0 : int(r, 126));
    frames.push({ opcode: op, payload: p, mask: mask() });
    expect.push(`${op === OP.PING ? 'ping' : 'pong'}:${digest(p)}`);
  };
  const items = 1 + int(r, 5);
  for (let i = 0; i < items; i++) {
    const k = r();
    if (k < 0.25) {
      control();
      continue;
    }
    const binary = k < 0.55;
    const data = binary ? randomBytes(r, size(r)) : utf8Text(r, size(r));
    // Fragment at arbitrary byte offsets (splitting code points), ≤ maxFragments.
    const nFrag = r() < 0.5 ? 1 : Math.min(1 + int(r, 6), Math.max(1, data.length));
    const cuts = [0, ...Array.from({ length: nFrag - 1 }, () => int(r, data.length + 1)).sort((a, b) => a - b), data.length];
    for (let f = 0; f < nFrag; f++) {
      frames.push({ opcode: f === 0 ? (binary ? OP.BINARY : OP.TEXT) : OP.CONT, payload: data.subarray(cuts[f], cuts[f + 1]), fin: f === nFrag - 1, mask: mask() });
      if (f < nFrag - 1 && r() < 0.3) control();
    }
    expect.push(`${binary ? 'B' : 'T'}:${digest(data)}`);
  }
  if (r() < 0.4) {
    const withCode = r() < 0.8;
    const code = pick(r, [1000, 1001, 1003, 1008, 1011, 3000, 4999]);
    // A reason of whole code points, at most 63 bytes (123 fit).
    const reason = withCode && r() < 0.5 ? utf8Text(r, int(r, 60)) : Buffer.alloc(0);
    frames.push({ opcode: OP.CLOSE, payload: withCode ? closePayload(code, reason) : Buffer.alloc(0), mask: mask() });
    expect.push(`close:${withCode ? code : 1005}:${reason.toString()}`);
    if (r() < 0.5) frames.push({ opcode: OP.TEXT, payload: 'ignored after close', mask: mask() });
  }
  return { frames, expect };
}

/** Break one frame the way a broken or hostile peer would. */
function mutateFrame(r: Rand, f: FrameSpec, masked: boolean): FrameSpec {
  const p = Buffer.from(f.payload ?? []);
  switch (int(r, 10)) {
    case 0:
      return { ...f, rsv: 1 + int(r, 7) };
    case 1:
      return { ...f, opcode: pick(r, [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) };
    case 2:
      return { ...f, fin: !(f.fin ?? true) };
    case 3:
      return { ...f, mask: masked ? null : randomBytes(r, 4) };
    case 4:
      return { ...f, opcode: pick(r, [OP.PING, OP.PONG, OP.CLOSE]), payload: randomBytes(r, 126 + int(r, 200)) };
    case 5: {
      // Invalid UTF-8 into a text payload.
      const bad = pick(r, [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82]]);
      const at = int(r, p.length + 1);
      return { ...f, opcode: f.opcode === OP.CONT ? OP.CONT : OP.TEXT, payload: Buffer.concat([p.subarray(0, at), Buffer.from(bad), p.subarray(at)]) };
    }
    case 6:
      return { ...f, opcode: OP.CLOSE, payload: pick(r, [Buffer.from([0x03]), closePayload(pick(r, [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])), Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])])]) };
    case 7:
      return { ...f, opcode: OP.CONT };
    case 8:
      return { ...f, payload: randomBytes(r, LIMITS.maxFrameSize + 1 + int(r, 100)) };
    default:
      return { ...f, payload: randomBytes(r, int(r, 200)) };
  }
}

/** Byte-level damage: flip, overwrite, insert, delete, truncate, duplicate. */
function mutateBytes(r: Rand, b: Buffer): Buffer {
  let out = Buffer.from(b);
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const at = int(r, out.length + 1);
    switch (int(r, 6)) {
      case 0:
        if (out.length) out[at % out.length] = (out[at % out.length] as number) ^ (1 << int(r, 8));
        break;
      case 1:
        if (out.length) out[at % out.length] = int(r, 256);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), randomBytes(r, 1 + int(r, 16)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(r, 16))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      default:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + int(r, 64)), out.subarray(at)]);
    }
  }
  // Sometimes a huge 64-bit length, or one with the MSB set.
  if (out.length >= 10 && r() < 0.05) {
    out[1] = ((out[1] as number) & 0x80) | 127;
    out.writeUInt32BE(r() < 0.5 ? 0x80000000 : int(r, 0x200000), 2);
  }
  return out;
}

// ---- running the protocol -----------------------------------------------------------------

interface Outcome {
  events: string[];
  out: string;
  code: number | null;
  /** Events delivered after a Close frame. */
  afterClose: number;
  threw: unknown;
  /** The Close frame written when the connection failed, if any: its code. */
  failClose: number | null;
}

function run(role: 'client' | 'server', chunks: Uint8Array[]): Outcome {
  const events: string[] = [];
  const out: Buffer[] = [];
  let code: number | null = null;
  let closed = false;
  let afterClose = 0;
  let failClose: number | null = null;
  const note = (e: string): void => {
    if (closed) afterClose++;
    events.push(e);
  };
  const p = new WebSocketProtocol(
    { role, ...LIMITS, maskKey: (k) => k.fill(0x5a) },
    {
      write: (b) => out.push(Buffer.from(b)),
      closeTransport: () => {},
      onMessage: (d, binary) => note(`${binary ? 'B' : 'T'}:${digest(d)}`),
      onPing: (d) => note(`ping:${digest(d)}`),
      onPong: (d) => note(`pong:${digest(d)}`),
      onCloseFrame: (c, reason) => {
        note(`close:${c}:${reason}`);
        closed = true;
      },
      onError: (e) => {
        code = e.closeCode;
      },
    },
  );
  let threw: unknown = null;
  for (const c of chunks) {
    try {
      p.receive(c);
    } catch (err) {
      threw = err;
      break;
    }
  }
  const bytes = Buffer.concat(out);
  // The last frame written when failing must be a Close with the code.
  if (code !== null) failClose = lastClose(bytes, role === 'client');
  return { events, out: digest(bytes), code, afterClose, threw, failClose };
}

/** The code of the last Close frame in `bytes` (frames we wrote), or null. */
function lastClose(bytes: Buffer, masked: boolean): number | null {
  let pos = 0;
  let code: number | null = null;
  while (pos + 2 <= bytes.length) {
    const op = (bytes[pos] as number) & 0x0f;
    let len = (bytes[pos + 1] as number) & 0x7f;
    let h = 2;
    if (len === 126) {
      len = bytes.readUInt16BE(pos + 2);
      h = 4;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(pos + 2));
      h = 10;
    }
    const key = masked ? bytes.subarray(pos + h, pos + h + 4) : null;
    if (masked) h += 4;
    if (op === OP.CLOSE && len >= 2) {
      const b0 = (bytes[pos + h] as number) ^ (key ? (key[0] as number) : 0);
      const b1 = (bytes[pos + h + 1] as number) ^ (key ? (key[1] as number) : 0);
      code = (b0 << 8) | b1;
    }
    pos += h + len;
  }
  return code;
}

/** Random cut points; now and then byte by byte. Copies: the decoder unmasks in place. */
function split(r: Rand, b: Buffer): Uint8Array[] {
  if (b.length <= 64 && r() < 0.2) return Array.from(b, (x) => Uint8Array.of(x));
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < b.length) {
    const n = 1 + int(r, r() < 0.5 ? 8 : 512);
    out.push(Uint8Array.prototype.slice.call(b, pos, pos + n));
    pos += n;
  }
  return out;
}

const whole = (b: Buffer): Uint8Array[] => [Uint8Array.prototype.slice.call(b)];

function check(role: 'client' | 'server', input: Buffer, r: Rand, expect: string[] | null, label: () => string): number | null {
  const a = run(role, whole(input));
  const b = run(role, split(r, input));
  for (const o of [a, b]) {
    assert.equal(o.threw, null, `${label()}: receive() threw ${String(o.threw)}`);
    if (o.code !== null) {
      assert.ok(ALLOWED.has(o.code), `${label()}: failed with ${o.code}`);
      // A Close with the code goes out, unless a Close was already exchanged.
      if (!o.events.some((e) => e.startsWith('close:'))) assert.equal(o.failClose, o.code, `${label()}: the failure's Close frame`);
    }
    assert.equal(o.afterClose, 0, `${label()}: ${o.afterClose} event(s) delivered after the Close frame`);
  }
  assert.deepEqual(b.events, a.events, `${label()}: events differ when split`);
  assert.equal(b.code === null, a.code === null, `${label()}: verdict differs when split (${a.code} vs ${b.code})`);
  if (a.code !== b.code) assert.deepEqual([a.code, b.code].sort(), [1007, 1009], `${label()}: codes ${a.code} vs ${b.code}`);
  else assert.equal(b.out, a.out, `${label()}: bytes out differ when split`);
  if (expect) {
    assert.equal(a.code, null, `${label()}: a valid conversation failed with ${a.code}`);
    assert.deepEqual(a.events, expect, `${label()}: events of a valid conversation`);
  }
  return a.code;
}

describe('fuzz: WebSocketProtocol receive path', () => {
  for (const [role, seed] of [
    ['server', 0xa11ce],
    ['client', 0xb0b],
  ] as const) {
    it(`${role} role: ${INPUTS / 2} inputs (valid, frame-mutated, byte-mutated, random), unsplit and split (seed ${seed})`, { timeout: 30_000 }, (t) => {
      const r = rng(seed);
      const masked = role === 'server';
      const counts = { valid: 0, frameMutated: 0, byteMutated: 0, random: 0 };
      const verdicts = new Map<string, number>();
      const tally = (code: number | null): void => {
        const k = String(code ?? 'ok');
        verdicts.set(k, (verdicts.get(k) ?? 0) + 1);
      };
      for (let i = 0; i < INPUTS / 2; i++) {
        const k = r();
        const label = (): string => `${role} seed ${seed} input #${i}`;
        if (k < 0.1) {
          counts.random++;
          tally(check(role, randomBytes(r, int(r, 200)), r, null, label));
          continue;
        }
        const conv = conversation(r, masked);
        if (k < 0.4) {
          counts.valid++;
          tally(check(role, Buffer.concat(conv.frames.map(encodeFrame)), r, conv.expect, label));
          continue;
        }
        let frames = conv.frames;
        if (k < 0.75) {
          counts.frameMutated++;
          const at = int(r, frames.length);
          frames = frames.map((f, j) => (j === at ? mutateFrame(r, f, masked) : f));
          tally(check(role, Buffer.concat(frames.map(encodeFrame)), r, null, label));
        } else {
          counts.byteMutated++;
          tally(check(role, mutateBytes(r, Buffer.concat(frames.map(encodeFrame))), r, null, label));
        }
      }
      // Every class was exercised.
      for (const [k, n] of Object.entries(counts)) assert.ok(n > INPUTS / 40, `${k}: ${n}`);
      for (const code of ALLOWED) assert.ok((verdicts.get(String(code)) ?? 0) > 0, `no input failed with ${code}`);
      t.diagnostic(`inputs ${JSON.stringify(counts)}; verdicts ${JSON.stringify(Object.fromEntries(verdicts))}`);
    });
  }
});

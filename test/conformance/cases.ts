/**
 * The Autobahn Testsuite's cases 1–10, rewritten as data: what the fuzzer
 * sends (frames, chops, pauses) and Autobahn's strict ("OK") expectation —
 * the events the peer must produce, how the connection must close, with
 * which code. Read from crossbario/autobahn-testsuite
 * (autobahntestsuite/case/caseX_Y_Z.py); the bytes and expectations follow
 * those cases, the code is ours.
 *
 * The same table runs against our server (the fuzzer is a raw client) and
 * against our client (the fuzzer is a raw server): {@link RawConn} masks or
 * not according to its role.
 *
 * Autobahn's verdicts, for reference: a case is "OK" when the events equal
 * the strict expectation, "NON-STRICT" when they equal a lenient one (e.g.
 * failing at the end of a message instead of at the first invalid UTF-8
 * byte), "FAILED" otherwise; the close is judged separately (who closed,
 * clean or not, the code). Here only "OK" passes.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { OP, closePayload, msg, pong, show, type Ev, type FrameSpec, type RawConn } from './wire.js';

/**
 * How the case ends.
 * - `fuzzer`: once the expected events are in, the fuzzer closes with 1000;
 *   the peer must answer with 1000 (Autobahn: closedByMe, requireClean).
 * - `case`: the case itself sends a Close; the peer must answer with one of
 *   `codes` (null: an empty Close frame).
 * - `peer`: the peer must fail the connection, sending a Close with one of `codes`.
 */
export type CloseSpec = { by: 'fuzzer' } | { by: 'case'; codes: Array<number | null> } | { by: 'peer'; codes: number[] };

export interface Case {
  id: string;
  title: string;
  /** Send what the case sends; may assert timing (fail-fast cases). */
  run(c: RawConn): Promise<void>;
  /** Autobahn's strict expectation. */
  expect: Ev[];
  close: CloseSpec;
  /** Autobahn grades the case INFORMATIONAL: we assert our own (sane) behaviour. */
  informational?: string;
  /** Per-case time limit for the peer's answers, ms. */
  waitMs?: number;
  /** With `close.by === 'case'`: the fuzzer's Close is invalid, so the peer fails the connection (not clean). */
  peerFails?: boolean;
}

const FAIL_1002: CloseSpec = { by: 'peer', codes: [1002] };
const FAIL_1007: CloseSpec = { by: 'peer', codes: [1007] };
const NORMAL: CloseSpec = { by: 'fuzzer' };

type Chop = 'one' | 'frames' | 'octets';

/** Send frames in one write, frame by frame, or octet by octet (Autobahn's three ways). */
function send(c: RawConn, specs: FrameSpec[], how: Chop = 'one'): Promise<void> {
  if (how === 'frames') return specs.reduce<Promise<void>>((p, s) => p.then(() => c.send(s, { sync: true })), Promise.resolve());
  const all = Buffer.concat(specs.map((s) => c.frame(s)));
  for (const s of specs) if (s.opcode === OP.CLOSE) c.closeSent = true;
  return c.write(all, how === 'octets' ? 1 : 0);
}

const sends = (specs: FrameSpec[], how: Chop = 'one') => (c: RawConn) => send(c, specs, how);
const text = (payload: Uint8Array | string, o: Partial<FrameSpec> = {}): FrameSpec => ({ opcode: OP.TEXT, payload, ...o });
const bin = (payload: Uint8Array | string, o: Partial<FrameSpec> = {}): FrameSpec => ({ opcode: OP.BINARY, payload, ...o });
const cont = (payload: Uint8Array | string, fin: boolean): FrameSpec => ({ opcode: OP.CONT, payload, fin });
const ping = (payload: Uint8Array | string = '', o: Partial<FrameSpec> = {}): FrameSpec => ({ opcode: OP.PING, payload, ...o });
const pongF = (payload: Uint8Array | string = ''): FrameSpec => ({ opcode: OP.PONG, payload });
const closeF = (code?: number, reason: string | Buffer = ''): FrameSpec => ({ opcode: OP.CLOSE, payload: closePayload(code, reason) });
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** Split a payload into frames of `size` bytes (the first TEXT/BINARY, then continuations). */
function fragmented(opcode: number, payload: Buffer, size: number): FrameSpec[] {
  const out: FrameSpec[] = [];
  for (let i = 0; i < payload.length || i === 0; i += size) {
    out.push({ opcode: i === 0 ? opcode : OP.CONT, payload: payload.subarray(i, i + size), fin: i + size >= payload.length });
    if (payload.length === 0) break;
  }
  return out;
}

// ---- 1 Framing -------------------------------------------------------------------

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];

function framing(): Case[] {
  const out: Case[] = [];
  for (const binary of [false, true]) {
    const sub = binary ? 2 : 1;
    const make = (n: number, chop = 0): Case => {
      const payload = binary ? Buffer.alloc(n, 0xfe) : Buffer.alloc(n, '*');
      return {
        id: `1.${sub}.${out.filter((x) => x.id.startsWith(`1.${sub}.`)).length + 1}`,
        title: `${binary ? 'binary' : 'text'} message of ${n} bytes${chop ? `, sent in chops of ${chop} octets` : ''}`,
        run: (c) => c.write(c.frame({ opcode: binary ? OP.BINARY : OP.TEXT, payload }), chop),
        expect: [msg(payload, binary)],
        close: NORMAL,
      };
    };
    for (const n of LENGTHS) out.push(make(n));
    out.push(make(65536, 997));
  }
  return out;
}

// ---- 2 Pings/Pongs ---------------------------------------------------------------

function pings(): Case[] {
  const b8 = hex('00 ff fe fd fc fb 00 ff');
  const fe = (n: number) => Buffer.alloc(n, 0xfe);
  const ten = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
  return [
    { id: '2.1', title: 'ping without payload', run: sends([ping()]), expect: [pong()], close: NORMAL },
    { id: '2.2', title: 'ping with a small text payload', run: sends([ping('Hello, world!')]), expect: [pong('Hello, world!')], close: NORMAL },
    { id: '2.3', title: 'ping with a small binary payload', run: sends([ping(b8)]), expect: [pong(b8)], close: NORMAL },
    { id: '2.4', title: 'ping with a 125-byte binary payload', run: sends([ping(fe(125))]), expect: [pong(fe(125))], close: NORMAL },
    { id: '2.5', title: 'ping with a 126-byte payload: control frames carry at most 125', run: sends([ping(fe(126))]), expect: [], close: FAIL_1002 },
    { id: '2.6', title: 'ping with 125 bytes, sent octet by octet', run: sends([ping(fe(125))], 'octets'), expect: [pong(fe(125))], close: NORMAL },
    { id: '2.7', title: 'unsolicited pong without payload: ignored', run: sends([pongF()]), expect: [], close: NORMAL },
    { id: '2.8', title: 'unsolicited pong with payload: ignored', run: sends([pongF('unsolicited pong payload')]), expect: [], close: NORMAL },
    { id: '2.9', title: 'unsolicited pong, then ping: only the ping is answered', run: sends([pongF('unsolicited pong payload'), ping('ping payload')]), expect: [pong('ping payload')], close: NORMAL },
    { id: '2.10', title: '10 pings in a row: 10 pongs, in order', run: sends(ten.map((p) => ping(p))), expect: ten.map((p) => pong(p)), close: NORMAL },
    { id: '2.11', title: '10 pings sent octet by octet', run: sends(ten.map((p) => ping(p)), 'octets'), expect: ten.map((p) => pong(p)), close: NORMAL },
  ];
}

// ---- 3 Reserved bits ---------------------------------------------------------------

function reservedBits(): Case[] {
  const hw = 'Hello, world!';
  const then = (rsv: number, how: Chop): Case['run'] => sends([text(hw), text(hw, { rsv }), ping()], how);
  return [
    { id: '3.1', title: 'text with RSV = 1 (no extension agreed)', run: sends([text(hw, { rsv: 4 })]), expect: [], close: FAIL_1002 },
    { id: '3.2', title: 'text, then text with RSV = 2, then ping: echo, then fail; no pong', run: then(2, 'one'), expect: [msg(hw)], close: FAIL_1002 },
    { id: '3.3', title: 'as 3.2 with RSV = 3, frame by frame', run: then(1 | 2, 'frames'), expect: [msg(hw)], close: FAIL_1002 },
    { id: '3.4', title: 'as 3.2 with RSV = 4, octet by octet', run: then(4, 'octets'), expect: [msg(hw)], close: FAIL_1002 },
    { id: '3.5', title: 'binary with RSV = 5', run: sends([bin(hex('00 ff fe fd fc fb 00 ff'), { rsv: 5 })]), expect: [], close: FAIL_1002 },
    { id: '3.6', title: 'ping with RSV = 6', run: sends([ping(hw, { rsv: 6 })]), expect: [], close: FAIL_1002 },
    { id: '3.7', title: 'close with RSV = 7', run: sends([{ ...closeF(), rsv: 7 }]), expect: [], close: FAIL_1002 },
  ];
}

// ---- 4 Opcodes ----------------------------------------------------------------------

function opcodes(): Case[] {
  const hw = 'Hello, world!';
  const out: Case[] = [];
  const groups: Array<[number, number[]]> = [
    [1, [3, 4, 5, 6, 7]],
    [2, [11, 12, 13, 14, 15]],
  ];
  for (const [g, ops] of groups) {
    ops.forEach((op, i) => {
      // X.1 empty; X.2 with payload; X.3 after a message, empty; X.4/X.5 after a message, with payload.
      const withPayload = i !== 0 && i !== 2;
      const after = i >= 2;
      const frame: FrameSpec = { opcode: op, payload: withPayload ? (after ? hw : 'reserved opcode payload') : '' };
      out.push({
        id: `4.${g}.${i + 1}`,
        title: `reserved ${g === 1 ? 'non-control' : 'control'} opcode ${op}${withPayload ? ' with payload' : ''}${after ? ', after a text message, then ping' : ''}`,
        run: sends(after ? [text(hw), frame, ping()] : [frame]),
        expect: after ? [msg(hw)] : [],
        close: FAIL_1002,
      });
    });
  }
  return out;
}

// ---- 5 Fragmentation -------------------------------------------------------------

function fragmentation(): Case[] {
  const f = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5'];
  const twoFrags = [text(f[0] as string, { fin: false }), cont(f[1] as string, true)];
  const withPing = [text(f[0] as string, { fin: false }), ping('ping payload'), cont(f[1] as string, true)];
  const noStart = (fin: boolean) => [cont('non-continuation payload', fin), text('Hello, world!')];
  const out: Case[] = [
    { id: '5.1', title: 'ping fragmented into 2 frames', run: sends([ping(f[0] as string, { fin: false }), cont(f[1] as string, true)]), expect: [], close: FAIL_1002 },
    { id: '5.2', title: 'pong fragmented into 2 frames', run: sends([{ opcode: OP.PONG, payload: f[0], fin: false }, cont(f[1] as string, true)]), expect: [], close: FAIL_1002 },
  ];
  const how: Chop[] = ['one', 'frames', 'octets'];
  how.forEach((h, i) => out.push({ id: `5.${3 + i}`, title: `text in 2 fragments (${h})`, run: sends(twoFrags, h), expect: [msg('fragment1fragment2')], close: NORMAL }));
  how.forEach((h, i) =>
    out.push({ id: `5.${6 + i}`, title: `text in 2 fragments, a ping in between (${h})`, run: sends(withPing, h), expect: [pong('ping payload'), msg('fragment1fragment2')], close: NORMAL }),
  );
  how.forEach((h, i) => out.push({ id: `5.${9 + i}`, title: `continuation (FIN) with nothing to continue, then text (${h})`, run: sends(noStart(true), h), expect: [], close: FAIL_1002 }));
  how.forEach((h, i) => out.push({ id: `5.${12 + i}`, title: `continuation (no FIN) with nothing to continue, then text (${h})`, run: sends(noStart(false), h), expect: [], close: FAIL_1002 }));
  out.push(
    {
      id: '5.15',
      title: 'text in 2 fragments, then a continuation with nothing to continue, then text',
      run: sends([text(f[0] as string, { fin: false }), cont(f[1] as string, true), cont(f[2] as string, false), text(f[3] as string)]),
      expect: [msg('fragment1fragment2')],
      close: FAIL_1002,
    },
    {
      id: '5.16',
      title: '2x: continuation (no FIN) with nothing to continue, then text in 2 fragments',
      run: sends([0, 1].flatMap(() => [cont('fragment1', false), text('fragment2', { fin: false }), cont('fragment3', true)])),
      expect: [],
      close: FAIL_1002,
    },
    {
      id: '5.17',
      title: '2x: continuation (FIN) with nothing to continue, then text in 2 fragments',
      run: sends([0, 1].flatMap(() => [cont('fragment1', true), text('fragment2', { fin: false }), cont('fragment3', true)])),
      expect: [],
      close: FAIL_1002,
    },
    { id: '5.18', title: 'text in 2 fragments, both with opcode text', run: sends([text(f[0] as string, { fin: false }), text(f[1] as string)]), expect: [], close: FAIL_1002 },
  );
  for (const [id, how2] of [
    ['5.19', 'one'],
    ['5.20', 'frames'],
  ] as const) {
    out.push({
      id,
      title: `text in 5 fragments, pings in between, a pause after the first ping (${how2}): the first ping is answered at once`,
      run: async (c) => {
        await send(c, [text(f[0] as string, { fin: false }), cont(f[1] as string, false), ping('pongme 1!')], how2);
        // Autobahn waits 1 s here and expects the first pong before the message ends.
        assert.ok(await c.waitFor(() => c.events.length >= 1, 1000), `${id}: no pong for the first ping while the message is incomplete`);
        await send(c, [cont(f[2] as string, false), cont(f[3] as string, false), ping('pongme 2!'), cont(f[4] as string, true)], how2);
      },
      expect: [pong('pongme 1!'), pong('pongme 2!'), msg(f.join(''))],
      close: NORMAL,
    });
  }
  return out;
}

// ---- 6 UTF-8 -----------------------------------------------------------------------

const KOSME = hex('ce ba e1 bd b9 cf 83 ce bc ce b5'); // κόσμε
const HELLO_UTF8 = 'Hello-µ@ßöäüàá-UTF-8!!';

/**
 * The UTF-8 sequences of cases 6.5–6.23 (from Markus Kuhn's UTF-8-test.txt,
 * as Autobahn groups them): [title, [valid?, bytes][]].
 */
export function utf8Sequences(): Array<[string, Array<[boolean, Buffer]>]> {
  const t: Array<[string, Array<[boolean, Buffer]>]> = [];
  const V = (h: string): [boolean, Buffer] => [true, hex(h)];
  const X = (h: string): [boolean, Buffer] => [false, hex(h)];
  t.push(['Some valid UTF-8 sequences', [[true, Buffer.from('hello\x24world', 'latin1')], [true, Buffer.concat([Buffer.from('hello'), hex('c2a2'), Buffer.from('world')])], [true, Buffer.concat([Buffer.from('hello'), hex('e282ac'), Buffer.from('world')])], [true, Buffer.concat([Buffer.from('hello'), hex('f0a4ada2'), Buffer.from('world')])], [true, KOSME]]]);
  t.push(['All prefixes of a valid UTF-8 string with multi-byte code points', Array.from({ length: KOSME.length }, (_, i) => [isUtf8(KOSME.subarray(0, i + 1)), KOSME.subarray(0, i + 1)] as [boolean, Buffer])]);
  t.push(['First possible sequence of a certain length', [V('00'), V('c280'), V('e0a080'), V('f0908080')]]);
  t.push(['First possible sequence length 5/6 (invalid code points)', [X('f888808080'), X('fc8480808080')]]);
  t.push(['Last possible sequence of a certain length', [V('7f'), V('dfbf'), V('efbfbf'), V('f48fbfbf')]]);
  t.push(['Last possible sequence length 4/5/6 (invalid code points)', [X('f7bfbfbf'), X('fbbfbfbfbf'), X('fdbfbfbfbfbf')]]);
  t.push(['Other boundary conditions', [V('ed9fbf'), V('ee8080'), V('efbfbd'), V('f48fbfbf'), X('f4908080')]]);
  const range = (a: number, b: number) => Buffer.from(Array.from({ length: b - a }, (_, i) => a + i));
  t.push(['Unexpected continuation bytes', [X('80'), X('bf'), X('80bf'), X('80bf80'), X('80bf80bf'), X('80bf80bf80'), X('80bf80bf80bf'), [false, range(0x80, 0xbf)]]]);
  const lonely = (a: number, b: number) => Buffer.from(Array.from({ length: b - a }, (_, i) => [a + i, 0x20]).flat());
  t.push(['Lonely start characters', [[false, lonely(0xc0, 0xdf)], [false, lonely(0xe0, 0xef)], [false, lonely(0xf0, 0xf7)], [false, lonely(0xf8, 0xfb)], [false, lonely(0xfc, 0xfd)]]]);
  const missing = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'];
  t.push(['Sequences with last continuation byte missing', missing.map(X)]);
  t.push(['Concatenation of incomplete sequences', [X(missing.join(''))]]);
  t.push(['Impossible bytes', [X('fe'), X('ff'), X('fefeffff')]]);
  t.push(['Examples of an overlong ASCII character', [X('c0af'), X('e080af'), X('f08080af'), X('f8808080af'), X('fc80808080af')]]);
  t.push(['Maximum overlong sequences', [X('c1bf'), X('e09fbf'), X('f08fbfbf'), X('f887bfbfbf'), X('fc83bfbfbfbf')]]);
  t.push(['Overlong representation of the NUL character', [X('c080'), X('e08080'), X('f0808080'), X('f880808080'), X('fc8080808080')]]);
  t.push(['Single UTF-16 surrogates', ['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf'].map(X)]);
  const hi = ['eda080', 'edadbf', 'edae80', 'edafbf'];
  const lo = ['edb080', 'edbfbf'];
  t.push(['Paired UTF-16 surrogates', hi.flatMap((h) => lo.map((l) => X(h + l)))]);
  // Non-characters are valid UTF-8 (RFC 3629).
  const nonchars: Array<[boolean, Buffer]> = [V('efbfbe'), V('efbfbf')];
  for (const z1 of ['f0', 'f1', 'f2', 'f3', 'f4']) {
    for (const z2 of ['8f', '9f', 'af', 'bf']) {
      if (z1 === 'f4' && z2 !== '8f') continue; // above U+10FFFF
      for (const z3 of ['be', 'bf']) {
        const zz = z1 + z2 + 'bf' + z3;
        if (zz !== 'f08fbfbe' && zz !== 'f08fbfbf') nonchars.push(V(zz)); // overlong
      }
    }
  }
  t.push(['Non-character code points (valid UTF-8)', nonchars]);
  t.push(['Unicode specials (i.e. replacement char)', ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map(V)]);
  return t;
}

function utf8(): Case[] {
  const out: Case[] = [
    { id: '6.1.1', title: 'empty text message', run: sends([text('')]), expect: [msg('')], close: NORMAL },
    { id: '6.1.2', title: 'text in 3 empty fragments', run: sends([text('', { fin: false }), cont('', false), cont('', true)]), expect: [msg('')], close: NORMAL },
    { id: '6.1.3', title: 'text in 3 fragments, the first and last empty', run: sends([text('', { fin: false }), cont('middle frame payload', false), cont('', true)]), expect: [msg('middle frame payload')], close: NORMAL },
    { id: '6.2.1', title: 'valid UTF-8 in one frame', run: sends([text(HELLO_UTF8)]), expect: [msg(HELLO_UTF8)], close: NORMAL },
    { id: '6.2.2', title: 'valid UTF-8 in 2 fragments, split on a code point boundary', run: sends([text('Hello-µ@ßöä', { fin: false }), cont('üàá-UTF-8!!', true)]), expect: [msg(HELLO_UTF8)], close: NORMAL },
    { id: '6.2.3', title: 'valid UTF-8 in 1-octet fragments (splitting code points)', run: sends(fragmented(OP.TEXT, Buffer.from(HELLO_UTF8), 1)), expect: [msg(HELLO_UTF8)], close: NORMAL },
    { id: '6.2.4', title: 'κόσμε in 1-octet fragments', run: sends(fragmented(OP.TEXT, KOSME, 1)), expect: [msg(KOSME)], close: NORMAL },
  ];
  // 6.3: invalid exactly at byte 12 (0xa0, a surrogate).
  const bad = Buffer.concat([KOSME, hex('eda080'), hex('656469746564')]);
  out.push(
    { id: '6.3.1', title: 'invalid UTF-8, unfragmented', run: sends([text(bad)]), expect: [], close: FAIL_1007 },
    { id: '6.3.2', title: 'invalid UTF-8 in 1-octet fragments', run: sends(fragmented(OP.TEXT, bad, 1)), expect: [], close: FAIL_1007 },
  );
  // 6.4: fail fast. PART2 = U+110000 in the UTF-8 scheme: invalid at its 2nd byte (0x90).
  const p1 = KOSME;
  const p2 = hex('f4908080');
  const p3 = hex('656469746564');
  const whole = Buffer.concat([p1, p2, p3]);
  const failFast = (id: string, title: string, parts: (c: RawConn) => Buffer[]): Case => ({
    id,
    title: `fail fast: ${title}`,
    run: async (c) => {
      const [a, b, rest] = parts(c) as [Buffer, Buffer, Buffer];
      await c.write(a);
      // Autobahn waits 1 s: the valid part alone must not fail the connection ("timeout A").
      assert.equal(await c.waitFor(() => c.close !== null || c.peerEnded, 150), false, `${id}: failed on the valid first part`);
      await c.write(b);
      // Strict: the Close (1007) comes before the rest is sent. Only a timeout
      // ("timeout B", then failing at the end of the message) is NON-STRICT.
      assert.ok(await c.waitFor(() => c.close !== null, 1000), `${id}: NON-STRICT — no Close within 1 s of the invalid byte; the peer waited for the rest of the frame/message`);
      void rest; // never sent
    },
    expect: [],
    close: FAIL_1007,
  });
  /** One frame with the whole payload, cut into three writes at `cut1`, `cut2` of the payload. */
  const chopsOfOneFrame = (c: RawConn, cut1: number, cut2: number): Buffer[] => {
    const fr = c.frame(text(whole));
    const head = fr.length - whole.length;
    return [fr.subarray(0, head + cut1), fr.subarray(head + cut1, head + cut2), fr.subarray(head + cut2)];
  };
  out.push(
    failFast('6.4.1', '3 frames, the 2nd holds the invalid sequence', (c) => [c.frame(text(p1, { fin: false })), c.frame(cont(p2, false)), c.frame(cont(p3, true))]),
    failFast('6.4.2', '3 frames, the 2nd is just the invalid octet', (c) => [c.frame(text(whole.subarray(0, 12), { fin: false })), c.frame(cont(whole.subarray(12, 13), false)), c.frame(cont(whole.subarray(13), true))]),
    failFast('6.4.3', 'one frame in 3 chops, the 2nd holds the invalid sequence', (c) => chopsOfOneFrame(c, p1.length, p1.length + p2.length)),
    failFast('6.4.4', 'one frame in 3 chops, the 2nd is just the invalid octet', (c) => chopsOfOneFrame(c, 12, 13)),
  );
  utf8Sequences().forEach(([title, seqs], gi) => {
    seqs.forEach(([valid, payload], i) => {
      out.push({
        id: `6.${5 + gi}.${i + 1}`,
        title: `${title}: 0x${payload.toString('hex').slice(0, 40)}${payload.length > 20 ? '…' : ''} (${valid ? 'valid' : 'invalid'})`,
        run: sends([text(payload)]),
        expect: valid ? [msg(payload)] : [],
        close: valid ? NORMAL : FAIL_1007,
      });
    });
  });
  return out;
}

// ---- 7 Close handling -----------------------------------------------------------------

/** Close codes a peer may send (7.7.x) and ones it must reject (7.9.x), as the current Autobahn lists them. */
export const VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
export const INVALID_CLOSE_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

function closing(): Case[] {
  const hw = 'Hello World!';
  const after = (code: number | null) => ({ by: 'case', codes: code === null ? [null] : [code] }) as CloseSpec;
  const out: Case[] = [
    { id: '7.1.1', title: 'text message, then close', run: sends([text(hw)]), expect: [msg(hw)], close: NORMAL },
    { id: '7.1.2', title: 'two close frames: the second is ignored', run: sends([closeF(1000), closeF()]), expect: [], close: after(1000) },
    { id: '7.1.3', title: 'ping after close: no pong', run: sends([closeF(1000), ping()]), expect: [], close: after(1000) },
    { id: '7.1.4', title: 'text after close: not echoed', run: sends([closeF(1000), text(hw)]), expect: [], close: after(1000) },
    { id: '7.1.5', title: 'fragment, close, last fragment: no message', run: sends([text('fragment1', { fin: false }), closeF(1000), cont('fragment2', true)]), expect: [], close: after(1000) },
    {
      id: '7.1.6',
      title: '256 KiB text, text, close, ping back to back',
      informational: 'Autobahn grades 7.1.6 INFORMATIONAL; we require both messages echoed before the Close reply',
      run: sends([text(Buffer.alloc(256 * 1024, 'BAsd7&jh23')), text(hw), closeF(1000), ping()]),
      expect: [msg(Buffer.alloc(256 * 1024, 'BAsd7&jh23')), msg(hw)],
      close: after(1000),
    },
    // 7.3.1: Autobahn accepts 1000 or an empty reply ("close code should have been 1000 or empty").
    { id: '7.3.1', title: 'close with an empty payload', run: sends([closeF()]), expect: [], close: { by: 'case', codes: [null, 1000] } },
    { id: '7.3.2', title: 'close with a 1-byte payload', run: sends([{ opcode: OP.CLOSE, payload: 'a' }]), expect: [], close: after(1002), peerFails: true },
    { id: '7.3.3', title: 'close with a code, no reason', run: sends([closeF(1000)]), expect: [], close: after(1000) },
    { id: '7.3.4', title: 'close with a code and a reason', run: sends([closeF(1000, hw)]), expect: [], close: after(1000) },
    { id: '7.3.5', title: 'close with a 123-byte reason (payload 125 bytes)', run: sends([closeF(1000, '*'.repeat(123))]), expect: [], close: after(1000) },
    { id: '7.3.6', title: 'close with a 124-byte reason (payload 126 bytes)', run: sends([closeF(1000, '*'.repeat(124))]), expect: [], close: after(1002), peerFails: true },
    // Autobahn takes 1002 or 1007 here; 1007 is the code for invalid UTF-8 (§7.4.1).
    { id: '7.5.1', title: 'close with a reason that is not UTF-8', run: sends([closeF(1000, Buffer.concat([KOSME, hex('eda080 656469746564')]))]), expect: [], close: { by: 'case', codes: [1002, 1007] }, peerFails: true },
  ];
  VALID_CLOSE_CODES.forEach((code, i) => out.push({ id: `7.7.${i + 1}`, title: `close with valid code ${code}: echoed`, run: sends([closeF(code)]), expect: [], close: { by: 'case', codes: [code, 1000] } }));
  INVALID_CLOSE_CODES.forEach((code, i) => out.push({ id: `7.9.${i + 1}`, title: `close with invalid code ${code}`, run: sends([closeF(code)]), expect: [], close: after(1002), peerFails: true }));
  for (const [id, code] of [
    ['7.13.1', 5000],
    ['7.13.2', 65535],
  ] as const) {
    out.push({ id, title: `close with code ${code}`, informational: 'Autobahn: "actual events are undefined by the spec"; we fail with 1002 (§7.4.2: codes ≥ 5000 are not used)', run: sends([closeF(code)]), expect: [], close: after(1002), peerFails: true });
  }
  return out;
}

// ---- 9 Limits/Performance (a bounded subset, correctness only) ----------------------

/** Valid UTF-8 of exactly `n` bytes mixing 1-, 2-, 3- and 4-byte code points. */
export function mixedText(n: number): Buffer {
  const unit = Buffer.from('BAsd7&jh23-µß-€✓-😀-'); // 1..4-byte code points
  const out = Buffer.alloc(n, '*');
  const whole = Math.floor(n / unit.length) * unit.length;
  for (let i = 0; i < whole; i += unit.length) unit.copy(out, i);
  return out;
}

function limits(): Case[] {
  const MiB = 1024 * 1024;
  const out: Case[] = [];
  const one = (id: string, binary: boolean, size: number): Case => {
    const payload = binary ? Buffer.alloc(size, 0xfe) : Buffer.alloc(size, '*');
    return { id, title: `${binary ? 'binary' : 'text'} message of ${size / 1024} KiB`, run: sends([{ opcode: binary ? OP.BINARY : OP.TEXT, payload }]), expect: [msg(payload, binary)], close: NORMAL, waitMs: 30_000 };
  };
  for (const [sub, binary] of [
    [1, false],
    [2, true],
  ] as const) {
    out.push(one(`9.${sub}.1`, binary, 64 * 1024), one(`9.${sub}.2`, binary, 256 * 1024), one(`9.${sub}.3`, binary, MiB), one(`9.${sub}.6`, binary, 16 * MiB));
  }
  // 9.3 / 9.4: fragmented (Autobahn: 4 MiB in fragments of 64 B … 4 MiB).
  for (const [sub, binary] of [
    [3, false],
    [4, true],
  ] as const) {
    const payload = binary ? Buffer.from(Array.from({ length: MiB }, (_, i) => (i * 31) & 0xff)) : mixedText(MiB);
    [256, 64 * 1024].forEach((frag, i) =>
      out.push({
        id: `9.${sub}.${i === 0 ? 2 : 6}`,
        title: `1 MiB ${binary ? 'binary' : 'text'} message in ${frag >= 1024 ? `${frag / 1024} KiB` : `${frag} B`} fragments`,
        run: sends(fragmented(binary ? OP.BINARY : OP.TEXT, payload, frag)),
        expect: [msg(payload, binary)],
        close: NORMAL,
        waitMs: 30_000,
      }),
    );
  }
  // 9.5 / 9.6: one frame chopped into TCP writes.
  for (const [sub, binary] of [
    [5, false],
    [6, true],
  ] as const) {
    const payload = binary ? Buffer.alloc(MiB, 0xfe) : mixedText(MiB);
    out.push({ id: `9.${sub}.6`, title: `1 MiB ${binary ? 'binary' : 'text'} frame sent in chops of 2 KiB`, run: (c) => c.write(c.frame({ opcode: binary ? OP.BINARY : OP.TEXT, payload }), 2048), expect: [msg(payload, binary)], close: NORMAL, waitMs: 30_000 });
  }
  // 9.7 / 9.8: many messages, each waiting for its echo (Autobahn: 1000 round trips per size).
  for (const [sub, binary, size] of [
    [7, false, 16],
    [8, true, 1024],
  ] as const) {
    const payloads = Array.from({ length: 1000 }, (_, i) => (binary ? Buffer.alloc(size, i & 0xff) : Buffer.from(String(i).padStart(size, '*'))));
    out.push({
      id: `9.${sub}.x`,
      title: `1000 ${binary ? 'binary' : 'text'} messages of ${size} B, one round trip each`,
      run: async (c) => {
        for (let i = 0; i < payloads.length; i++) {
          await c.write(c.frame({ opcode: binary ? OP.BINARY : OP.TEXT, payload: payloads[i] as Buffer }));
          if (!(await c.waitFor(() => c.events.length > i || c.close !== null || c.violations.length > 0, 5000))) return;
        }
      },
      expect: payloads.map((p) => msg(p, binary)),
      close: NORMAL,
      waitMs: 30_000,
    });
  }
  return out;
}

// ---- 10 Misc ---------------------------------------------------------------------

function misc(): Case[] {
  const payload = Buffer.alloc(65536, '*');
  return [{ id: '10.1.1', title: '64 KiB text message (the peer may fragment its echo)', run: sends([text(payload)]), expect: [msg(payload)], close: NORMAL }];
}

export const SECTIONS: Array<[string, () => Case[]]> = [
  ['1 Framing', framing],
  ['2 Pings/Pongs', pings],
  ['3 Reserved Bits', reservedBits],
  ['4 Opcodes', opcodes],
  ['5 Fragmentation', fragmentation],
  ['6 UTF-8 Handling', utf8],
  ['7 Close Handling', closing],
  ['9 Limits/Performance', limits],
  ['10 Misc', misc],
];

// ---- the runner -------------------------------------------------------------------

/**
 * Play a case on `c` and assert Autobahn's strict verdict: the events, the
 * peer's Close frame and code, and the TCP close — the server closes TCP
 * first (§7.1.1, Autobahn: "It is preferred that the server close the TCP
 * connection"), a client waits for it. Returns the peer's close code.
 */
export async function runCase(c: RawConn, cs: Case): Promise<number | null> {
  const wait = cs.waitMs ?? 5000;
  const label = `${cs.id} ${cs.title}`;
  await cs.run(c);
  const close = cs.close;
  if (close.by === 'fuzzer') {
    await c.waitFor(() => c.events.length >= cs.expect.length || c.close !== null || c.peerEnded || c.violations.length > 0, wait);
    await c.settled();
    assert.deepEqual(c.violations, [], `${label}: RFC violations in the peer's frames`);
    assert.equal(c.close, null, `${label}: the peer closed (${JSON.stringify(c.close)}) after ${JSON.stringify(show(c.events))}`);
    assert.deepEqual(show(c.events), show(cs.expect), `${label}: events`);
    await c.sendClose(1000);
  }
  const gotClose = await c.waitFor(() => c.close !== null || c.socketClosed, wait);
  await c.settled();
  assert.ok(gotClose && c.close, `${label}: no Close frame from the peer (TCP ${c.peerEnded ? 'closed' : 'still open'}); events ${JSON.stringify(show(c.events))}`);
  assert.deepEqual(show(c.events), show(cs.expect), `${label}: events before the Close`);
  const code = c.close.code;
  const codes: Array<number | null> = close.by === 'fuzzer' ? [1000] : close.codes;
  assert.ok(codes.includes(code), `${label}: close code ${code}, expected ${codes.join(' or ')}`);
  if (close.by === 'peer' && !c.closeSent) {
    // Autobahn answers the peer's Close (echoing the code) and waits for the TCP close.
    await c.sendClose(code ?? undefined);
  }
  if (c.role === 'client') {
    // The peer is a server: it closes TCP once Close frames were exchanged (§7.1.1).
    assert.ok(await c.waitFor(() => c.peerEnded, 3000), `${label}: the server did not close the TCP connection`);
    c.end();
  } else {
    // The peer is a client: on a clean close it waits for us to close TCP first.
    if (close.by !== 'peer') assert.equal(c.peerEndedBeforeCloseExchange, false, `${label}: the client closed TCP before the server did`);
    c.end();
    assert.ok(await c.waitFor(() => c.socketClosed, 3000), `${label}: the client did not close its end of the TCP connection`);
  }
  await c.settled();
  assert.deepEqual(c.violations, [], `${label}: RFC violations in the peer's frames`);
  return code;
}

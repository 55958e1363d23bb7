/**
 * Autobahn Testsuite, fuzzingclient side, against our server: a raw
 * node:net client (./wire.ts) plays cases 1–10, 12 and 13 on the wire —
 * masked frames exactly as each case sends them, chopped where the case
 * chops, with its pauses — and asserts Autobahn's strict ("OK") verdict:
 * the echoed events, the Close code, and that the server closed TCP.
 *
 * The server is configured like `npm run echo-server` (src/cli/echo-server.ts),
 * the target of `wstest -m fuzzingclient`: echo with the opcode,
 * permessage-deflate with threshold 0, 64 MiB limits, closeTimeout 2000.
 * Cases 12/13 run 10 messages per case instead of Autobahn's 1000, and
 * generated data instead of its files.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from '../../src/adapters/node/server.js';
import type { WebSocketConnection, WsCloseEvent, WsMessageEvent } from '../../src/connection.js';
import { SECTIONS, runCase, type Case } from './cases.js';
import { OP, checkDeflateResponse, msg, parseExtensions, pmdParams, rawConnect, rng, type RawConn } from './wire.js';

const MiB = 1024 * 1024;

function echo(this: WebSocketConnection, e: WsMessageEvent): void {
  try {
    this.send(e.raw, { binary: e.binary });
  } catch {
    // closing
  }
}

function startServer(closeTimeout: number, onConnection?: (ws: WebSocketConnection, url: string) => void): WebSocketServer {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 }, maxFrameSize: 64 * MiB, maxMessageSize: 64 * MiB, closeTimeout });
  wss.on('connection', (ws) => {
    ws.onmessage = echo;
    ws.onerror = () => {};
    onConnection?.(ws, ws.url);
  });
  return wss;
}

/** The server side's close event, by request path. */
const serverCloses = new Map<string, Promise<WsCloseEvent>>();
const wss = startServer(2000, (ws, url) => {
  serverCloses.set(url, new Promise((resolve) => ws.addEventListener('close', resolve)));
});
let port = 0;
before(async () => {
  await wss.ready();
  port = wss.address()?.port as number;
});
after(() => wss.close());

const seedOf = (id: string): number => [...id].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261);

/**
 * The server's own close event must agree with the wire: a clean close
 * reports the code the client sent (1005 for none), a failed connection the
 * code the server sent, not clean.
 */
async function checkServerClose(path: string, cs: Case, conn: RawConn, code: number | null): Promise<void> {
  const ev = await Promise.race([serverCloses.get(path), new Promise<null>((r) => setTimeout(() => r(null), 3000).unref())]);
  assert.ok(ev, `${cs.id}: no close event on the server`);
  serverCloses.delete(path);
  const clean = cs.close.by === 'fuzzer' || (cs.close.by === 'case' && !cs.peerFails);
  if (clean) assert.deepEqual([ev.code, ev.wasClean], [conn.firstClose?.code ?? 1005, true], `${cs.id}: server close event`);
  else assert.deepEqual([ev.code, ev.wasClean], [code, false], `${cs.id}: server close event`);
}

let serial = 0;

async function play(cs: Case, t: TestContext, extensions?: string): Promise<void> {
  const path = `/case/${++serial}`;
  const { conn } = await rawConnect(port, { path, seed: seedOf(cs.id), ...(extensions ? { extensions } : {}) });
  try {
    const code = await runCase(conn, cs);
    await checkServerClose(path, cs, conn, code);
    if (cs.informational) t.diagnostic(`informational: ${cs.informational}`);
  } finally {
    conn.destroy();
  }
}

for (const [section, make] of SECTIONS) {
  const cases = make();
  describe(`${section} (${cases.length} cases)`, () => {
    for (const cs of cases) {
      it(`${cs.id} ${cs.title}`, { timeout: (cs.waitMs ?? 5000) + 10_000 }, (t) => play(cs, t));
    }
  });
}

// ---- close timeouts (no Autobahn case: 7.11 "peer initiated timeouts" is disabled there) ----

describe('7.x close timeouts (beyond Autobahn)', () => {
  const TIMEOUT = 800;
  const closes = new Map<string, Promise<{ ev: WsCloseEvent; at: number }>>();
  const quick = startServer(TIMEOUT, (ws, url) => {
    closes.set(url, new Promise((resolve) => ws.addEventListener('close', (ev) => resolve({ ev, at: Date.now() }))));
    if (url === '/server-closes') ws.close(1000, 'bye');
  });
  let qport = 0;
  before(async () => {
    await quick.ready();
    qport = quick.address()?.port as number;
  });
  after(() => quick.close());

  it('the server fails the connection, the client stays silent: Close 1002 and FIN at once, the socket destroyed after closeTimeout', async () => {
    const { conn } = await rawConnect(qport, { path: '/fail' });
    const t0 = Date.now();
    await conn.send({ opcode: 3 });
    assert.ok(await conn.waitFor(() => conn.close !== null && conn.peerEnded, 1000), 'Close + FIN expected right away');
    assert.equal(conn.close?.code, 1002);
    const { ev, at } = await (closes.get('/fail') as Promise<{ ev: WsCloseEvent; at: number }>);
    assert.deepEqual([ev.code, ev.wasClean], [1002, false]);
    assert.ok(at - t0 < TIMEOUT + 1500, `closed after ${at - t0} ms`);
    conn.destroy();
  });

  it('the server closes, the client never answers: the server destroys the socket after closeTimeout (1006, not clean)', async () => {
    const { conn } = await rawConnect(qport, { path: '/server-closes' });
    const t0 = Date.now();
    assert.ok(await conn.waitFor(() => conn.close !== null, 1000), 'the server sends its Close');
    assert.deepEqual([conn.close?.code, conn.close?.reason], [1000, 'bye']);
    assert.ok(await conn.waitFor(() => conn.socketClosed || conn.peerEnded, TIMEOUT + 1500), 'no TCP close after closeTimeout');
    const { ev, at } = await (closes.get('/server-closes') as Promise<{ ev: WsCloseEvent; at: number }>);
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
    assert.ok(at - t0 >= TIMEOUT - 50, `gave up after ${at - t0} ms, before closeTimeout`);
    conn.destroy();
  });

  it('the server closes, the client answers: the server closes TCP right away (clean 1000)', async () => {
    // Reuse the path with a fresh connection: the map entry is replaced.
    const { conn } = await rawConnect(qport, { path: '/server-closes' });
    const t0 = Date.now();
    assert.ok(await conn.waitFor(() => conn.close !== null, 1000));
    await conn.sendClose(1000);
    assert.ok(await conn.waitFor(() => conn.peerEnded, TIMEOUT / 2), 'the server closes TCP without waiting for closeTimeout');
    conn.end();
    const { ev, at } = await (closes.get('/server-closes') as Promise<{ ev: WsCloseEvent; at: number }>);
    assert.deepEqual([ev.code, ev.wasClean], [1000, true]);
    assert.ok(at - t0 < TIMEOUT / 2, `closed after ${at - t0} ms`);
    assert.deepEqual(conn.violations, []);
  });

  it('the client closes and never closes TCP: the server answers, sends FIN, and destroys the socket after closeTimeout', async () => {
    const { conn } = await rawConnect(qport, { path: '/half-open' });
    await conn.sendClose(4000, 'done');
    assert.ok(await conn.waitFor(() => conn.close !== null && conn.peerEnded, 1000));
    assert.equal(conn.close?.code, 4000);
    const { ev } = await (closes.get('/half-open') as Promise<{ ev: WsCloseEvent; at: number }>);
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4000, 'done', true]);
    conn.destroy();
  });
});

// ---- 12 / 13 permessage-deflate --------------------------------------------------------

/** Autobahn's MSG_SIZES (payload length, auto-fragment size), a subset. */
const MSG_SIZES: Array<[number, number]> = [
  [16, 0],
  [64, 0],
  [256, 0],
  [1024, 0],
  [4096, 0],
  [16384, 0],
  [65536, 0],
  [131072, 0],
  [8192, 256],
  [131072, 256],
  [131072, 4096],
  [131072, 32768],
];
const COUNT = 10;

/** Test data: ASCII JSON records (Autobahn: a large JSON file) and a bitmap-like binary. */
function jsonData(): Buffer {
  const r = rng(12);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'websocket', 'deflate', 'router', 'session', 'topic', 'procedure'];
  const recs: string[] = [];
  let n = 0;
  for (let i = 0; n < 300_000; i++) {
    const s = JSON.stringify({ id: i, name: `${words[Math.floor(r() * words.length)]}-${Math.floor(r() * 1e6)}`, tags: [words[i % 10], words[(i * 7) % 10]], value: Math.round(r() * 1e6) / 1e3, ok: r() < 0.5 });
    recs.push(s);
    n += s.length + 2;
  }
  return Buffer.from(`[${recs.join(',\n')}]`);
}
function bitmapData(): Buffer {
  const r = rng(13);
  const b = Buffer.alloc(262_144);
  for (let i = 0; i < b.length; i++) b[i] = ((i % 512) ^ (i >> 9)) & 0xff & (r() < 0.9 ? 0xff : Math.floor(r() * 256));
  return b;
}

/**
 * Autobahn's 12/13 case: send COUNT messages of `len` bytes taken round-robin
 * from `data`, each after the previous echo, compressed, auto-fragmented.
 */
function deflateCase(id: string, data: Buffer, binary: boolean, len: number, frag: number): Case {
  const msgs: Buffer[] = [];
  let ptr = 0;
  for (let i = 0; i < COUNT; i++) {
    const to = (ptr + len) % data.length;
    msgs.push(to > ptr ? data.subarray(ptr, to) : Buffer.concat([data.subarray(ptr), data.subarray(0, to)]));
    ptr = to;
  }
  return {
    id,
    title: `${COUNT} compressed ${binary ? 'binary' : 'text'} messages of ${len} B${frag ? `, auto-fragmented to ${frag} B` : ''}`,
    run: async (c) => {
      for (let i = 0; i < msgs.length; i++) {
        await c.sendMessage(msgs[i] as Buffer, binary, { fragSize: frag });
        if (!(await c.waitFor(() => c.events.length > i || c.close !== null || c.violations.length > 0, 5000))) return;
      }
    },
    expect: msgs.map((m) => msg(m, binary)),
    close: { by: 'fuzzer' },
    waitMs: 10_000,
  };
}

/** Connect offering `offer`, check the response strictly, run the case. Returns the response (or null). */
async function playDeflate(cs: Case, offer: string, t: TestContext, opts: { mayDecline?: string } = {}): Promise<Map<string, string | true> | null> {
  const path = `/case/${++serial}`;
  const { conn, headers } = await rawConnect(port, { path, seed: seedOf(cs.id), extensions: offer });
  try {
    const offers = parseExtensions(offer);
    const resp = parseExtensions(headers.get('sec-websocket-extensions'));
    assert.ok(resp.length <= 1, `one extension at most: ${headers.get('sec-websocket-extensions')}`);
    const agreed = resp[0];
    if (!agreed) {
      assert.ok(opts.mayDecline, `${cs.id}: the server declined permessage-deflate (offer: ${offer})`);
      t.diagnostic(`${cs.id}: offer declined: ${opts.mayDecline}`);
    } else {
      assert.equal(agreed.name, 'permessage-deflate');
      const why = offers.map((o) => checkDeflateResponse(o.params, agreed.params));
      assert.ok(why.includes(null), `${cs.id}: response "${headers.get('sec-websocket-extensions')}" answers no offer: ${why.join('; ')}`);
      conn.pmd = pmdParams(agreed.params, 'client');
    }
    const code = await runCase(conn, cs);
    await checkServerClose(path, cs, conn, code);
    if (agreed) {
      // threshold 0: the echo-server configuration compresses every message it sends.
      const firsts = conn.frames.filter((f) => f.opcode === OP.TEXT || f.opcode === OP.BINARY);
      assert.ok(firsts.every((f) => (f.rsv & 4) !== 0), `${cs.id}: uncompressed echo`);
    }
    return agreed?.params ?? null;
  } finally {
    conn.destroy();
  }
}

const DEFAULT_OFFER = 'permessage-deflate; client_no_context_takeover; client_max_window_bits';

describe('12 WebSocket Compression (different payloads)', () => {
  const sets: Array<[number, string, Buffer, boolean]> = [
    [1, 'JSON text', jsonData(), false],
    [2, 'bitmap-like binary', bitmapData(), true],
  ];
  for (const [j, name, data, binary] of sets) {
    MSG_SIZES.forEach(([len, frag], i) => {
      const cs = deflateCase(`12.${j}.${i + 1}`, data, binary, len, frag);
      it(`${cs.id} ${name}: ${cs.title}`, { timeout: 30_000 }, async (t) => {
        await playDeflate(cs, DEFAULT_OFFER, t);
      });
    });
  }
});

describe('13 WebSocket Compression (different parameters)', () => {
  // Autobahn's client offers (acceptNoContextTakeover and acceptMaxWindowBits are on by default).
  const offer = (snct: boolean, smwb: number) => `${DEFAULT_OFFER}${snct ? '; server_no_context_takeover' : ''}${smwb ? `; server_max_window_bits=${smwb}` : ''}`;
  // server_max_window_bits=8 is accepted: we compress with 9, whose matches never
  // reach back past 250 bytes; the raw peer inflates with exactly 8 bits, so a
  // longer back-reference would fail these cases (src/core/deflate/negotiate.ts).
  const OFFERS: Array<[string, string, string?]> = [
    ['13.1', offer(false, 0)],
    ['13.2', offer(true, 0)],
    ['13.3', offer(false, 8)],
    ['13.4', offer(false, 15)],
    ['13.5', offer(true, 8)],
    ['13.6', offer(true, 15)],
    ['13.7', [offer(true, 8), offer(true, 0), offer(false, 0)].join(', ')],
  ];
  const data = jsonData();
  const sizes: Array<[number, number]> = [
    [64, 0],
    [4096, 0],
    [131072, 0],
    [131072, 4096],
  ];
  for (const [sub, off, decline] of OFFERS) {
    sizes.forEach(([len, frag], i) => {
      const cs = deflateCase(`${sub}.${i + 1}`, data, false, len, frag);
      it(`${cs.id} offer "${off}": ${cs.title}`, { timeout: 30_000 }, async (t) => {
        const params = await playDeflate(cs, off, t, decline ? { mayDecline: decline } : {});
        if (params && off.includes('server_no_context_takeover') && sub !== '13.7') assert.ok(params.has('server_no_context_takeover'));
        if (sub === '13.7') assert.ok(params?.has('server_no_context_takeover') && params.get('server_max_window_bits') === '8', '13.7: the first offer is taken');
        if (sub === '13.3' || sub === '13.5') assert.equal(params?.get('server_max_window_bits'), '8');
      });
    });
  }

  // Beyond Autobahn, whose offers always carry client_no_context_takeover.
  it('13.x browser offer "permessage-deflate; client_max_window_bits": context takeover in both directions', { timeout: 30_000 }, async (t) => {
    const cs = deflateCase('13.x.b', data, false, 4096, 0);
    const params = await playDeflate(cs, 'permessage-deflate; client_max_window_bits', t);
    assert.ok(params && !params.has('client_no_context_takeover') && !params.has('server_no_context_takeover'), 'context takeover kept');
  });

  it('13.x client limits its own window: client_max_window_bits=10', { timeout: 30_000 }, async (t) => {
    const cs = deflateCase('13.x.w', data, false, 16384, 0);
    const params = await playDeflate(cs, 'permessage-deflate; client_max_window_bits=10', t);
    assert.equal(params?.get('client_max_window_bits'), '10');
  });

  it('13.x invalid offers are declined, not fatal (RFC 7692 §7)', { timeout: 30_000 }, async (t) => {
    for (const bad of ['permessage-deflate; foo', 'permessage-deflate; server_max_window_bits', 'permessage-deflate; client_max_window_bits=16', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover']) {
      const cs: Case = { id: '13.x.i', title: bad, run: (c: RawConn) => c.sendMessage('plain', false), expect: [msg('plain')], close: { by: 'fuzzer' } };
      const params = await playDeflate(cs, bad, t, { mayDecline: `invalid offer "${bad}" (RFC 7692 §7: decline it)` });
      assert.equal(params, null, `accepted the invalid offer "${bad}"`);
    }
  });
});

/**
 * Autobahn Testsuite, fuzzingserver side, against our client: a raw
 * node:net server (./wire.ts) plays a representative subset of cases 1–10,
 * 12 and 13 — unmasked frames, possibly invalid, chopped — to our
 * `WebSocket` echoing every message (as src/cli/testsuite-client.ts does),
 * and asserts Autobahn's strict verdict on what the client echoes (masked)
 * and how it closes. Our client's own `close` event is checked too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, type ClientOptions } from '../../src/adapters/node/client.js';
import type { WsCloseEvent } from '../../src/connection.js';
import { SECTIONS, runCase, type Case } from './cases.js';
import { OP, checkDeflateResponse, msg, parseExtensions, pmdParams, rawServer, rng, type RawConn, type RawServer } from './wire.js';

const MiB = 1024 * 1024;
/** As src/cli/testsuite-client.ts. */
const OPTIONS: ClientOptions = { perMessageDeflate: { threshold: 0 }, maxFrameSize: 64 * MiB, maxMessageSize: 64 * MiB, closeTimeout: 2000 };

/**
 * Cases of 1–10 run against the client: all of 2–5 and 7, samples of the
 * rest. CONFORMANCE_ALL=1 runs every case (as the server suite does).
 */
function picked(cs: Case): boolean {
  if (process.env.CONFORMANCE_ALL === '1') return true;
  const [a, b, c] = cs.id.split('.').map(Number) as [number, number, number | undefined];
  if (a === 1) return [1, 2, 3, 6, 7, 8].includes(c as number);
  if (a === 6 && b >= 5) return (c as number) <= 2; // the first two of each UTF-8 table
  if (a === 9) return ['9.1.1', '9.1.6', '9.2.6', '9.3.6', '9.4.2', '9.5.6', '9.7.x'].includes(cs.id);
  return true;
}

// ---- the fake fuzzingserver ----------------------------------------------------------

const pending = new Map<string, { extensions: string | null; resolve: (c: RawConn) => void }>();
let server: RawServer;
before(async () => {
  server = await rawServer(
    (path) => ({ extensions: pending.get(path)?.extensions ?? null }),
    (conn, path) => pending.get(path)?.resolve(conn),
  );
});
after(() => server.close());

let serial = 0;

/** Open our client against a path of the fake server; resolves with both ends. */
async function open(extensions: string | null = null, options: ClientOptions = OPTIONS): Promise<{ conn: RawConn; ws: WebSocket; closed: Promise<WsCloseEvent> }> {
  const path = `/case/${++serial}`;
  const got = new Promise<RawConn>((resolve) => pending.set(path, { extensions, resolve }));
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, [], options);
  ws.onmessage = (e) => {
    try {
      ws.send(e.raw, { binary: e.binary });
    } catch {
      // closing
    }
  };
  ws.onerror = () => {};
  const closed = new Promise<WsCloseEvent>((resolve) => ws.addEventListener('close', resolve));
  const conn = await got;
  pending.delete(path);
  return { conn, ws, closed };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Run a case; then check the client's close event against the case. */
async function play(cs: Case, extensions: string | null = null, setup?: (conn: RawConn) => void, check?: (conn: RawConn) => void): Promise<void> {
  const { conn, ws, closed } = await open(extensions);
  try {
    setup?.(conn);
    const code = await runCase(conn, cs);
    check?.(conn);
    const ev = await within(closed, 3000, `${cs.id}: the client's close event`);
    const clean = cs.close.by === 'fuzzer' || (cs.close.by === 'case' && !cs.peerFails);
    if (clean) {
      // The code of the Close frame received (1005 when it had none), cleanly.
      assert.deepEqual([ev.code, ev.wasClean], [code ?? 1005, true], `${cs.id}: close event`);
    } else {
      // The connection was failed by the client, with the code it sent.
      assert.deepEqual([ev.code, ev.wasClean], [code, false], `${cs.id}: close event`);
    }
  } finally {
    ws.terminate();
    conn.destroy();
  }
}

for (const [section, make] of SECTIONS) {
  const cases = make().filter(picked);
  describe(`${section} (${cases.length} cases)`, () => {
    for (const cs of cases) {
      it(`${cs.id} ${cs.title}`, { timeout: (cs.waitMs ?? 5000) + 10_000 }, () => play(cs));
    }
  });
}

describe('client-only: masking and close timeouts (beyond Autobahn)', () => {
  it('a masked frame from the server fails the connection with 1002 (§5.1)', async () => {
    const cs: Case = {
      id: 'X.1',
      title: 'masked text frame from the server',
      run: (c) => c.send({ opcode: OP.TEXT, payload: 'Hello, world!', mask: Buffer.from([1, 2, 3, 4]) }),
      expect: [],
      close: { by: 'peer', codes: [1002] },
    };
    await play(cs);
  });

  it('a masked frame after a good one: echo first, then 1002', async () => {
    const cs: Case = {
      id: 'X.2',
      title: 'text, then a masked ping',
      run: async (c) => {
        await c.send({ opcode: OP.TEXT, payload: 'first' });
        await c.send({ opcode: OP.PING, payload: 'masked', mask: Buffer.from([9, 9, 9, 9]) });
      },
      expect: [msg('first')],
      close: { by: 'peer', codes: [1002] },
    };
    await play(cs);
  });

  const TIMEOUT = 800;
  const quick: ClientOptions = { ...OPTIONS, closeTimeout: TIMEOUT };

  it('the client closes, the server never answers: the client gives up after closeTimeout (1006, not clean)', async () => {
    const { conn, ws, closed } = await open(null, quick);
    await within(new Promise((r) => (ws.readyState === WebSocket.OPEN ? r(null) : ws.addEventListener('open', r))), 2000, 'open');
    const t0 = Date.now();
    ws.close(1000, 'bye');
    assert.ok(await conn.waitFor(() => conn.close !== null, 1000), 'the client sends its Close');
    assert.deepEqual([conn.close?.code, conn.close?.reason], [1000, 'bye']);
    const ev = await within(closed, 2000, 'close event');
    assert.deepEqual([ev.code, ev.wasClean], [1006, false]);
    assert.ok(Date.now() - t0 >= TIMEOUT - 50, `gave up after ${Date.now() - t0} ms, before closeTimeout`);
    assert.ok(await conn.waitFor(() => conn.socketClosed, 1000), 'the client closed TCP');
    conn.destroy();
  });

  it('the server answers the Close but keeps TCP open: the client waits for it (§7.1.1), then closes after closeTimeout', async () => {
    const { conn, ws, closed } = await open(null, quick);
    await within(new Promise((r) => (ws.readyState === WebSocket.OPEN ? r(null) : ws.addEventListener('open', r))), 2000, 'open');
    const t0 = Date.now();
    ws.close(4000, 'done');
    assert.ok(await conn.waitFor(() => conn.close !== null, 1000));
    await conn.sendClose(4000, 'done');
    assert.equal(await conn.waitFor(() => conn.peerEnded, TIMEOUT / 2), false, 'the client closed TCP before the server (§7.1.1: it should wait)');
    const ev = await within(closed, 2000, 'close event');
    assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4000, 'done', true]);
    assert.ok(Date.now() - t0 >= TIMEOUT - 50, `closed after ${Date.now() - t0} ms`);
    conn.destroy();
  });

  it('the server closes TCP right after its Close reply: the client closes at once, cleanly', async () => {
    const { conn, ws, closed } = await open(null, quick);
    await within(new Promise((r) => (ws.readyState === WebSocket.OPEN ? r(null) : ws.addEventListener('open', r))), 2000, 'open');
    ws.close(1000);
    assert.ok(await conn.waitFor(() => conn.close !== null, 1000));
    await conn.sendClose(1000);
    conn.end();
    const ev = await within(closed, TIMEOUT / 2, 'close event before closeTimeout');
    assert.deepEqual([ev.code, ev.wasClean], [1000, true]);
    assert.deepEqual(conn.violations, []);
  });
});

// ---- 12 / 13 permessage-deflate: the fake server answers our client's offer -----------

function textData(): Buffer {
  const r = rng(21);
  const parts: string[] = [];
  for (let n = 0; n < 200_000; ) {
    const s = `{"seq":${parts.length},"uri":"com.example.topic.${Math.floor(r() * 100)}","args":[${Math.floor(r() * 1e6)},"${'xyz'.repeat(Math.floor(r() * 5))}"]}`;
    parts.push(s);
    n += s.length + 1;
  }
  return Buffer.from(parts.join('\n'));
}

/**
 * The fuzzer sends COUNT messages of `len` bytes round-robin from `data`,
 * compressed, auto-fragmented, each after the previous echo.
 */
function deflateCase(id: string, data: Buffer, binary: boolean, len: number, frag: number, count = 10): Case {
  const msgs: Buffer[] = [];
  let ptr = 0;
  for (let i = 0; i < count; i++) {
    const to = (ptr + len) % data.length;
    msgs.push(to > ptr ? data.subarray(ptr, to) : Buffer.concat([data.subarray(ptr), data.subarray(0, to)]));
    ptr = to;
  }
  return {
    id,
    title: `${count} compressed ${binary ? 'binary' : 'text'} messages of ${len} B${frag ? `, auto-fragmented to ${frag} B` : ''}`,
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

/** What our client offers (src: buildDeflateOffer defaults). */
const CLIENT_OFFER = parseExtensions('permessage-deflate; client_max_window_bits')[0]?.params as Map<string, string | true>;

async function playDeflate(cs: Case, response: string): Promise<void> {
  const params = parseExtensions(response)[0]?.params as Map<string, string | true>;
  assert.equal(checkDeflateResponse(CLIENT_OFFER, params), null, 'the test\'s own response must be valid');
  await play(
    cs,
    response,
    (conn) => {
      conn.pmd = pmdParams(params, 'server');
    },
    (conn) => {
      // threshold 0 (as testsuite-client): every echo is compressed.
      const firsts = conn.frames.filter((f) => f.opcode === OP.TEXT || f.opcode === OP.BINARY);
      assert.ok(firsts.length > 0 && firsts.every((f) => (f.rsv & 4) !== 0), `${cs.id}: uncompressed echo`);
    },
  );
}

describe('12 WebSocket Compression (different payloads)', () => {
  const data = textData();
  const bin = Buffer.from(Array.from({ length: 100_000 }, (_, i) => ((i * 7) ^ (i >> 8)) & 0xff));
  const sizes: Array<[number, number]> = [
    [16, 0],
    [1024, 0],
    [65536, 0],
    [131072, 4096],
  ];
  sizes.forEach(([len, frag], i) => {
    for (const [j, d, binary] of [
      [1, data, false],
      [2, bin, true],
    ] as const) {
      const cs = deflateCase(`12.${j}.${i + 1}`, d, binary, len, frag);
      it(`${cs.id} ${cs.title}`, { timeout: 30_000 }, () => playDeflate(cs, 'permessage-deflate'));
    }
  });
});

describe('13 WebSocket Compression (different parameters)', () => {
  // Autobahn's fuzzingserver answers (acceptN in case12_x_x.py); 13.7 falls back to accept5's answer here.
  const RESPONSES: Array<[string, string]> = [
    ['13.1', 'permessage-deflate'],
    ['13.2', 'permessage-deflate; client_no_context_takeover'],
    ['13.3', 'permessage-deflate; client_max_window_bits=8'],
    ['13.4', 'permessage-deflate; client_max_window_bits=15'],
    ['13.5', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=8'],
    ['13.6', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=15'],
    ['13.7', 'permessage-deflate; client_no_context_takeover; client_max_window_bits=8'],
    // Beyond Autobahn: server-side parameters the server may announce unasked.
    ['13.x', 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10'],
  ];
  const data = textData();
  for (const [sub, response] of RESPONSES) {
    (
      [
        [64, 0],
        [16384, 0],
        [131072, 4096],
      ] as Array<[number, number]>
    ).forEach(([len, frag], i) => {
      const cs = deflateCase(`${sub}.${i + 1}`, data, false, len, frag);
      it(`${cs.id} response "${response}": ${cs.title}`, { timeout: 30_000 }, () => playDeflate(cs, response));
    });
  }
});

/**
 * Proves the Autobahn|Python peers (test/interop/peers/) and their helpers
 * (test/interop/peers.ts) work, against the npm `ws` library, in both
 * directions, with and without permessage-deflate. Our own client and server
 * are tested against the same peers elsewhere.
 *
 *   node --import tsx --test test/interop/peers.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  AUTOBAHN_MISSING,
  autobahnAvailable,
  autobahnStatus,
  makePayload,
  runAutobahnClient,
  sha256Hex,
  startAutobahnServer,
  type AutobahnServer,
} from './peers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function requireAutobahn(): void {
  if (!autobahnAvailable()) assert.fail(`${AUTOBAHN_MISSING}: ${autobahnStatus().error}`);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

interface Msg {
  data: Buffer;
  isBinary: boolean;
}

/** A `ws` client with a pull-style message queue; every wait is bounded. */
async function openWs(url: string, perMessageDeflate: boolean, timeoutMs = 10_000) {
  const ws = new WebSocket(url, { perMessageDeflate });
  const queue: Msg[] = [];
  const waiting: Array<(m: Msg) => void> = [];
  const pings: Buffer[] = [];
  ws.on('message', (data, isBinary) => {
    const m = { data: toBuffer(data), isBinary };
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  ws.on('ping', (d) => pings.push(d));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  closed.catch(() => {});
  await bounded(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    timeoutMs,
    `open ${url}`,
  );
  return {
    ws,
    pings,
    closed: () => bounded(closed, timeoutMs, `close of ${url}`),
    next: () =>
      bounded(
        new Promise<Msg>((resolve) => {
          const m = queue.shift();
          if (m) resolve(m);
          else waiting.push(resolve);
        }),
        timeoutMs,
        `message on ${url}`,
      ),
  };
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

test('makePayload matches the Python twin (payload.py) for text and binary', async () => {
  // Known digests computed with payload.py's make_payload(1000, ...).
  assert.equal(sha256Hex(makePayload(1000, false)), '9e055e30fc5ddb9dd5cf4d1a1dc8a170d9927fdf68e6a9307271649e8797b5fd');
  assert.equal(sha256Hex(makePayload(1000, true)), '4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d');
  for (let n = 0; n < 200; n++) {
    const t = makePayload(n, false);
    assert.equal(t.length, n);
    assert.equal(Buffer.from(t.toString('utf8'), 'utf8').length, n, `text payload of ${n} bytes is valid UTF-8`);
    assert.equal(makePayload(n, true).length, n);
  }
});

// ---------------------------------------------------------------------------
// ws client -> autobahn_server.py

for (const deflate of [false, true]) {
  describe(`ws client -> Autobahn server (deflate ${deflate ? 'on' : 'off'})`, { timeout: 60_000 }, () => {
    let server: AutobahnServer;
    const expectExt = deflate ? 'permessage-deflate' : '';

    before(async () => {
      requireAutobahn();
      server = await startAutobahnServer({ deflate });
    });
    after(async () => {
      if (server) await server.stop();
    });

    test('/echo: text and binary, 0 B .. 16 MiB', { timeout: 40_000 }, async () => {
      const c = await openWs(server.url('/echo'), true, 20_000);
      assert.equal(c.ws.extensions, expectExt);
      const sizes = [0, 125, 126, 64 * KiB, MiB, 16 * MiB];
      for (const size of sizes) {
        for (const binary of [false, true]) {
          const data = makePayload(size, binary);
          c.ws.send(data, { binary });
          const echo = await c.next();
          assert.equal(echo.isBinary, binary, `type of ${size} B echo`);
          assert.equal(echo.data.length, size);
          assert.ok(echo.data.equals(data), `content of ${size} B ${binary ? 'binary' : 'text'} echo`);
        }
      }
      c.ws.close(1000, 'done');
      assert.deepEqual(await c.closed(), { code: 1000, reason: '' });
      const open = await server.waitForEvent((e) => e.event === 'open' && e.path === '/echo');
      assert.equal(open.event === 'open' && open.extensions, expectExt);
      if (open.event === 'open') {
        assert.equal(open.requestExtensionsHeader, 'permessage-deflate; client_max_window_bits');
      }
      const close = await server.waitForEvent((e) => e.event === 'close' && e.path === '/echo');
      assert.ok(close.event === 'close' && close.wasClean && close.remoteCode === 1000 && close.remoteReason === 'done');
    });

    test('/close?code=4001&reason=bye', async () => {
      const c = await openWs(server.url('/close?code=4001&reason=bye'), true);
      assert.deepEqual(await c.closed(), { code: 4001, reason: 'bye' });
      const close = await server.waitForEvent((e) => e.event === 'close' && e.path === '/close');
      assert.ok(close.event === 'close' && close.wasClean, JSON.stringify(close));
      assert.equal(close.event === 'close' && close.localCode, 4001);
    });

    test('/close with a code sendClose() refuses (1001) and with no code', async () => {
      const c1 = await openWs(server.url('/close?code=1001&reason=going%20away'), true);
      assert.deepEqual(await c1.closed(), { code: 1001, reason: 'going away' });
      const c2 = await openWs(server.url('/close'), true);
      assert.deepEqual(await c2.closed(), { code: 1005, reason: '' });
    });

    test('/ping: server pings "autostrada" and reports the pong', async () => {
      const c = await openWs(server.url('/ping'), true);
      const m = await c.next();
      assert.equal(m.isBinary, false);
      assert.equal(m.data.toString('utf8'), 'pong:autostrada');
      assert.deepEqual(c.pings.map((p) => p.toString('utf8')), ['autostrada']);
      c.ws.close();
      await c.closed();
      const pong = await server.waitForEvent((e) => e.event === 'pong');
      assert.equal(pong.event === 'pong' && pong.payload, 'autostrada');
    });

    for (const [size, binary, fragment, count] of [
      [100_000, true, 1000, 3],
      [70_000, false, 333, 2], // 333-byte frames split multi-byte UTF-8 sequences
      [2 * MiB, true, 64 * KiB, 1],
      [10, false, 0, 5],
    ] as const) {
      test(`/send?size=${size}&binary=${binary ? 1 : 0}&fragment=${fragment}&count=${count}`, async () => {
        const q = `/send?size=${size}&binary=${binary ? 1 : 0}&fragment=${fragment}&count=${count}`;
        const c = await openWs(server.url(q), true);
        const expected = makePayload(size, binary);
        for (let i = 0; i < count; i++) {
          const m = await c.next();
          assert.equal(m.isBinary, binary);
          assert.ok(m.data.equals(expected), `message ${i} content equals makePayload(${size}, ${binary})`);
          c.ws.send(m.data, { binary: m.isBinary });
        }
        const verdict = await c.next();
        assert.equal(verdict.data.toString('utf8'), 'ok');
        c.ws.close();
        await c.closed();
      });
    }

    test('/send reports "mismatch" when the echo differs', async () => {
      const c = await openWs(server.url('/send?size=10&count=1'), true);
      await c.next();
      c.ws.send(Buffer.from('0123456789'), { binary: true });
      assert.equal((await c.next()).data.toString('utf8'), 'mismatch');
      c.ws.close();
      await c.closed();
    });

    test('/fragmented-echo?fragment=7', async () => {
      const c = await openWs(server.url('/fragmented-echo?fragment=7'), true);
      for (const [size, binary] of [
        [1000, false],
        [5000, true],
        [3, false],
      ] as const) {
        const data = makePayload(size, binary);
        c.ws.send(data, { binary });
        const m = await c.next();
        assert.equal(m.isBinary, binary);
        assert.ok(m.data.equals(data));
      }
      c.ws.close();
      await c.closed();
    });

    test('ws client without deflate gets no extension', async () => {
      const c = await openWs(server.url('/info'), false);
      assert.equal(c.ws.extensions, '');
      const info = JSON.parse((await c.next()).data.toString('utf8'));
      assert.equal(info.extensions, '');
      assert.equal(info.path, '/info');
      assert.equal(info.headers['sec-websocket-extensions'], undefined);
      c.ws.close();
      await c.closed();
    });
  });
}

// ---------------------------------------------------------------------------
// autobahn_client.py -> ws WebSocketServer

async function startWsServer(perMessageDeflate: boolean) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate, maxPayload: 64 * MiB });
  const responseExtensions: Array<string | undefined> = [];
  const serverCloses: Array<{ code: number; reason: string }> = [];
  wss.on('headers', (headers) => {
    const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
    responseExtensions.push(h?.replace(/^[^:]*:\s*/, ''));
  });
  wss.on('connection', (ws, req) => {
    ws.on('close', (code, reason) => serverCloses.push({ code, reason: reason.toString('utf8') }));
    if (req.url === '/push') {
      // server-initiated traffic for the client's recv mode
      ws.send(makePayload(1000, false), { binary: false });
      ws.send(makePayload(300_000, true));
      ws.send('short text');
      ws.close(4000, 'done pushing');
      return;
    }
    ws.on('message', (data, isBinary) => ws.send(toBuffer(data), { binary: isBinary }));
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  return {
    url: (p: string) => `ws://127.0.0.1:${port}${p}`,
    responseExtensions,
    serverCloses,
    stop: () => {
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

for (const serverDeflate of [false, true]) {
  describe(`Autobahn client -> ws server (ws perMessageDeflate ${serverDeflate})`, { timeout: 60_000 }, () => {
    let srv: Awaited<ReturnType<typeof startWsServer>>;
    before(async () => {
      requireAutobahn();
      srv = await startWsServer(serverDeflate);
    });
    after(async () => {
      if (srv) await srv.stop();
    });

    for (const clientDeflate of [false, true]) {
      const negotiated = serverDeflate && clientDeflate;
      test(`echo-check, client deflate ${clientDeflate} -> extension ${negotiated ? '' : 'not '}negotiated`, { timeout: 40_000 }, async () => {
        const messages = [
          { size: 0 },
          { size: 0, binary: true },
          { size: 125 },
          { size: 126, binary: true },
          { size: 64 * KiB },
          { size: 64 * KiB, binary: true },
          { size: 70_000, fragmentSize: 333 },
          { size: 100_000, binary: true, fragmentSize: 1000, count: 2 },
          { size: MiB, binary: true },
          // the 16 MiB case once per server setting, where it says the most
          ...(clientDeflate === serverDeflate ? [{ size: 16 * MiB, binary: true }, { size: 16 * MiB }] : []),
        ];
        const r = await runAutobahnClient({ url: srv.url('/echo'), mode: 'echo-check', deflate: clientDeflate, messages, timeoutMs: 35_000 });
        assert.equal(r.ok, true, JSON.stringify({ ...r, stderr: r.stderr.slice(-2000) }));
        assert.equal(r.exitCode, 0);
        const total = messages.reduce((n, m) => n + (m.count ?? 1), 0);
        assert.equal(r.results?.length, total);
        assert.ok(r.results?.every((x) => x.ok));
        assert.equal(r.extensions, negotiated ? 'permessage-deflate' : '');
        if (negotiated) {
          assert.match(r.responseExtensionsHeader ?? '', /^permessage-deflate\b/);
          assert.equal(r.extensionParams[0]?.['extension'], 'permessage-deflate');
        } else {
          assert.equal(r.responseExtensionsHeader, null);
        }
        assert.equal(srv.responseExtensions.at(-1), negotiated ? r.responseExtensionsHeader : undefined);
        assert.deepEqual(
          { wasClean: r.close?.wasClean, code: r.close?.code },
          { wasClean: true, code: 1000 },
        );
      });
    }

    test('close: client closes 4002 "bye bye", ws echoes the code', async () => {
      const r = await runAutobahnClient({ url: srv.url('/echo'), mode: 'close', code: 4002, reason: 'bye bye', deflate: serverDeflate });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.extensions, serverDeflate ? 'permessage-deflate' : '');
      assert.deepEqual(r.sent, { code: 4002, reason: 'bye bye' });
      assert.equal(r.close?.wasClean, true);
      assert.equal(r.close?.closedByMe, true);
      assert.equal(r.close?.localCode, 4002);
      assert.equal(r.close?.remoteCode, 4002);
      assert.deepEqual(srv.serverCloses.at(-1), { code: 4002, reason: 'bye bye' });
    });

    test('close: empty close frame -> ws sees 1005', async () => {
      const r = await runAutobahnClient({ url: srv.url('/echo'), mode: 'close', deflate: serverDeflate });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.close?.wasClean, true);
      assert.deepEqual(srv.serverCloses.at(-1), { code: 1005, reason: '' });
    });

    test('ping: client pings, ws pongs the same payload', async () => {
      const r = await runAutobahnClient({ url: srv.url('/echo'), mode: 'ping', payload: '-héllo ping-', deflate: serverDeflate });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.pong, '-héllo ping-');
      assert.equal(r.pongHex, Buffer.from('-héllo ping-').toString('hex'));
      assert.equal(r.extensions, serverDeflate ? 'permessage-deflate' : '');
      assert.equal(r.close?.wasClean, true);
    });

    test('recv: server pushes messages then closes 4000', async () => {
      const r = await runAutobahnClient({ url: srv.url('/push'), mode: 'recv', deflate: serverDeflate });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.messages, [
        { type: 'text', length: 1000, sha256: sha256Hex(makePayload(1000, false)) },
        { type: 'binary', length: 300_000, sha256: sha256Hex(makePayload(300_000, true)) },
        { type: 'text', length: 10, sha256: sha256Hex(Buffer.from('short text')), text: 'short text' },
      ]);
      assert.equal(r.close?.wasClean, true);
      assert.equal(r.close?.closedByMe, false);
      assert.equal(r.close?.code, 4000);
      assert.equal(r.close?.reason, 'done pushing');
    });
  });
}

test('runAutobahnClient reports a refused connection as ok: false, not a hang', { timeout: 20_000 }, async () => {
  requireAutobahn();
  // a port that was just free: bind, read, close
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  await new Promise<void>((r) => wss.close(() => r()));
  const r = await runAutobahnClient({ url: `ws://127.0.0.1:${port}/echo`, mode: 'recv', timeoutMs: 10_000 });
  assert.equal(r.ok, false);
  assert.equal(r.opened, false);
  assert.equal(r.exitCode, 1);
  assert.match(r.error ?? '', /Connect|refused/i);
});

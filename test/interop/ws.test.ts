/**
 * Interop with the npm `ws` library (a peer nobody here wrote), both
 * directions, all four combinations of client/server permessage-deflate:
 * text and binary from 0 B to 16 MiB, fragmented messages both ways (UTF-8
 * split across fragments), ping/pong with payloads, every close path,
 * the compression threshold (RSV1 checked on the wire), no context takeover,
 * and 100 pipelined messages arriving in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket as WsClient, WebSocketServer as WsServer, type RawData } from 'ws';
import { WebSocket } from '../../src/adapters/node/client.js';
import { WebSocketServer } from '../../src/adapters/node/server.js';
import type { WebSocketConnection } from '../../src/connection.js';
import { makePayload } from './peers.js';
import { pakoBackend } from '../../src/core/deflate/pako-backend.js';
import type { DeflateBackend } from '../../src/core/deflate/backend.js';
import { nextMessage, closed, SIZES } from '../helpers/ws.js';

const MiB = 1024 * 1024;
const BIG = { maxFrameSize: 32 * MiB, maxMessageSize: 32 * MiB };
const WS_MAX = 32 * MiB;
/** A text whose UTF-8 has 2-, 3- and 4-byte sequences (é, €, 😀). */
const UTF8_TEXT = 'aé€😀b'.repeat(50) + 'é€😀';

// ---------------------------------------------------------------------------
// helpers

/** Promise with a deadline, so a peer that never answers fails the test instead of hanging it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Next message received by a `ws` socket. */
function wsNextMessage(ws: WsClient, ms = 20_000): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(
    new Promise((resolve, reject) => {
      const onMsg = (data: RawData, isBinary: boolean): void => {
        ws.off('close', onClose);
        resolve({ data: toBuffer(data), isBinary });
      };
      const onClose = (code: number): void => {
        ws.off('message', onMsg);
        reject(new Error(`ws closed (${code}) while waiting for a message`));
      };
      ws.once('message', onMsg);
      ws.once('close', onClose);
    }),
    ms,
    'ws message',
  );
}

/** `count` messages received by a `ws` socket. */
function wsMessages(ws: WsClient, count: number, ms = 20_000): Promise<Array<{ data: Buffer; isBinary: boolean }>> {
  const out: Array<{ data: Buffer; isBinary: boolean }> = [];
  return within(
    new Promise((resolve) => {
      const onMsg = (data: RawData, isBinary: boolean): void => {
        out.push({ data: toBuffer(data), isBinary });
        if (out.length === count) {
          ws.off('message', onMsg);
          resolve(out);
        }
      };
      ws.on('message', onMsg);
    }),
    ms,
    `${count} ws messages (got ${out.length})`,
  );
}

/** The close a `ws` socket sees. */
function wsClosed(ws: WsClient, ms = 20_000): Promise<{ code: number; reason: string }> {
  return within(
    new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }))),
    ms,
    'ws close',
  );
}

function wsOpen(ws: WsClient, ms = 10_000): Promise<void> {
  return within(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    ms,
    'ws open',
  );
}

/** `count` messages received by one of our connections. */
function ourMessages(ws: WebSocketConnection, count: number, ms = 20_000): Promise<Array<{ raw: Uint8Array; binary: boolean }>> {
  const out: Array<{ raw: Uint8Array; binary: boolean }> = [];
  return within(
    new Promise((resolve) => {
      ws.addEventListener('message', (e) => {
        out.push({ raw: e.raw.slice(), binary: e.binary });
        if (out.length === count) resolve(out);
      });
    }),
    ms,
    `${count} messages (got ${out.length})`,
  );
}

interface FrameHead {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  length: number;
}

/**
 * Watch the frames a socket receives (a second 'data' listener sees the same
 * chunks as the WebSocket's own): records each frame's header, skipping
 * payloads without buffering them.
 */
function tapFrames(socket: Socket): FrameHead[] {
  const frames: FrameHead[] = [];
  let head = Buffer.alloc(0);
  let skip = 0;
  socket.on('data', (chunk: Buffer) => {
    let buf = chunk;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        skip -= n;
        buf = buf.subarray(n);
        if (skip > 0) return;
      }
      head = Buffer.concat([head, buf]);
      buf = Buffer.alloc(0);
      if (head.length < 2) return;
      const b0 = head[0] as number;
      const b1 = head[1] as number;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (head.length < 4) return;
        len = head.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (head.length < 10) return;
        len = Number(head.readBigUInt64BE(2));
        off = 10;
      }
      if (b1 & 0x80) off += 4;
      if (head.length < off) return;
      frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, length: len });
      buf = head.subarray(off);
      head = Buffer.alloc(0);
      skip = len;
      if (skip === 0 && buf.length === 0) return;
    }
  });
  return frames;
}

/** The underlying socket of a `ws` WebSocket (private field, stable across ws 8.x). */
function socketOf(ws: WsClient): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/** Negotiated permessage-deflate params of a `ws` WebSocket ({} when none). */
function wsDeflateParams(ws: WsClient): Record<string, unknown> | null {
  const ext = (ws as unknown as { _extensions: Record<string, { params: Record<string, unknown> }> })._extensions['permessage-deflate'];
  return ext ? ext.params : null;
}

interface WsPeer {
  wss: WsServer;
  url: string;
  /** Connections the ws server accepted, with their request. */
  accepted: Array<{ ws: WsClient; req: IncomingMessage }>;
  next(): Promise<{ ws: WsClient; req: IncomingMessage }>;
  stop(): Promise<void>;
}

/**
 * A `ws` server: echoes on /echo; other paths are driven by the test via
 * accepted/next().
 */
async function startWsServer(perMessageDeflate: boolean | object): Promise<WsPeer> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate, maxPayload: WS_MAX });
  const accepted: Array<{ ws: WsClient; req: IncomingMessage }> = [];
  const waiters: Array<(c: { ws: WsClient; req: IncomingMessage }) => void> = [];
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    if (req.url?.startsWith('/echo')) ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    const c = { ws, req };
    accepted.push(c);
    const w = waiters.shift();
    if (w) w(c);
  });
  await within(new Promise<void>((resolve) => wss.once('listening', () => resolve())), 5000, 'ws listen');
  const port = (wss.address() as { port: number }).port;
  return {
    wss,
    url: `ws://127.0.0.1:${port}`,
    accepted,
    next: () => within(new Promise((resolve) => waiters.push(resolve)), 10_000, 'ws server connection'),
    stop: () =>
      within(
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
        5000,
        'ws server close',
      ),
  };
}

interface OurPeer {
  wss: WebSocketServer;
  url: string;
  next(): Promise<WebSocketConnection>;
  stop(): Promise<void>;
}

/** Our server: echoes on /echo; other paths are driven by the test via next(). */
async function startOurServer(perMessageDeflate: boolean | object): Promise<OurPeer> {
  const wss = new WebSocketServer({ port: 0, perMessageDeflate, ...BIG, closeTimeout: 2000 });
  const pending: WebSocketConnection[] = [];
  const waiters: Array<(ws: WebSocketConnection) => void> = [];
  wss.on('connection', (ws) => {
    if (ws.url.startsWith('/echo')) ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
    const w = waiters.shift();
    if (w) w(ws);
    else pending.push(ws);
  });
  await wss.ready();
  return {
    wss,
    url: `ws://127.0.0.1:${wss.address()?.port}`,
    next: () => {
      const ws = pending.shift();
      return ws ? Promise.resolve(ws) : within(new Promise((resolve) => waiters.push(resolve)), 10_000, 'our server connection');
    },
    stop: () => within(wss.close(), 5000, 'our server close'),
  };
}

async function wsConnect(url: string, options: ConstructorParameters<typeof WsClient>[2] = {}): Promise<{ ws: WsClient; responseExtensions: string }> {
  const ws = new WsClient(url, { maxPayload: WS_MAX, ...options });
  let responseExtensions = '';
  ws.once('upgrade', (res) => {
    responseExtensions = String(res.headers['sec-websocket-extensions'] ?? '');
  });
  await wsOpen(ws);
  ws.on('error', () => {});
  return { ws, responseExtensions };
}

// ---------------------------------------------------------------------------
// 0 B … 16 MiB, all four deflate combinations, both directions

for (const clientDeflate of [false, true]) {
  for (const serverDeflate of [false, true]) {
    const negotiated = clientDeflate && serverDeflate;
    const mode = `client deflate ${clientDeflate ? 'on' : 'off'}, server deflate ${serverDeflate ? 'on' : 'off'}`;

    test(`our client → ws server, ${mode}: negotiation and echo 0 B … 16 MiB`, { timeout: 60_000 }, async (t) => {
      const peer = await startWsServer(serverDeflate);
      t.after(() => peer.stop());
      const connected = peer.next();
      const ws = await WebSocket.connect(peer.url + '/echo', [], { perMessageDeflate: clientDeflate, ...BIG });
      const { ws: remote, req } = await connected;
      assert.equal(String(req.headers['sec-websocket-extensions'] ?? '').includes('permessage-deflate'), clientDeflate, 'offer');
      assert.equal(ws.extensions.startsWith('permessage-deflate'), negotiated, `our extensions: ${ws.extensions}`);
      assert.equal(remote.extensions, negotiated ? 'permessage-deflate' : '', "ws's extensions");
      for (const size of SIZES) {
        for (const binary of [false, true]) {
          const payload = makePayload(size, binary);
          ws.send(binary ? payload : payload.toString('utf8'));
          const e = await nextMessage(ws, 30_000);
          assert.equal(e.binary, binary, `type at ${size}`);
          assert.ok(Buffer.from(e.raw).equals(payload), `payload at ${size} B ${binary ? 'binary' : 'text'}`);
          if (!binary) assert.equal(e.data, payload.toString('utf8'));
        }
      }
      const wsSees = wsClosed(remote);
      ws.close(1000, 'all sizes');
      const c = await closed(ws);
      assert.deepEqual([c.code, c.wasClean], [1000, true]);
      assert.deepEqual(await wsSees, { code: 1000, reason: 'all sizes' });
    });

    test(`ws client → our server, ${mode}: negotiation and echo 0 B … 16 MiB`, { timeout: 60_000 }, async (t) => {
      const peer = await startOurServer(serverDeflate);
      t.after(() => peer.stop());
      const connected = peer.next();
      const { ws, responseExtensions } = await wsConnect(peer.url + '/echo', { perMessageDeflate: clientDeflate });
      const ours = await connected;
      assert.equal(ours.extensions.startsWith('permessage-deflate'), negotiated, `our extensions: ${ours.extensions}`);
      assert.equal(responseExtensions.startsWith('permessage-deflate'), negotiated, `response header: ${responseExtensions}`);
      assert.equal(ws.extensions, negotiated ? 'permessage-deflate' : '', "ws's extensions");
      for (const size of SIZES) {
        for (const binary of [false, true]) {
          const payload = makePayload(size, binary);
          ws.send(payload, { binary });
          const m = await wsNextMessage(ws, 30_000);
          assert.equal(m.isBinary, binary, `type at ${size}`);
          assert.ok(m.data.equals(payload), `payload at ${size} B ${binary ? 'binary' : 'text'}`);
        }
      }
      const ourClose = closed(ours);
      ws.close(1000, 'all sizes');
      // our reply echoes the code (RFC 6455 §5.5.1), not necessarily the reason
      assert.equal((await wsClosed(ws)).code, 1000);
      const c = await ourClose;
      assert.deepEqual([c.code, c.reason, c.wasClean], [1000, 'all sizes', true]);
    });
  }
}

// ---------------------------------------------------------------------------
// our client ↔ ws server: fragments, ping/pong, close paths, threshold, pipelining

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';

  test(`our client → ws server, ${mode}`, { timeout: 60_000 }, async (t) => {
    const peer = await startWsServer(deflate ? { threshold: 0 } : false);
    t.after(() => peer.stop());
    const connect = async (path: string, opts: object = {}): Promise<{ ws: WebSocket; remote: WsClient }> => {
      const accepted = peer.next();
      const ws = await WebSocket.connect(peer.url + path, [], { perMessageDeflate: deflate, ...BIG, closeTimeout: 2000, ...opts });
      return { ws, remote: (await accepted).ws };
    };

    await t.test('ws sends fragmented messages ({ fin: false } … { fin: true }), UTF-8 split mid-character', async () => {
      const { ws, remote } = await connect('/frag');
      const text = Buffer.from(UTF8_TEXT, 'utf8');
      const got = ourMessages(ws, 3);
      // text cut every 5 bytes: many cuts fall inside 2-, 3- and 4-byte sequences
      for (let i = 0; i < text.length; i += 5) remote.send(text.subarray(i, i + 5), { binary: false, fin: i + 5 >= text.length });
      const bin = makePayload(200_000, true);
      for (let i = 0; i < bin.length; i += 65_536) remote.send(bin.subarray(i, i + 65_536), { binary: true, fin: i + 65_536 >= bin.length });
      // a message whose first fragment is empty
      remote.send(Buffer.alloc(0), { binary: false, fin: false });
      remote.send(Buffer.from('€', 'utf8').subarray(0, 1), { binary: false, fin: false });
      remote.send(Buffer.from('€', 'utf8').subarray(1), { binary: false, fin: true });
      const [a, b, c] = await got;
      assert.equal(a?.binary, false);
      assert.equal(Buffer.from(a!.raw).toString('utf8'), UTF8_TEXT);
      assert.equal(b?.binary, true);
      assert.ok(Buffer.from(b!.raw).equals(bin));
      assert.equal(Buffer.from(c!.raw).toString('utf8'), '€');
      ws.close();
      await closed(ws);
    });

    await t.test('we send fragmented messages (beginMessage/sendFragment/endMessage), UTF-8 split mid-character', async () => {
      const { ws, remote } = await connect('/frag');
      const got = wsMessages(remote, 3);
      const text = Buffer.from(UTF8_TEXT, 'utf8');
      ws.beginMessage(false);
      for (let i = 0; i < text.length; i += 7) ws.sendFragment(text.subarray(i, i + 7));
      ws.endMessage();
      const bin = makePayload(300_000, true);
      ws.beginMessage(true);
      for (let i = 0; i < bin.length; i += 100_000) ws.sendFragment(bin.subarray(i, i + 100_000));
      ws.endMessage();
      // the last bytes go with endMessage; the 4-byte 😀 is split 1 + 3
      const emoji = Buffer.from('x😀', 'utf8');
      ws.beginMessage(false);
      ws.sendFragment(emoji.subarray(0, 2));
      ws.endMessage(emoji.subarray(2));
      const [a, b, c] = await got;
      assert.deepEqual([a?.isBinary, a?.data.toString('utf8')], [false, UTF8_TEXT]);
      assert.equal(b?.isBinary, true);
      assert.ok(b?.data.equals(bin));
      assert.deepEqual([c?.isBinary, c?.data.toString('utf8')], [false, 'x😀']);
      ws.close();
      await closed(ws);
    });

    await t.test('ping/pong with payloads, both ways', async () => {
      const { ws, remote } = await connect('/ping');
      // our ping → ws pongs automatically
      const pong = within(new Promise<Uint8Array>((resolve) => ws.addEventListener('pong', (e) => resolve(e.data))), 5000, 'pong');
      const wsSawPing = within(new Promise<Buffer>((resolve) => remote.once('ping', resolve)), 5000, 'ws ping');
      ws.ping('ping-from-us-é');
      assert.equal((await wsSawPing).toString('utf8'), 'ping-from-us-é');
      assert.equal(Buffer.from(await pong).toString('utf8'), 'ping-from-us-é');
      // ws ping → we pong automatically (and report the ping)
      const ourPing = within(new Promise<Uint8Array>((resolve) => ws.addEventListener('ping', (e) => resolve(e.data))), 5000, 'our ping');
      const wsPong = within(new Promise<Buffer>((resolve) => remote.once('pong', resolve)), 5000, 'ws pong');
      const bytes = Buffer.from(Array.from({ length: 125 }, (_, i) => (i * 7) & 0xff));
      remote.ping(bytes);
      assert.ok(Buffer.from(await ourPing).equals(bytes));
      assert.ok((await wsPong).equals(bytes));
      // our unsolicited pong
      const wsPong2 = within(new Promise<Buffer>((resolve) => remote.once('pong', resolve)), 5000, 'ws pong 2');
      ws.pong('beat');
      assert.equal((await wsPong2).toString(), 'beat');
      ws.close();
      await closed(ws);
    });

    await t.test('we close with 4000 "done é": ws sees code and reason, clean', async () => {
      const { ws, remote } = await connect('/close');
      const wsSees = wsClosed(remote);
      ws.close(4000, 'done é');
      const c = await closed(ws);
      assert.deepEqual([c.code, c.reason, c.wasClean], [4000, 'done é', true]);
      assert.deepEqual(await wsSees, { code: 4000, reason: 'done é' });
    });

    await t.test('we close without a code: ws sees 1005', async () => {
      const { ws, remote } = await connect('/close');
      const wsSees = wsClosed(remote);
      ws.close();
      const c = await closed(ws);
      assert.deepEqual([c.code, c.wasClean], [1005, true]);
      assert.equal((await wsSees).code, 1005);
    });

    await t.test('ws closes with 4001 "bye": we see it, wasClean', async () => {
      const { ws, remote } = await connect('/close');
      const c = closed(ws);
      remote.close(4001, 'bye');
      assert.deepEqual(pick(await c), [4001, 'bye', true]);
      assert.equal((await wsClosed(remote)).code, 4001);
    });

    await t.test('ws sends an empty Close: we report 1005, clean', async () => {
      const { ws, remote } = await connect('/close');
      const c = closed(ws);
      remote.close();
      assert.deepEqual(pick(await c), [1005, '', true]);
    });

    await t.test('we send 1 MiB and our Close at once: the echo reaches us before ws closes', async () => {
      // With deflate our 1 MiB is compressed on the thread pool: our Close
      // must wait behind it, not overtake it.
      const { ws } = await connect('/echo');
      const got = ourMessages(ws, 1);
      const c = closed(ws);
      const big = makePayload(MiB, true);
      ws.send(big);
      ws.close(1000, 'sent');
      const [m] = await got;
      assert.ok(m?.binary && Buffer.from(m.raw).equals(big), 'the echo arrived whole');
      assert.deepEqual(pick(await c), [1000, 'sent', true]);
    });

    await t.test('ws.terminate(): we see 1006, not clean', async () => {
      const { ws, remote } = await connect('/close');
      const c = closed(ws);
      remote.terminate();
      assert.deepEqual(pick(await c), [1006, '', false]);
    });

    await t.test('our terminate(): ws sees 1006', async () => {
      const { ws, remote } = await connect('/close');
      const wsSees = wsClosed(remote);
      const c = closed(ws);
      ws.terminate();
      assert.equal((await wsSees).code, 1006);
      assert.deepEqual(pick(await c), [1006, '', false]);
    });

    await t.test('100 pipelined messages arrive in order (and are echoed in order)', async () => {
      const { ws } = await connect('/echo');
      const got = ourMessages(ws, 100);
      for (let i = 0; i < 100; i++) {
        if (i % 2) ws.send(`message ${i} ` + 'é'.repeat(i * 30));
        else ws.send(makePayload(i * 97, true));
      }
      const msgs = await got;
      msgs.forEach((m, i) => {
        assert.equal(m.binary, i % 2 === 0, `type of ${i}`);
        if (i % 2) assert.equal(Buffer.from(m.raw).toString('utf8'), `message ${i} ` + 'é'.repeat(i * 30));
        else assert.ok(Buffer.from(m.raw).equals(makePayload(i * 97, true)), `payload of ${i}`);
      });
      ws.close();
      await closed(ws);
    });
  });
}

// ---------------------------------------------------------------------------
// ws client ↔ our server: fragments, ping/pong, close paths, pipelining

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';

  test(`ws client → our server, ${mode}`, { timeout: 60_000 }, async (t) => {
    const peer = await startOurServer(deflate ? { threshold: 0 } : false);
    t.after(() => peer.stop());
    const connect = async (path: string): Promise<{ ws: WsClient; ours: WebSocketConnection }> => {
      const accepted = peer.next();
      const { ws } = await wsConnect(peer.url + path, { perMessageDeflate: deflate ? { threshold: 0 } : false });
      const ours = await accepted;
      assert.equal(ours.extensions.startsWith('permessage-deflate'), deflate);
      return { ws, ours };
    };

    await t.test('ws sends fragmented messages; UTF-8 split mid-character; we echo them whole', async () => {
      const { ws } = await connect('/echo');
      const got = wsMessages(ws, 2);
      const text = Buffer.from(UTF8_TEXT, 'utf8');
      for (let i = 0; i < text.length; i += 3) ws.send(text.subarray(i, i + 3), { binary: false, fin: i + 3 >= text.length });
      const bin = makePayload(150_000, true);
      for (let i = 0; i < bin.length; i += 50_000) ws.send(bin.subarray(i, i + 50_000), { binary: true, fin: i + 50_000 >= bin.length });
      const [a, b] = await got;
      assert.deepEqual([a?.isBinary, a?.data.toString('utf8')], [false, UTF8_TEXT]);
      assert.equal(b?.isBinary, true);
      assert.ok(b?.data.equals(bin));
      ws.close();
      await wsClosed(ws);
    });

    await t.test('our server sends fragmented messages; ws reassembles them', async () => {
      const { ws, ours } = await connect('/push');
      const got = wsMessages(ws, 2);
      const text = Buffer.from(UTF8_TEXT, 'utf8');
      ours.beginMessage(false);
      for (let i = 0; i < text.length; i += 2) ours.sendFragment(text.subarray(i, i + 2));
      ours.endMessage();
      const bin = makePayload(70_000, true);
      ours.beginMessage(true);
      ours.sendFragment(bin.subarray(0, 1));
      ours.sendFragment(bin.subarray(1, 65_537));
      ours.endMessage(bin.subarray(65_537));
      const [a, b] = await got;
      assert.deepEqual([a?.isBinary, a?.data.toString('utf8')], [false, UTF8_TEXT]);
      assert.ok(b?.isBinary && b.data.equals(bin));
      ws.close();
      await wsClosed(ws);
    });

    await t.test('ping/pong with payloads, both ways', async () => {
      const { ws, ours } = await connect('/ping');
      const ourPing = within(new Promise<Uint8Array>((resolve) => ours.addEventListener('ping', (e) => resolve(e.data))), 5000, 'our ping');
      const wsPong = within(new Promise<Buffer>((resolve) => ws.once('pong', resolve)), 5000, 'ws pong');
      ws.ping('from ws ✓');
      assert.equal(Buffer.from(await ourPing).toString('utf8'), 'from ws ✓');
      assert.equal((await wsPong).toString('utf8'), 'from ws ✓');
      const ourPong = within(new Promise<Uint8Array>((resolve) => ours.addEventListener('pong', (e) => resolve(e.data))), 5000, 'our pong');
      const wsPing = within(new Promise<Buffer>((resolve) => ws.once('ping', resolve)), 5000, 'ws ping');
      ours.ping(new Uint8Array([0, 1, 2, 255]));
      assert.deepEqual([...(await wsPing)], [0, 1, 2, 255]);
      assert.deepEqual([...(await ourPong)], [0, 1, 2, 255]);
      ws.close();
      await wsClosed(ws);
    });

    await t.test('our server closes with 4000 "pushed": ws sees it', async () => {
      const { ws, ours } = await connect('/close');
      const c = closed(ours);
      ours.close(4000, 'pushed');
      assert.deepEqual(await wsClosed(ws), { code: 4000, reason: 'pushed' });
      assert.deepEqual(pick(await c), [4000, 'pushed', true]);
    });

    await t.test('ws closes with 4002 "bye bye": we see it, wasClean', async () => {
      const { ws, ours } = await connect('/close');
      const c = closed(ours);
      ws.close(4002, 'bye bye');
      assert.deepEqual(pick(await c), [4002, 'bye bye', true]);
      assert.equal((await wsClosed(ws)).code, 4002);
    });

    await t.test('ws sends an empty Close: we report 1005', async () => {
      const { ws, ours } = await connect('/close');
      const c = closed(ours);
      ws.close();
      assert.deepEqual(pick(await c), [1005, '', true]);
      assert.equal((await wsClosed(ws)).code, 1005);
    });

    await t.test('ws sends 1 MiB and its Close at once: our echo reaches ws before our Close', async () => {
      // With deflate, 1 MiB is compressed on the thread pool: the Close (and
      // the TCP close) must wait behind it, not overtake it.
      const { ws, ours } = await connect('/echo');
      const c = closed(ours);
      const got = wsMessages(ws, 1);
      // ws may emit 'close' in the same turn as the message: listen first.
      const wsSees = wsClosed(ws);
      const big = makePayload(MiB, true);
      ws.send(big, { binary: true });
      ws.close(1000, 'sent');
      const [m] = await got;
      assert.ok(m?.isBinary && m.data.equals(big), 'the echo arrived whole');
      assert.deepEqual(await wsSees, { code: 1000, reason: '' });
      assert.deepEqual(pick(await c), [1000, 'sent', true]);
    });

    await t.test('ws.terminate(): we see 1006, not clean', async () => {
      const { ws, ours } = await connect('/close');
      const c = closed(ours);
      ws.terminate();
      assert.deepEqual(pick(await c), [1006, '', false]);
    });

    await t.test('our terminate(): ws sees 1006', async () => {
      const { ws, ours } = await connect('/close');
      const wsSees = wsClosed(ws);
      ours.terminate();
      assert.equal((await wsSees).code, 1006);
    });

    await t.test('100 pipelined messages arrive in order (and are echoed in order)', async () => {
      const { ws } = await connect('/echo');
      const got = wsMessages(ws, 100);
      for (let i = 0; i < 100; i++) {
        if (i % 2) ws.send(`message ${i} ` + '€'.repeat(i * 20));
        else ws.send(makePayload(i * 101, true));
      }
      const msgs = await got;
      msgs.forEach((m, i) => {
        assert.equal(m.isBinary, i % 2 === 0, `type of ${i}`);
        if (i % 2) assert.equal(m.data.toString('utf8'), `message ${i} ` + '€'.repeat(i * 20));
        else assert.ok(m.data.equals(makePayload(i * 101, true)), `payload of ${i}`);
      });
      ws.close();
      await wsClosed(ws);
    });

    await t.test('WebSocketServer.close() closes every client with 1001', async () => {
      const a = await connect('/close');
      const b = await connect('/echo');
      const seen = Promise.all([wsClosed(a.ws), wsClosed(b.ws)]);
      const ours = Promise.all([closed(a.ours), closed(b.ours)]);
      await peer.stop();
      const [ca, cb] = await seen;
      assert.equal(ca.code, 1001);
      assert.equal(cb.code, 1001);
      for (const c of await ours) assert.deepEqual([c.code, c.wasClean], [1001, true]);
    });
  });
}

function pick(c: { code: number; reason: string; wasClean: boolean }): [number, string, boolean] {
  return [c.code, c.reason, c.wasClean];
}

// ---------------------------------------------------------------------------
// compression threshold (RSV1 on the wire) and context takeover

test('compression threshold: RSV1 set only at or above it, both directions', { timeout: 30_000 }, async (t) => {
  await t.test('our server (threshold 1024) → ws client', async () => {
    const peer = await startOurServer({ threshold: 1024 });
    t.after(() => peer.stop());
    const accepted = peer.next();
    const { ws } = await wsConnect(peer.url + '/push', { perMessageDeflate: { threshold: 1024 } });
    const ours = await accepted;
    const frames = tapFrames(socketOf(ws));
    const got = wsMessages(ws, 5);
    const small = makePayload(1023, false).toString('utf8');
    const big = makePayload(1024, false).toString('utf8');
    const large = makePayload(100_000, true);
    ours.send(small);
    ours.send(big);
    ours.send(large);
    ours.send(large, { compress: false });
    ours.send('');
    const msgs = await got;
    assert.deepEqual(
      msgs.map((m) => [m.isBinary, m.data.length]),
      [[false, 1023], [false, 1024], [true, 100_000], [true, 100_000], [false, 0]],
    );
    assert.equal(msgs[0]?.data.toString('utf8'), small);
    assert.equal(msgs[1]?.data.toString('utf8'), big);
    assert.ok(msgs[2]?.data.equals(large) && msgs[3]?.data.equals(large));
    const data = frames.filter((f) => f.opcode !== 0x9 && f.opcode !== 0xa);
    assert.deepEqual(data.map((f) => f.rsv1), [false, true, true, false, false], JSON.stringify(data));
    assert.ok((data[1]?.length ?? Infinity) < 1024, 'compressed frame is smaller');
    ws.close();
    await wsClosed(ws);
  });

  await t.test('our client (threshold 1024) → ws server', async () => {
    const peer = await startWsServer({ threshold: 1024 });
    t.after(() => peer.stop());
    const accepted = peer.next();
    const ws = await WebSocket.connect(peer.url + '/sink', [], { perMessageDeflate: { threshold: 1024 } });
    const { ws: remote } = await accepted;
    const frames = tapFrames(socketOf(remote));
    const got = wsMessages(remote, 4);
    const small = makePayload(1000, true);
    const big = makePayload(50_000, false);
    ws.send(small);
    ws.send(big.toString('utf8'));
    ws.send(big.toString('utf8'), { compress: false });
    ws.send(makePayload(2000, true));
    const msgs = await got;
    assert.ok(msgs[0]?.isBinary && msgs[0].data.equals(small));
    assert.ok(!msgs[1]?.isBinary && msgs[1]?.data.equals(big));
    assert.ok(!msgs[2]?.isBinary && msgs[2]?.data.equals(big));
    assert.ok(msgs[3]?.data.equals(makePayload(2000, true)));
    const data = frames.filter((f) => f.opcode !== 0x9 && f.opcode !== 0xa);
    assert.deepEqual(data.map((f) => f.rsv1), [false, true, false, true], JSON.stringify(data));
    // ws compresses its echo above its own threshold: check we inflate what ws sends too
    const echoed = nextMessage(ws);
    remote.send(big, { binary: false });
    const e = await echoed;
    assert.equal(e.data, big.toString('utf8'));
    ws.close();
    await closed(ws);
  });
});

test('no context takeover negotiated with ws, messages still correct', { timeout: 30_000 }, async (t) => {
  const messages = [0, 1, 3].flatMap((k) => [
    'the same words again and again, '.repeat(100) + k,
    'the same words again and again, '.repeat(100) + k,
  ]);

  await t.test('ws client asks for server_ and client_no_context_takeover from our server', async () => {
    const peer = await startOurServer({ threshold: 0 });
    t.after(() => peer.stop());
    const accepted = peer.next();
    const { ws, responseExtensions } = await wsConnect(peer.url + '/echo', {
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 },
    });
    const ours = await accepted;
    for (const s of [responseExtensions, ours.extensions]) {
      assert.match(s, /permessage-deflate/);
      assert.match(s, /server_no_context_takeover/);
      assert.match(s, /client_no_context_takeover/);
    }
    const params = wsDeflateParams(ws);
    assert.equal(params?.server_no_context_takeover, true);
    assert.equal(params?.client_no_context_takeover, true);
    const got = wsMessages(ws, messages.length);
    for (const m of messages) ws.send(m);
    assert.deepEqual((await got).map((m) => m.data.toString('utf8')), messages);
    ws.close();
    await wsClosed(ws);
  });

  await t.test('our server announces server_no_context_takeover and asks client_no_context_takeover unasked', async () => {
    const peer = await startOurServer({ threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true });
    t.after(() => peer.stop());
    const accepted = peer.next();
    const { ws, responseExtensions } = await wsConnect(peer.url + '/echo', { perMessageDeflate: { threshold: 0 } });
    const ours = await accepted;
    assert.match(responseExtensions, /server_no_context_takeover/);
    assert.match(responseExtensions, /client_no_context_takeover/);
    assert.match(ours.extensions, /server_no_context_takeover/);
    const got = wsMessages(ws, messages.length);
    for (const m of messages) ws.send(m);
    assert.deepEqual((await got).map((m) => m.data.toString('utf8')), messages);
    ws.close();
    await wsClosed(ws);
  });

  await t.test('our client asks ws server for no context takeover both ways', async () => {
    const peer = await startWsServer({ threshold: 0 });
    t.after(() => peer.stop());
    const accepted = peer.next();
    const ws = await WebSocket.connect(peer.url + '/echo', [], {
      perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
    });
    const { ws: remote, req } = await accepted;
    assert.match(String(req.headers['sec-websocket-extensions']), /server_no_context_takeover/);
    assert.match(String(req.headers['sec-websocket-extensions']), /client_no_context_takeover/);
    assert.match(ws.extensions, /server_no_context_takeover/);
    assert.equal(remote.extensions, 'permessage-deflate');
    assert.equal(wsDeflateParams(remote)?.server_no_context_takeover, true);
    const got = ourMessages(ws, messages.length);
    for (const m of messages) ws.send(m);
    assert.deepEqual((await got).map((m) => Buffer.from(m.raw).toString('utf8')), messages);
    ws.close();
    await closed(ws);
  });

  await t.test('ws server imposes no context takeover on our client unasked', async () => {
    const peer = await startWsServer({ threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true });
    t.after(() => peer.stop());
    const accepted = peer.next();
    const ws = await WebSocket.connect(peer.url + '/echo', [], { perMessageDeflate: { threshold: 0 } });
    const { ws: remote } = await accepted;
    assert.match(ws.extensions, /server_no_context_takeover/);
    assert.match(ws.extensions, /client_no_context_takeover/);
    assert.equal(wsDeflateParams(remote)?.client_no_context_takeover, true);
    const got = ourMessages(ws, messages.length);
    for (const m of messages) ws.send(m);
    assert.deepEqual((await got).map((m) => Buffer.from(m.raw).toString('utf8')), messages);
    ws.close();
    await closed(ws);
  });
});

test('deflateBackend: our server and client with the pure-JS backend (pako) interoperate with ws', { timeout: 30_000 }, async () => {
  const used: string[] = [];
  // pako, with a note of every inflater and deflater the codecs ask it for.
  const spy = (side: string): DeflateBackend => ({
    name: 'pako-spy',
    createInflater: (bits) => (used.push(`${side} inflater`), pakoBackend.createInflater(bits)),
    createDeflater: (bits, level, mem) => (used.push(`${side} deflater`), pakoBackend.createDeflater(bits, level, mem)),
  });
  const wss = new WebSocketServer({ port: 0, perMessageDeflate: { threshold: 0 }, deflateBackend: spy('server') });
  wss.on('connection', (ws) => (ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary })));
  await wss.ready();
  const wsPeer = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
  wsPeer.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => wsPeer.once('listening', () => resolve()));
  try {
    const text = UTF8_TEXT.repeat(40);
    // ws client → our server (pako)
    const { ws } = await wsConnect(`ws://127.0.0.1:${wss.address()?.port}/`, { perMessageDeflate: { threshold: 0 } });
    assert.match(ws.extensions, /permessage-deflate/);
    const got = wsNextMessage(ws);
    ws.send(text);
    assert.equal((await got).data.toString('utf8'), text);
    ws.close();
    await wsClosed(ws);
    // our client (pako) → ws server
    const ours = await WebSocket.connect(`ws://127.0.0.1:${(wsPeer.address() as { port: number }).port}/`, [], { deflateBackend: spy('client') });
    assert.match(ours.extensions, /permessage-deflate/);
    ours.send(text);
    assert.equal((await nextMessage(ours)).data, text);
    const c = closed(ours);
    ours.close(1000);
    await c;
    assert.deepEqual(new Set(used), new Set(['server inflater', 'server deflater', 'client inflater', 'client deflater']));
  } finally {
    await wss.close();
    await new Promise<void>((resolve) => wsPeer.close(() => resolve()));
  }
});

test('our client sends several permessage-deflate offers; ws accepts one, and we take its answer for that offer', { timeout: 30_000 }, async (t) => {
  const offers = [{ serverNoContextTakeover: true, serverMaxWindowBits: 10 }, { clientMaxWindowBits: 12 as const }];
  const text = 'the same words again and again, '.repeat(200);

  for (const [name, wsOptions, expect] of [
    // ws takes the first offer it can satisfy: the first one by default...
    ['ws takes our first offer', { threshold: 0 }, [/server_no_context_takeover/, /server_max_window_bits=10/]],
    // ...the second when it refuses to drop its context (serverNoContextTakeover: false is "never").
    ['ws declines the first and takes the second', { threshold: 0, serverNoContextTakeover: false, serverMaxWindowBits: false }, [/client_max_window_bits=12/]],
  ] as const) {
    await t.test(name, async () => {
      const peer = await startWsServer(wsOptions);
      t.after(() => peer.stop());
      const accepted = peer.next();
      const ws = await WebSocket.connect(peer.url + '/echo', [], { perMessageDeflate: offers, ...BIG });
      const { req } = await accepted;
      // Both offers went out, in our order.
      assert.match(String(req.headers['sec-websocket-extensions']), /^permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits, permessage-deflate; client_max_window_bits=12$/);
      for (const re of expect) assert.match(ws.extensions, re);
      ws.send(text);
      assert.equal((await nextMessage(ws)).data, text);
      const c = closed(ws);
      ws.close(1000);
      await c;
    });
  }
});

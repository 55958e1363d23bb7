/**
 * Interop with Autobahn|Python (Debian python3-autobahn, /usr/bin/python3),
 * both directions, with and without permessage-deflate: text and binary from
 * 0 B to 16 MiB, fragmented, ping/pong and every close path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/adapters/node/client.js';
import { WebSocketServer } from '../../src/adapters/node/server.js';
import { startAutobahnServer, runAutobahnClient, makePayload, type AutobahnServer } from './peers.js';
import { nextMessage, closed, SIZES } from '../helpers/ws.js';

const BIG = { maxFrameSize: 32 * 1024 * 1024, maxMessageSize: 32 * 1024 * 1024 };

async function eventuallyTrue(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const deflate of [false, true]) {
  const mode = deflate ? 'with permessage-deflate' : 'without compression';

  test(`our client → Autobahn|Python server, ${mode}`, async (t) => {
    const server: AutobahnServer = await startAutobahnServer({ deflate });
    t.after(() => server.stop());

    await t.test('echo text and binary, 0 B … 16 MiB', async () => {
      const ws = await WebSocket.connect(server.url('/echo'), [], { perMessageDeflate: deflate, ...BIG });
      assert.equal(ws.extensions.startsWith('permessage-deflate'), deflate);
      for (const size of SIZES) {
        for (const binary of [false, true]) {
          const payload = makePayload(size, binary);
          ws.send(binary ? payload : payload.toString('utf8'));
          const e = await nextMessage(ws, 60_000);
          assert.equal(e.binary, binary, `type at ${size}`);
          assert.ok(Buffer.from(e.raw).equals(payload), `payload at ${size} B ${binary ? 'binary' : 'text'}`);
        }
      }
      ws.close(1000);
      const c = await closed(ws);
      assert.equal(c.wasClean, true);
    });

    await t.test('our fragmented (streamed) message is reassembled by Autobahn', async () => {
      const ws = await WebSocket.connect(server.url('/echo'), [], { perMessageDeflate: deflate });
      const payload = makePayload(100_000, false);
      ws.beginMessage(false);
      for (let i = 0; i < payload.length; i += 7_001) ws.sendFragment(payload.subarray(i, Math.min(i + 7_001, payload.length)));
      ws.endMessage();
      const e = await nextMessage(ws);
      assert.equal(e.data, payload.toString('utf8'));
      ws.close();
      await closed(ws);
    });

    await t.test('Autobahn sends fragmented messages (fragments split UTF-8); we reassemble and echo', async () => {
      for (const fragment of [333, 1000, 65536]) {
        const before = server.events().filter((ev) => ev.event === 'send-result').length;
        const ws = new WebSocket(server.url(`/send?size=200000&binary=0&fragment=${fragment}&count=3`), [], { perMessageDeflate: deflate });
        const done = closed(ws, 30_000);
        ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
        await server.waitForEvent(() => server.events().filter((ev) => ev.event === 'send-result').length > before, 30_000);
        const result = server.events().filter((ev) => ev.event === 'send-result')[before] as { result: string; received: number };
        assert.deepEqual([result.result, result.received], ['ok', 3], `fragment ${fragment}`);
        if (ws.readyState === WebSocket.OPEN) ws.close();
        await done;
      }
    });

    await t.test('ping from the server is answered with the same payload', async () => {
      const ws = new WebSocket(server.url('/ping'), [], { perMessageDeflate: deflate });
      const e = await nextMessage(ws);
      assert.equal(e.data, 'pong:autostrada');
      ws.close();
      await closed(ws);
    });

    await t.test('our ping gets Autobahn\'s pong', async () => {
      const ws = await WebSocket.connect(server.url('/echo'), [], { perMessageDeflate: deflate });
      const pong = new Promise<Uint8Array>((resolve) => ws.addEventListener('pong', (e) => resolve(e.data)));
      ws.ping('hello-autobahn');
      assert.equal(Buffer.from(await pong).toString(), 'hello-autobahn');
      ws.close();
      await closed(ws);
    });

    await t.test('server closes with 4001 "bye": we see it, cleanly', async () => {
      const ws = new WebSocket(server.url('/close?code=4001&reason=bye'), [], { perMessageDeflate: deflate });
      const c = await closed(ws);
      assert.deepEqual([c.code, c.reason, c.wasClean], [4001, 'bye', true]);
    });

    await t.test('server sends an empty Close: we report 1005', async () => {
      const ws = new WebSocket(server.url('/close'), [], { perMessageDeflate: deflate });
      const c = await closed(ws);
      assert.deepEqual([c.code, c.wasClean], [1005, true]);
    });

    await t.test('our terminate(): Autobahn sees 1006, not clean; so do we', async () => {
      const ws = await WebSocket.connect(server.url('/echo?terminate'), [], { perMessageDeflate: deflate });
      const c = closed(ws);
      ws.terminate();
      assert.deepEqual([(await c).code, (await c).wasClean], [1006, false]);
      const ev = (await server.waitForEvent((e) => e.event === 'close' && e.path === '/echo' && e.wasClean === false)) as { code: number };
      assert.equal(ev.code, 1006);
    });

    await t.test('we close without a code: Autobahn receives an empty Close (and answers 1000, which we report)', async () => {
      const ws = await WebSocket.connect(server.url('/echo?empty'), [], { perMessageDeflate: deflate });
      const c = closed(ws);
      ws.close();
      const e = await c;
      // The close event carries the code of the Close frame received (Autobahn replies 1000 to an empty Close).
      assert.deepEqual([e.code, e.wasClean], [1000, true]);
      const ev = (await server.waitForEvent((x) => x.event === 'close' && x.path === '/echo' && x.wasClean === true && x.remoteCode === null)) as { remoteCode: number | null };
      assert.equal(ev.remoteCode, null, 'no code in our Close frame');
    });

    await t.test('we close with 4000 "done": Autobahn receives our code and reason', async () => {
      const ws = await WebSocket.connect(server.url('/echo'), [], { perMessageDeflate: deflate });
      ws.close(4000, 'done');
      const c = await closed(ws);
      assert.equal(c.wasClean, true);
      const ev = await server.waitForEvent((e) => e.event === 'close' && e.remoteCode === 4000);
      assert.equal((ev as { remoteReason: string }).remoteReason, 'done');
    });
  });

  test(`Autobahn|Python client → our server, ${mode}`, async (t) => {
    const wss = new WebSocketServer({ port: 0, perMessageDeflate: deflate, ...BIG });
    /** How each of our server's connections ended, by path. */
    const ends: Array<{ url: string; code: number; reason: string; wasClean: boolean }> = [];
    wss.on('connection', (ws) => {
      ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
      ws.onclose = (e) => ends.push({ url: ws.url, code: e.code, reason: e.reason, wasClean: e.wasClean });
      if (ws.url.startsWith('/push')) {
        ws.send('one');
        ws.send(new Uint8Array([1, 2, 3]));
        ws.close(4000, 'pushed');
      } else if (ws.url.startsWith('/ping')) {
        // Our ping; Autobahn answers with a pong; then we close.
        ws.addEventListener('pong', (e) => ws.close(4001, Buffer.from(e.data).toString('utf8')));
        ws.ping('from-autostrada');
      } else if (ws.url.startsWith('/terminate')) {
        ws.send('last words');
        setTimeout(() => ws.terminate(), 50);
      }
    });
    await wss.ready();
    t.after(() => wss.close());
    const url = `ws://127.0.0.1:${wss.address()?.port}`;

    for (const clientDeflate of [false, true]) {
      await t.test(`echo-check 0 B … 16 MiB, fragmented too (client offers deflate: ${clientDeflate})`, async () => {
        const messages = SIZES.flatMap((size) => [{ size, binary: false }, { size, binary: true }]);
        messages.push({ size: 100_000, binary: false, fragmentSize: 333 } as never, { size: 1_000_000, binary: true, fragmentSize: 65536 } as never);
        const r = await runAutobahnClient({ url: url + '/echo', mode: 'echo-check', deflate: clientDeflate, messages, timeoutMs: 120_000 });
        assert.equal(r.ok, true, JSON.stringify({ error: r.error, bad: r.results?.filter((x) => !x.ok), stderr: r.stderr.slice(-2000) }));
        assert.equal(r.extensions === 'permessage-deflate', deflate && clientDeflate, `negotiated: ${r.responseExtensionsHeader}`);
      });
    }

    await t.test('client closes with 4002: echoed, clean, and our server closes TCP (§7.1.1)', async () => {
      const r = await runAutobahnClient({ url: url + '/echo', mode: 'close', code: 4002, reason: 'bye bye', deflate });
      assert.equal(r.ok, true, r.error);
      assert.equal(r.close?.remoteCode, 4002);
      assert.equal(r.close?.wasClean, true);
      // Autobahn waits for the server to drop TCP and would report doing it itself.
      assert.deepEqual([r.close?.droppedByMe, r.close?.serverDropTimeout], [false, false]);
    });

    await t.test('client sends an empty Close: we report 1005, clean, and answer with an empty Close', async () => {
      const r = await runAutobahnClient({ url: url + '/echo?empty', mode: 'close', deflate });
      assert.equal(r.ok, true, r.error);
      assert.equal(r.close?.wasClean, true);
      assert.equal(r.close?.remoteCode, null, 'our Close carried no code either');
      await eventuallyTrue(() => ends.some((e) => e.url === '/echo?empty'));
      assert.deepEqual(ends.find((e) => e.url === '/echo?empty'), { url: '/echo?empty', code: 1005, reason: '', wasClean: true });
    });

    await t.test('our ping gets Autobahn\'s pong (then we close with its payload as the reason)', async () => {
      const r = await runAutobahnClient({ url: url + '/ping', mode: 'recv', deflate });
      assert.equal(r.ok, true, r.error);
      assert.deepEqual([r.close?.remoteCode, r.close?.remoteReason], [4001, 'from-autostrada']);
    });

    await t.test('our terminate(): Autobahn gets the message sent before, then 1006, not clean', async () => {
      const r = await runAutobahnClient({ url: url + '/terminate', mode: 'recv', deflate });
      assert.deepEqual(r.messages?.map((m) => m.text), ['last words']);
      assert.deepEqual([r.close?.wasClean, r.close?.code], [false, 1006]);
      await eventuallyTrue(() => ends.some((e) => e.url === '/terminate'));
      assert.deepEqual(ends.find((e) => e.url === '/terminate'), { url: '/terminate', code: 1006, reason: '', wasClean: false });
    });

    await t.test('client ping gets our pong', async () => {
      const r = await runAutobahnClient({ url: url + '/echo', mode: 'ping', payload: 'ping-é', deflate });
      assert.equal(r.ok, true, r.error);
      assert.equal(r.pong, 'ping-é');
    });

    await t.test('we push messages then close with 4000: Autobahn sees them and a clean close', async () => {
      const r = await runAutobahnClient({ url: url + '/push', mode: 'recv', deflate });
      assert.equal(r.ok, true, r.error);
      assert.deepEqual(r.messages?.map((m) => [m.type, m.length]), [['text', 3], ['binary', 3]]);
      assert.equal(r.close?.remoteCode, 4000);
      assert.equal(r.close?.remoteReason, 'pushed');
    });
  });
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OrderedQueue, PerMessageDeflate, type DeflateParams } from '../../../../src/core/deflate/codec.js';
import type { DeflateBackend, Deflater, Inflater } from '../../../../src/core/deflate/backend.js';
import { createPakoBackend } from '../../../../src/core/deflate/pako-backend.js';
import { createNodeZlibBackend } from '../../../../src/adapters/node/zlib-backend.js';
import { MiB, concat, settle, textBytes, wsError, zeroBomb } from './backend-suite.js';

const FULL: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

const backends: Record<string, () => DeflateBackend> = {
  pako: () => createPakoBackend(),
  'node-zlib': () => createNodeZlibBackend(),
  'node-zlib async': () => createNodeZlibBackend({ syncThreshold: 0 }),
};

function pair(params: DeflateParams, server: DeflateBackend, client: DeflateBackend = server, maxMessageSize = 64 * MiB) {
  return {
    server: new PerMessageDeflate({ params, role: 'server', backend: server, maxMessageSize, level: 6 }),
    client: new PerMessageDeflate({ params, role: 'client', backend: client, maxMessageSize, level: 6 }),
  };
}

async function send(from: PerMessageDeflate, to: PerMessageDeflate, data: Uint8Array): Promise<Uint8Array> {
  const wire = await from.deflate(data, true);
  const back = concat(await to.inflate(wire, true, 0));
  assert.ok(Buffer.from(back).equals(Buffer.from(data)));
  return wire;
}

/** A backend that records what the codec asks of it. */
function spyBackend(inner: DeflateBackend) {
  const log: string[] = [];
  const backend: DeflateBackend = {
    name: 'spy',
    createInflater(bits: number): Inflater {
      log.push(`createInflater ${bits}`);
      const i = inner.createInflater(bits);
      return {
        inflate: (d, fin, max) => {
          log.push(`inflate fin=${fin} max=${max}`);
          return i.inflate(d, fin, max);
        },
        reset: () => {
          log.push('inflater reset');
          i.reset();
        },
        close: () => {
          log.push('inflater close');
          i.close();
        },
      };
    },
    createDeflater(bits: number, level: number, memLevel: number): Deflater {
      log.push(`createDeflater ${bits} ${level} ${memLevel}`);
      const d = inner.createDeflater(bits, level, memLevel);
      return {
        deflate: (data, fin) => d.deflate(data, fin),
        reset: () => {
          log.push('deflater reset');
          d.reset();
        },
        close: () => {
          log.push('deflater close');
          d.close();
        },
      };
    },
  };
  return { backend, log };
}

for (const [name, make] of Object.entries(backends)) {
  describe(`PerMessageDeflate on ${name}`, () => {
    it('server ⇄ client, context takeover: repeated messages shrink', async () => {
      const { server, client } = pair(FULL, make());
      const data = textBytes(8000);
      const a = await send(client, server, data);
      const b = await send(client, server, data);
      assert.ok(b.length * 5 < a.length);
      const c = await send(server, client, data);
      const d = await send(server, client, data);
      assert.ok(d.length * 5 < c.length);
    });

    it('server_no_context_takeover: server→client messages do not shrink, client→server ones do', async () => {
      const { server, client } = pair({ ...FULL, serverNoContextTakeover: true }, make());
      const data = textBytes(8000);
      const s1 = await send(server, client, data);
      const s2 = await send(server, client, data);
      assert.equal(s2.length, s1.length);
      const c1 = await send(client, server, data);
      const c2 = await send(client, server, data);
      assert.ok(c2.length * 5 < c1.length);
    });

    it('client_no_context_takeover: client→server messages do not shrink, server→client ones do', async () => {
      const { server, client } = pair({ ...FULL, clientNoContextTakeover: true }, make());
      const data = textBytes(8000);
      const c1 = await send(client, server, data);
      const c2 = await send(client, server, data);
      assert.equal(c2.length, c1.length);
      const s1 = await send(server, client, data);
      const s2 = await send(server, client, data);
      assert.ok(s2.length * 5 < s1.length);
    });

    it('both no_context_takeover, small windows (client 8 → deflates with 9), fragmented', async () => {
      const params = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 8 };
      const { server, client } = pair(params, make());
      for (let k = 0; k < 5; k++) {
        const data = textBytes(5000 + k, k);
        const parts = [await client.deflate(data.subarray(0, 2000), false), await client.deflate(data.subarray(2000), true)];
        // the server inflates in pieces too, carrying the size so far
        const first = await server.inflate(parts[0] as Uint8Array, false, 0);
        const got = concat(first).length;
        const rest = await server.inflate(parts[1] as Uint8Array, true, got);
        assert.ok(Buffer.from(concat([...first, ...rest])).equals(Buffer.from(data)));
        await send(server, client, data);
      }
    });

    it('maxMessageSize bounds the whole message across pieces (1009)', async () => {
      const { server, client } = pair(FULL, make(), make(), 10000);
      const data = textBytes(12000);
      const wire = await client.deflate(data, true);
      const a = await server.inflate(wire.subarray(0, wire.length >> 1), false, 0);
      const so = concat(a).length;
      assert.ok(so <= 10000);
      await assert.rejects(settle(() => server.inflate(wire.subarray(wire.length >> 1), true, so)), wsError('WS_ERR_MESSAGE_TOO_BIG', 1009));
    });

    it('decompression bomb through the codec: 1009', async () => {
      const b = make();
      const bomb = await zeroBomb(createNodeZlibBackend({ syncThreshold: Infinity }).createDeflater(15, 9, 9), 20);
      const server = new PerMessageDeflate({ params: FULL, role: 'server', backend: b, maxMessageSize: MiB });
      await assert.rejects(settle(() => server.inflate(bomb, true, 0)), wsError('WS_ERR_MESSAGE_TOO_BIG', 1009));
    });

    it('corrupt data: 1007', async () => {
      const server = new PerMessageDeflate({ params: FULL, role: 'server', backend: make(), maxMessageSize: MiB });
      await assert.rejects(settle(() => server.inflate(new Uint8Array([0xff, 0xff]), true, 0)), wsError('WS_ERR_INFLATE_FAILED', 1007));
    });
  });
}

describe('PerMessageDeflate', () => {
  it('creates inflater and deflater lazily, with the right window per role and direction', async () => {
    const params = { serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 8 };
    const { backend, log } = spyBackend(createPakoBackend());
    const server = new PerMessageDeflate({ params, role: 'server', backend, maxMessageSize: 1000, level: 3, memLevel: 7 });
    assert.deepEqual(log, [], 'nothing allocated for an idle connection');
    const client = new PerMessageDeflate({ params, role: 'client', backend: createPakoBackend(), maxMessageSize: 1000 });
    // server inflates the client's messages: client window (8), client_no_context_takeover → reset
    await server.inflate(await client.deflate(textBytes(100), true), true, 0);
    assert.deepEqual(log, ['createInflater 8', 'inflate fin=true max=1000', 'inflater reset']);
    log.length = 0;
    // server deflates with its own window (12), no reset (server context kept)
    await server.deflate(textBytes(100), true);
    assert.deepEqual(log, ['createDeflater 12 3 7']);
    log.length = 0;
    await server.inflate(await client.deflate(textBytes(100), false), false, 0);
    assert.deepEqual(log, ['inflate fin=false max=1000'], 'no reset in the middle of a message');
    log.length = 0;
    server.close();
    assert.deepEqual(log, ['inflater close', 'deflater close']);
    await assert.rejects(settle(() => server.deflate(textBytes(1), true)), wsError('WS_ERR_INTERNAL', 1011));
    await assert.rejects(settle(() => server.inflate(textBytes(1), true, 0)), wsError('WS_ERR_INTERNAL', 1011));
  });

  it('client side: deflates with client_max_window_bits (8 → 9), inflates with the server window', async () => {
    const params = { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 11, clientMaxWindowBits: 8 };
    const { backend, log } = spyBackend(createPakoBackend());
    const client = new PerMessageDeflate({ params, role: 'client', backend, maxMessageSize: 1000 });
    await client.deflate(textBytes(10), true);
    const server = new PerMessageDeflate({ params, role: 'server', backend: createPakoBackend(), maxMessageSize: 1000 });
    await client.inflate(await server.deflate(textBytes(10), true), true, 0);
    assert.deepEqual(log, ['createDeflater 9 1 8', 'createInflater 11', 'inflate fin=true max=1000', 'inflater reset']);
  });

  it('shouldCompress follows the threshold (default 1024)', () => {
    const c = new PerMessageDeflate({ params: FULL, role: 'client', backend: createPakoBackend(), maxMessageSize: 1 });
    assert.equal(c.threshold, 1024);
    assert.equal(c.shouldCompress(1023), false);
    assert.equal(c.shouldCompress(1024), true);
    const all = new PerMessageDeflate({ params: FULL, role: 'client', backend: createPakoBackend(), maxMessageSize: 1, threshold: 0 });
    assert.equal(all.shouldCompress(0), true);
  });

  it('mixed backends: node-zlib server, pako client', async () => {
    const { server, client } = pair(FULL, createNodeZlibBackend(), createPakoBackend());
    for (let k = 0; k < 10; k++) {
      await send(client, server, textBytes(300 * k + 1, k));
      await send(server, client, textBytes(700 * k + 1, k + 1));
    }
  });
});

describe('interop with ws (lib/permessage-deflate.js)', () => {
  const require = createRequire(import.meta.url);
  // ws does not export the file; load it by path (export maps only bind bare specifiers).
  const WsPmd = require(join(dirname(require.resolve('ws')), 'lib', 'permessage-deflate.js')) as new (options: object) => {
    accept(offers: Record<string, unknown[]>[]): Record<string, unknown>;
    compress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
    decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
    cleanup(): void;
  };
  const wsCompress = (p: InstanceType<typeof WsPmd>, d: Uint8Array, fin = true) =>
    new Promise<Buffer>((res, rej) => p.compress(Buffer.from(d), fin, (e, o) => (e ? rej(e) : res(o as Buffer))));
  const wsDecompress = (p: InstanceType<typeof WsPmd>, d: Uint8Array, fin = true) =>
    new Promise<Buffer>((res, rej) => p.decompress(Buffer.from(d), fin, (e, o) => (e ? rej(e) : res(o as Buffer))));

  for (const [name, make] of Object.entries(backends)) {
    for (const nct of [false, true]) {
      it(`ws server ⇄ our client on ${name}${nct ? ', both no_context_takeover' : ''}`, async () => {
        const ws = new WsPmd({ isServer: true, maxPayload: 0, threshold: 0 });
        ws.accept([nct ? { server_no_context_takeover: [true], client_no_context_takeover: [true] } : {}]);
        const params = { ...FULL, serverNoContextTakeover: nct, clientNoContextTakeover: nct };
        const ours = new PerMessageDeflate({ params, role: 'client', backend: make(), maxMessageSize: 64 * MiB });
        for (let k = 0; k < 8; k++) {
          const data = textBytes(1000 * k + 10, k % 3);
          const fromWs = await wsCompress(ws, data);
          assert.ok(Buffer.from(concat(await ours.inflate(fromWs, true, 0))).equals(Buffer.from(data)), `ws→ours ${k}`);
          const toWs = await ours.deflate(data, true);
          assert.ok((await wsDecompress(ws, toWs)).equals(Buffer.from(data)), `ours→ws ${k}`);
          // fragmented from our side
          const a = await ours.deflate(data.subarray(0, data.length >> 1), false);
          const b = await ours.deflate(data.subarray(data.length >> 1), true);
          const got = Buffer.concat([await wsDecompress(ws, a, false), await wsDecompress(ws, b, true)]);
          assert.ok(got.equals(Buffer.from(data)), `ours→ws fragmented ${k}`);
        }
        ws.cleanup();
        ours.close();
      });
    }
  }
});

describe('OrderedQueue', () => {
  const tick = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  it('runs and delivers a sync task inside push when idle (no promise hop)', () => {
    const got: number[] = [];
    const q = new OrderedQueue<number>({ deliver: (v) => got.push(v), fail: assert.fail });
    assert.equal(q.push(() => 1), true);
    assert.deepEqual(got, [1]);
    assert.equal(q.idle, true);
  });

  it('delivers in submission order when async tasks settle out of order', async () => {
    const got: number[] = [];
    const q = new OrderedQueue<number>({ deliver: (v) => got.push(v), fail: assert.fail });
    let running = 0;
    let maxRunning = 0;
    for (let k = 0; k < 30; k++) {
      q.push(() => {
        if (k % 3 === 2) return k; // sync tasks wait their turn too
        running++;
        maxRunning = Math.max(maxRunning, running);
        return tick((30 - k) % 7).then(() => {
          running--;
          return k;
        });
      });
    }
    assert.equal(got.length, 0, 'the first task is async: nothing delivered yet');
    await q.drained();
    assert.deepEqual(got, Array.from({ length: 30 }, (_, k) => k));
    assert.equal(maxRunning, 1, 'one task at a time');
  });

  it('does not re-enter deliver: results pushed from deliver come after it returns', () => {
    const events: string[] = [];
    const q: OrderedQueue<string> = new OrderedQueue<string>({
      deliver: (v) => {
        events.push(`start ${v}`);
        if (v === 'a') q.push(() => 'b');
        events.push(`end ${v}`);
      },
      fail: assert.fail,
    });
    q.push(() => 'a');
    assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b']);
  });

  it('bounds queued bytes; a single task larger than the limit is accepted when idle', async () => {
    const got: number[] = [];
    const q = new OrderedQueue<number>({ deliver: (v) => got.push(v), fail: assert.fail, maxQueuedBytes: 100 });
    assert.equal(q.push(() => tick(5).then(() => 1), 500), true, 'empty queue: accepted');
    assert.equal(q.queuedBytes, 500);
    assert.equal(q.push(() => 2, 1), false, 'over the limit: refused');
    assert.equal(q.size, 1);
    await q.drained();
    assert.equal(q.queuedBytes, 0);
    assert.equal(q.push(() => tick(1).then(() => 3), 60), true);
    assert.equal(q.push(() => 4, 40), true);
    assert.equal(q.push(() => 5, 1), false);
    await q.drained();
    assert.deepEqual(got, [1, 3, 4]);
  });

  it('stops at the first failure: fail once, later tasks dropped, pushes refused', async () => {
    const got: number[] = [];
    const errors: unknown[] = [];
    const q = new OrderedQueue<number>({ deliver: (v) => got.push(v), fail: (e) => errors.push(e) });
    const ran: number[] = [];
    q.push(() => tick(1).then(() => 1));
    q.push(() => Promise.reject(new Error('boom')));
    q.push(() => {
      ran.push(3);
      return 3;
    });
    await q.drained();
    assert.deepEqual(got, [1]);
    assert.equal(errors.length, 1);
    assert.deepEqual(ran, []);
    assert.equal(q.closed, true);
    assert.equal(q.push(() => 4), false);
    // a sync throw and a throwing deliver fail the same way
    const e2: unknown[] = [];
    const q2 = new OrderedQueue<number>({ deliver: () => { throw new Error('consumer'); }, fail: (e) => e2.push(e) });
    q2.push(() => 1);
    assert.equal(e2.length, 1);
    const e3: unknown[] = [];
    const q3 = new OrderedQueue<number>({ deliver: () => {}, fail: (e) => e3.push(e) });
    q3.push(() => { throw new Error('task'); });
    assert.equal(e3.length, 1);
  });

  it('close() drops waiting tasks and ignores a running one', async () => {
    const got: number[] = [];
    const q = new OrderedQueue<number>({ deliver: (v) => got.push(v), fail: assert.fail });
    q.push(() => tick(2).then(() => 1));
    q.push(() => 2);
    q.close();
    await q.drained();
    await tick(5);
    assert.deepEqual(got, []);
  });

  it('keeps order for an async backend through the codec (100 messages in flight)', async () => {
    const params = FULL;
    const backend = createNodeZlibBackend({ syncThreshold: 2048 }); // mixes sync and thread-pool calls
    const client = new PerMessageDeflate({ params, role: 'client', backend, maxMessageSize: 64 * MiB });
    const server = new PerMessageDeflate({ params, role: 'server', backend, maxMessageSize: 64 * MiB });
    const msgs = Array.from({ length: 100 }, (_, k) => textBytes(k % 4 === 0 ? 20000 : 200 + k, k));
    const received: Uint8Array[] = [];
    const inbound = new OrderedQueue<Uint8Array[]>({ deliver: (chunks) => received.push(concat(chunks)), fail: assert.fail, maxQueuedBytes: 64 * MiB });
    const outbound = new OrderedQueue<Uint8Array>({
      // as each compressed message leaves, hand it to the receiving side
      deliver: (wire) => assert.ok(inbound.push(() => server.inflate(wire, true, 0), wire.length)),
      fail: assert.fail,
      maxQueuedBytes: 64 * MiB,
    });
    for (const m of msgs) assert.ok(outbound.push(() => client.deflate(m, true), m.length));
    await outbound.drained();
    await inbound.drained();
    assert.equal(received.length, 100);
    received.forEach((r, k) => assert.ok(Buffer.from(r).equals(Buffer.from(msgs[k] as Uint8Array)), `message ${k}`));
  });
});

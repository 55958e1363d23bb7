import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SYNC_THRESHOLD, createNodeZlibBackend, nodeZlibBackend } from '../../../../src/adapters/node/zlib-backend.js';
import { createPakoBackend } from '../../../../src/core/deflate/pako-backend.js';
import type { DeflateBackend } from '../../../../src/core/deflate/backend.js';
import { MiB, backendSuite, concat, inflateAll, randomBytes, settle, textBytes, wsError, zeroBomb } from '../../core/deflate/backend-suite.js';

backendSuite('node-zlib, sync (writeSync)', () => createNodeZlibBackend({ syncThreshold: Infinity }));
backendSuite('node-zlib, async (thread pool)', () => createNodeZlibBackend({ syncThreshold: 0 }));
backendSuite('node-zlib, public API only (no internals)', () => createNodeZlibBackend({ useInternals: false }));
backendSuite('node-zlib, mixed (sync up to 1 KiB)', () => createNodeZlibBackend({ syncThreshold: 1024 }));
backendSuite('node-zlib, 64-byte scratch', () => createNodeZlibBackend({ syncThreshold: Infinity, chunkSize: 64 }));

describe('node-zlib backend', () => {
  it('detects the synchronous path on this Node and answers small calls without a promise', () => {
    assert.equal(nodeZlibBackend.syncAvailable, true);
    assert.equal(nodeZlibBackend.syncThreshold, DEFAULT_SYNC_THRESHOLD);
    const d = nodeZlibBackend.createDeflater(15, 6, 8);
    const i = nodeZlibBackend.createInflater(15);
    const wire = d.deflate(textBytes(1000), true);
    assert.ok(wire instanceof Uint8Array && !(wire instanceof Promise));
    const out = i.inflate(wire, true, 1000);
    assert.ok(Array.isArray(out));
    assert.ok(Buffer.from(concat(out)).equals(Buffer.from(textBytes(1000))));
    d.close();
    i.close();
  });

  it('above syncThreshold answers with a promise; useInternals: false always does', async () => {
    const b = createNodeZlibBackend({ syncThreshold: 100 });
    const d = b.createDeflater(15, 6, 8);
    assert.ok(!(d.deflate(textBytes(100), true) instanceof Promise));
    const p = d.deflate(textBytes(101), true);
    assert.ok(p instanceof Promise);
    await p;
    const f = createNodeZlibBackend({ useInternals: false });
    assert.equal(f.syncAvailable, false);
    const q = f.createDeflater(15, 6, 8).deflate(textBytes(10), true);
    assert.ok(q instanceof Promise);
    await q;
  });

  it('the async path keeps order under concurrency (calls not awaited one by one)', async () => {
    for (const b of [createNodeZlibBackend({ syncThreshold: 0 }), createNodeZlibBackend({ syncThreshold: 2000 })]) {
      const d = b.createDeflater(15, 6, 8);
      const i = b.createInflater(15);
      // sizes alternate around the threshold: sync calls must wait for async ones
      const msgs = Array.from({ length: 60 }, (_, k) => textBytes(k % 3 === 0 ? 5000 : 300 + k, k));
      const wires = await Promise.all(msgs.map((m) => d.deflate(m, true)));
      const outs = await Promise.all(wires.map((w) => i.inflate(w, true, MiB)));
      outs.forEach((o, k) => assert.ok(Buffer.from(concat(o)).equals(Buffer.from(msgs[k] as Uint8Array)), `message ${k}`));
    }
  });

  it('reset() is ordered after pending async calls', async () => {
    const b = createNodeZlibBackend({ syncThreshold: 1000 });
    const d = b.createDeflater(15, 6, 8);
    const i = b.createInflater(15);
    const big = textBytes(5000); // async
    const small = textBytes(500, 3); // sync when idle
    const p1 = d.deflate(big, true);
    d.reset(); // must apply after p1, before the next call
    const p2 = d.deflate(big, true);
    const [w1, w2] = await Promise.all([p1, p2]);
    assert.ok(Buffer.from(w1).equals(Buffer.from(w2)), 'the second message was compressed from an empty window');
    const q1 = i.inflate(w1, true, MiB);
    i.reset();
    const q2 = i.inflate(w2, true, MiB);
    assert.ok(Buffer.from(concat(await q1)).equals(Buffer.from(big)));
    assert.ok(Buffer.from(concat(await q2)).equals(Buffer.from(big)));
    // idle again: small calls are synchronous
    assert.ok(!(d.deflate(small, true) instanceof Promise));
  });

  it('close() while async calls are pending rejects them and frees the stream', async () => {
    const b = createNodeZlibBackend({ syncThreshold: 0 });
    const d = b.createDeflater(15, 6, 8);
    const pending = [d.deflate(randomBytes(MiB), true), d.deflate(randomBytes(1000), true)];
    d.close();
    for (const p of pending) await assert.rejects(settle(() => p), wsError('WS_ERR_DEFLATE_FAILED', 1011));
  });

  it('decompression bomb on the async path: 1009, bounded memory', async () => {
    const b = createNodeZlibBackend({ syncThreshold: 0 });
    const bomb = await zeroBomb(createNodeZlibBackend({ syncThreshold: Infinity }).createDeflater(15, 9, 9));
    const i = b.createInflater(15);
    const before = process.memoryUsage().arrayBuffers;
    await assert.rejects(settle(() => i.inflate(bomb, true, MiB)), wsError('WS_ERR_MESSAGE_TOO_BIG', 1009));
    const grew = (process.memoryUsage().arrayBuffers - before) / MiB;
    assert.ok(grew < 16, `arrayBuffers grew by ${grew.toFixed(1)} MiB`);
    i.close();
  });

  it('closing releases zlib memory (1000 deflaters created, used and closed)', () => {
    const b = createNodeZlibBackend();
    const data = textBytes(2000);
    const before = process.memoryUsage().rss;
    for (let k = 0; k < 1000; k++) {
      const d = b.createDeflater(15, 6, 9);
      d.deflate(data, true);
      d.close();
    }
    // ~300 KiB of native zlib state each: 300 MiB if leaked until GC.
    const grew = (process.memoryUsage().rss - before) / MiB;
    assert.ok(grew < 100, `rss grew by ${grew.toFixed(1)} MiB`);
  });

  it('rejects bad options', () => {
    assert.throws(() => createNodeZlibBackend({ chunkSize: 1 }), RangeError);
    assert.throws(() => createNodeZlibBackend({ syncThreshold: -1 }), RangeError);
    assert.throws(() => nodeZlibBackend.createDeflater(15, 10, 8), RangeError);
    assert.throws(() => nodeZlibBackend.createDeflater(15, 6, 0), RangeError);
  });
});

describe('cross-compatibility node:zlib ⇄ pako', () => {
  const node: Record<string, () => DeflateBackend> = {
    'node-zlib sync': () => createNodeZlibBackend(),
    'node-zlib async': () => createNodeZlibBackend({ syncThreshold: 0 }),
  };
  for (const [name, make] of Object.entries(node)) {
    for (const [from, to] of [
      [make, () => createPakoBackend()],
      [() => createPakoBackend(), make],
    ] as const) {
      const label = from === make ? `${name} → pako` : `pako → ${name}`;
      it(`${label}: a stream of messages with context takeover, windows 9…15`, async () => {
        for (const bits of [9, 12, 15]) {
          const d = from().createDeflater(bits, 6, 8);
          const i = to().createInflater(bits);
          for (let k = 0; k < 12; k++) {
            const m = k % 4 === 3 ? randomBytes(3000 + k, k) : textBytes(100 * k * k + 1, k % 2);
            const parts = k % 5 === 4 ? [await d.deflate(m.subarray(0, m.length >> 1), false), await d.deflate(m.subarray(m.length >> 1), true)] : [await d.deflate(m, true)];
            assert.ok(Buffer.from(await inflateAll(i, concat(parts))).equals(Buffer.from(m)), `bits ${bits} message ${k}`);
          }
          d.close();
          i.close();
        }
      });
    }
  }
});

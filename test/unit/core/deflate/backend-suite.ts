/**
 * The shared DeflateBackend suite: every backend (pako, node:zlib sync,
 * node:zlib async, node:zlib without internals) must pass it. Results may be
 * sync or promises; `await` takes both.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, constants as zc } from 'node:zlib';
import type { DeflateBackend, Deflater, Inflater } from '../../../../src/core/deflate/backend.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import { createNodeZlibBackend } from '../../../../src/adapters/node/zlib-backend.js';

export const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes (xorshift32). */
export function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const WORDS = ['wamp', 'topic', 'com.example', 'publish', 'subscribe', 'call', 'result', 'session', 'realm1', 'é', '日本', '🚀'];

/** Deterministic JSON-like UTF-8 text of exactly `n` bytes (ASCII padding at the end). */
export function textBytes(n: number, seed = 7): Uint8Array {
  const rnd = randomBytes(Math.max(16, n >> 2), seed);
  let s = '';
  let i = 0;
  while (s.length < n) {
    const a = rnd[i++ % rnd.length] as number;
    const b = rnd[i++ % rnd.length] as number;
    s += `{"id":${a * 257 + b},"uri":"${WORDS[a % WORDS.length]}.${WORDS[b % WORDS.length]}","ok":${a > b}},`;
  }
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(n);
  out.set(bytes.subarray(0, n));
  return out;
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** assert.rejects / assert.throws matcher for a WebSocketError. */
export function wsError(code: string, closeCode: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof WebSocketError, `expected WebSocketError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.closeCode, closeCode);
    return true;
  };
}

/** Call and turn a sync throw into a rejection, so `assert.rejects` covers both. */
export async function settle<T>(f: () => T | Promise<T>): Promise<T> {
  return f();
}

export async function inflateAll(i: Inflater, data: Uint8Array, max = 64 * MiB): Promise<Uint8Array> {
  return concat(await i.inflate(data, true, max));
}

/** 100 MiB of zeros as one compressed message (≈100 KiB), without allocating 100 MiB. */
export async function zeroBomb(d: Deflater, mib = 100): Promise<Uint8Array> {
  const zeros = new Uint8Array(MiB);
  const parts: Uint8Array[] = [];
  for (let k = 0; k < mib; k++) parts.push(await d.deflate(zeros, false));
  parts.push(await d.deflate(new Uint8Array(0), true));
  return concat(parts);
}

let bomb100: Uint8Array | null = null;
/** The 100 MiB zero bomb, built once with native zlib (pako would take a second per suite). */
async function hundredMiBBomb(): Promise<Uint8Array> {
  return (bomb100 ??= await zeroBomb(createNodeZlibBackend({ syncThreshold: Infinity }).createDeflater(15, 9, 9)));
}

export const SIZES = [0, 1, 2, 100, 1023, 1024, 4096, 65535, 65536, 65537, 262144, MiB];

/** Register the suite for one backend. `make` is called per test. */
export function backendSuite(label: string, make: () => DeflateBackend): void {
  describe(`DeflateBackend contract: ${label}`, () => {
    it('round-trips random and text payloads 0 B…1 MiB over one pair (context takeover)', async () => {
      const b = make();
      const d = b.createDeflater(15, 1, 8);
      const i = b.createInflater(15);
      for (const size of SIZES) {
        for (const [kind, data] of [['random', randomBytes(size, size + 1)], ['text', textBytes(size, size + 3)]] as const) {
          const wire = await d.deflate(data, true);
          const back = await inflateAll(i, wire);
          assert.equal(back.length, size, `${kind} ${size}`);
          assert.ok(Buffer.from(back).equals(Buffer.from(data)), `${kind} ${size} differs`);
        }
      }
      d.close();
      i.close();
    });

    it('round-trips at every window size 9…15 and levels 0, 1, 6, 9', async () => {
      const b = make();
      const data = textBytes(20000);
      for (let bits = 9; bits <= 15; bits++) {
        for (const level of [0, 1, 6, 9]) {
          const d = b.createDeflater(bits, level, 8);
          const i = b.createInflater(bits);
          for (let n = 0; n < 2; n++) assert.ok(Buffer.from(await inflateAll(i, await d.deflate(data, true))).equals(Buffer.from(data)));
          d.close();
          i.close();
        }
      }
    });

    it('context takeover: the second identical message compresses much smaller', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const i = b.createInflater(15);
      const data = textBytes(4000);
      const first = await d.deflate(data, true);
      const second = await d.deflate(data, true);
      assert.ok(second.length * 5 < first.length, `first ${first.length}, second ${second.length}`);
      assert.ok(Buffer.from(await inflateAll(i, first)).equals(Buffer.from(data)));
      assert.ok(Buffer.from(await inflateAll(i, second)).equals(Buffer.from(data)));
    });

    it('reset() drops the window on both sides (no_context_takeover)', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const i = b.createInflater(15);
      const data = textBytes(4000);
      const first = await d.deflate(data, true);
      d.reset();
      const second = await d.deflate(data, true);
      assert.ok(Buffer.from(second).equals(Buffer.from(first)), 'after reset the deflater starts from an empty window');
      assert.ok(Buffer.from(await inflateAll(i, first)).equals(Buffer.from(data)));
      i.reset();
      assert.ok(Buffer.from(await inflateAll(i, second)).equals(Buffer.from(data)));
      // A message that needs the window fails to inflate after a reset.
      const third = await d.deflate(data, true); // refers to `second`
      i.reset();
      await assert.rejects(settle(() => i.inflate(third, true, MiB)), wsError('WS_ERR_INFLATE_FAILED', 1007));
    });

    it('deflates a message in several pieces (each flushed, tail stripped only at fin)', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const i = b.createInflater(15);
      const data = textBytes(30000);
      for (let round = 0; round < 2; round++) {
        const cuts = [0, 1, 1000, 1001, 17000, 30000];
        const parts: Uint8Array[] = [];
        for (let k = 0; k + 1 < cuts.length; k++) {
          const fin = k + 2 === cuts.length;
          const part = await d.deflate(data.subarray(cuts[k], cuts[k + 1]), fin);
          if (!fin) assert.deepEqual([...part.subarray(-4)], [0, 0, 0xff, 0xff], 'a non-final piece keeps its sync-flush marker');
          parts.push(part);
        }
        assert.ok(Buffer.from(await inflateAll(i, concat(parts))).equals(Buffer.from(data)));
      }
    });

    it('inflates a small message split at every boundary of its compressed bytes', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const data = textBytes(300);
      const warm = textBytes(200, 99);
      const wireWarm = await d.deflate(warm, true);
      const wire = await d.deflate(data, true); // uses the context of `warm`
      for (let cut = 0; cut <= wire.length; cut++) {
        const i = b.createInflater(15);
        assert.ok(Buffer.from(await inflateAll(i, wireWarm)).equals(Buffer.from(warm)));
        const out = [...(await i.inflate(wire.subarray(0, cut), false, MiB)), ...(await i.inflate(wire.subarray(cut), true, MiB))];
        assert.ok(Buffer.from(concat(out)).equals(Buffer.from(data)), `cut at ${cut}`);
        i.close();
      }
      // and byte by byte
      const i = b.createInflater(15);
      await inflateAll(i, wireWarm);
      const out: Uint8Array[] = [];
      for (let k = 0; k < wire.length; k++) out.push(...(await i.inflate(wire.subarray(k, k + 1), false, MiB)));
      out.push(...(await i.inflate(new Uint8Array(0), true, MiB)));
      assert.ok(Buffer.from(concat(out)).equals(Buffer.from(data)));
    });

    it('empty messages: deflate gives 0x00 (RFC 7692 §7.2.3.6), also after a flushed piece', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const i = b.createInflater(15);
      assert.deepEqual([...(await d.deflate(new Uint8Array(0), true))], [0]);
      assert.deepEqual([...(await d.deflate(new Uint8Array(0), true))], [0]);
      const part = await d.deflate(textBytes(100), false);
      const end = await d.deflate(new Uint8Array(0), true);
      assert.ok(end.length >= 1);
      assert.equal((await inflateAll(i, new Uint8Array([0]))).length, 0);
      assert.equal((await inflateAll(i, new Uint8Array([0]))).length, 0);
      assert.ok(Buffer.from(await inflateAll(i, concat([part, end]))).equals(Buffer.from(textBytes(100))));
      // and the stream is still in step
      const data = textBytes(500, 5);
      assert.ok(Buffer.from(await inflateAll(i, await d.deflate(data, true))).equals(Buffer.from(data)));
    });

    it('decompression bomb: 100 MiB of zeros with maxOutput 1 MiB fails with 1009 and bounded memory', async () => {
      const b = make();
      const bomb = await hundredMiBBomb();
      assert.ok(bomb.length < 200 * 1024, `bomb is ${bomb.length} bytes`);
      // and this backend's own deflater makes one that its inflater stops too
      const own = await zeroBomb(b.createDeflater(15, 1, 8), 4);
      await assert.rejects(settle(() => b.createInflater(15).inflate(own, true, MiB)), wsError('WS_ERR_MESSAGE_TOO_BIG', 1009));
      const i = b.createInflater(15);
      const before = process.memoryUsage();
      const t0 = performance.now();
      await assert.rejects(settle(() => i.inflate(bomb, true, MiB)), wsError('WS_ERR_MESSAGE_TOO_BIG', 1009));
      const after = process.memoryUsage();
      const grewAB = (after.arrayBuffers - before.arrayBuffers) / MiB;
      const grewRss = (after.rss - before.rss) / MiB;
      assert.ok(grewAB < 16, `arrayBuffers grew by ${grewAB.toFixed(1)} MiB`);
      assert.ok(grewRss < 48, `rss grew by ${grewRss.toFixed(1)} MiB`);
      assert.ok(performance.now() - t0 < 2000, 'stopped early');
      // spent after a failure
      await assert.rejects(settle(() => i.inflate(new Uint8Array([0]), true, MiB)));
      i.close();
    });

    it('output exactly at maxOutput passes, one byte over fails', async () => {
      const b = make();
      const data = textBytes(5000);
      const wire = await b.createDeflater(15, 6, 8).deflate(data, true);
      assert.equal((await inflateAll(b.createInflater(15), wire, 5000)).length, 5000);
      await assert.rejects(settle(() => b.createInflater(15).inflate(wire, true, 4999)), wsError('WS_ERR_MESSAGE_TOO_BIG', 1009));
    });

    it('corrupt data fails with WS_ERR_INFLATE_FAILED, 1007', async () => {
      const b = make();
      // 0xff…: BTYPE=11 is reserved (RFC 1951 §3.2.3)
      await assert.rejects(settle(() => b.createInflater(15).inflate(new Uint8Array([0xff, 0xff, 0xff]), true, MiB)), wsError('WS_ERR_INFLATE_FAILED', 1007));
      // a stored block whose LEN/NLEN do not match
      await assert.rejects(settle(() => b.createInflater(15).inflate(new Uint8Array([0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5]), true, MiB)), wsError('WS_ERR_INFLATE_FAILED', 1007));
      // a distance further back than anything seen
      const d = b.createDeflater(15, 6, 8);
      await d.deflate(textBytes(2000), true);
      const needsContext = await d.deflate(textBytes(2000), true);
      await assert.rejects(settle(() => b.createInflater(15).inflate(needsContext, true, MiB)), wsError('WS_ERR_INFLATE_FAILED', 1007));
    });

    it('a message ending in a final block (BFINAL) inflates, and the next stream too', async () => {
      const b = make();
      const i = b.createInflater(15);
      const a = textBytes(3000, 1);
      const c = textBytes(3000, 2);
      // Z_FINISH: the block carries BFINAL; the receiver still appends the tail.
      const finalA = deflateRawSync(a);
      const finalC = deflateRawSync(c);
      assert.ok(Buffer.from(await inflateAll(i, finalA)).equals(Buffer.from(a)));
      assert.ok(Buffer.from(await inflateAll(i, finalC)).equals(Buffer.from(c)));
      // split so that the final block ends exactly at a piece boundary
      const out = [...(await i.inflate(finalA, false, MiB)), ...(await i.inflate(new Uint8Array(0), true, MiB))];
      assert.ok(Buffer.from(concat(out)).equals(Buffer.from(a)));
      // then a normal sync-flushed message
      const d = b.createDeflater(15, 6, 8);
      assert.ok(Buffer.from(await inflateAll(i, await d.deflate(c, true))).equals(Buffer.from(c)));
    });

    it('windowBits 8: inflating works; deflating throws RangeError (zlib cannot)', async () => {
      const b = make();
      assert.throws(() => b.createDeflater(8, 6, 8), RangeError);
      assert.throws(() => b.createDeflater(16, 6, 8), RangeError);
      assert.throws(() => b.createInflater(7), RangeError);
      // A 9-bit zlib deflater never reaches back more than 250 bytes, so an
      // inflater with a 256-byte window reads it.
      const data = textBytes(10000);
      const wire = deflateRawSync(data, { windowBits: 9, finishFlush: zc.Z_SYNC_FLUSH });
      const i = b.createInflater(8);
      assert.ok(Buffer.from(await inflateAll(i, wire.subarray(0, wire.length - 4))).equals(Buffer.from(data)));
    });

    it('close() is idempotent and later calls fail', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const i = b.createInflater(15);
      await d.deflate(textBytes(10), true);
      d.close();
      d.close();
      i.close();
      i.close();
      await assert.rejects(settle(() => d.deflate(textBytes(10), true)));
      await assert.rejects(settle(() => i.inflate(new Uint8Array([0]), true, 10)));
      // never used at all
      b.createDeflater(15, 6, 8).close();
      b.createInflater(15).close();
    });

    it('is interoperable with node:zlib one-shot raw streams', async () => {
      const b = make();
      const d = b.createDeflater(15, 6, 8);
      const data = textBytes(12345);
      const wire = await d.deflate(data, true);
      const { inflateRawSync } = await import('node:zlib');
      const back = inflateRawSync(concat([wire, new Uint8Array([0, 0, 0xff, 0xff])]), { finishFlush: zc.Z_SYNC_FLUSH });
      assert.ok(back.equals(Buffer.from(data)));
      const ref = deflateRawSync(data, { finishFlush: zc.Z_SYNC_FLUSH });
      assert.ok(Buffer.from(await inflateAll(b.createInflater(15), ref.subarray(0, ref.length - 4))).equals(Buffer.from(data)));
    });
  });
}

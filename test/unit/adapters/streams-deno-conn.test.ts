/**
 * denoConnDuplex (src/adapters/deno/conn.ts) in Node, against a scripted
 * stand-in for a Deno `Conn` (the module touches no Deno global): reads only
 * on demand, small reads copied out of a reused buffer, partial writes
 * completed, half-close with closeWrite(), the resource closed exactly once
 * when both directions are done or at once on cancel/abort, and a close()
 * from outside ending a pending read as EOF. The real thing runs in Deno:
 * test/deno/deno.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { denoConnDuplex } from '../../../src/adapters/deno/conn.js';
import type { DenoConn } from '../../../src/adapters/deno/types.js';

/** A Deno Conn stand-in: reads come from `feed`, writes take at most `writeMax` bytes per call. */
class FakeConn implements DenoConn {
  readonly remoteAddr = { transport: 'tcp' as const, hostname: '127.0.0.1', port: 1 };
  reads = 0;
  written: number[] = [];
  writeCalls = 0;
  closeWrites = 0;
  closes = 0;
  private queue: Array<Uint8Array | null> = [];
  private waiting: { p: Uint8Array; resolve: (n: number | null) => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly writeMax = Infinity) {}

  feed(data: Uint8Array | null): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve(this.take(w.p, data));
    } else this.queue.push(data);
  }

  private take(p: Uint8Array, data: Uint8Array | null): number | null {
    if (data === null) return null;
    p.set(data.subarray(0, p.length));
    return Math.min(p.length, data.length);
  }

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    if (this.closes > 0) return Promise.reject(new Error('BadResource: Bad resource ID'));
    if (this.queue.length > 0) return Promise.resolve(this.take(p, this.queue.shift() as Uint8Array | null));
    return new Promise((resolve, reject) => (this.waiting = { p, resolve, reject }));
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.closes > 0) throw new Error('BadResource: Bad resource ID');
    this.writeCalls++;
    const n = Math.min(p.length, this.writeMax);
    for (let i = 0; i < n; i++) this.written.push(p[i] as number);
    return n;
  }

  async closeWrite(): Promise<void> {
    this.closeWrites++;
  }

  close(): void {
    this.closes++;
    if (this.closes > 1) throw new Error('BadResource: Bad resource ID');
    // Deno rejects a read in flight when its resource is closed.
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.reject(new Error('Interrupted: operation canceled'));
    }
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

test('reads only when asked; small reads are copies (the buffer is reused), large ones are not copied', async () => {
  const conn = new FakeConn();
  const d = denoConnDuplex(conn, 64 * 1024);
  await tick();
  assert.equal(conn.reads, 0, 'no read-ahead (highWaterMark 0)');
  const reader = d.readable.getReader();
  conn.feed(new Uint8Array([1, 2, 3]));
  const a = await reader.read();
  conn.feed(new Uint8Array([4, 5]));
  const b = await reader.read();
  assert.deepEqual([...(a.value as Uint8Array)], [1, 2, 3], 'the first chunk is not overwritten by the second read');
  assert.deepEqual([...(b.value as Uint8Array)], [4, 5]);
  assert.equal((a.value as Uint8Array).buffer.byteLength, 3, 'a small read is copied out');
  conn.feed(new Uint8Array(40_000).fill(7));
  const c = await reader.read();
  assert.equal((c.value as Uint8Array).length, 40_000);
  assert.equal((c.value as Uint8Array).buffer.byteLength, 64 * 1024, 'a large read keeps its buffer');
  await tick();
  assert.equal(conn.reads, 3, 'one read per request');
  reader.releaseLock();
  d.close();
});

test('partial writes are completed in order', async () => {
  const conn = new FakeConn(3);
  const d = denoConnDuplex(conn);
  const w = d.writable.getWriter();
  await w.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  await w.write(new Uint8Array([9]));
  assert.deepEqual(conn.written, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(conn.writeCalls, 4);
  w.releaseLock();
  d.close();
});

test('half-close: closing the writable sends closeWrite and keeps reading; the resource closes once both sides are done', async () => {
  const conn = new FakeConn();
  const d = denoConnDuplex(conn);
  const w = d.writable.getWriter();
  const r = d.readable.getReader();
  await w.close();
  assert.equal(conn.closeWrites, 1);
  assert.equal(conn.closes, 0, 'still open for reading');
  conn.feed(new Uint8Array([42]));
  assert.deepEqual([...((await r.read()).value as Uint8Array)], [42], 'the peer still gets heard');
  conn.feed(null);
  assert.equal((await r.read()).done, true);
  assert.equal(conn.closes, 1, 'closed after EOF');
  assert.ok(d.closed);
});

test('EOF first, then our close: the resource closes when the writable closes', async () => {
  const conn = new FakeConn();
  const d = denoConnDuplex(conn);
  const r = d.readable.getReader();
  conn.feed(null);
  assert.equal((await r.read()).done, true);
  assert.equal(conn.closes, 0);
  await d.writable.getWriter().close();
  assert.equal(conn.closes, 1);
});

test('cancel / abort close at once, exactly once', async () => {
  const conn = new FakeConn();
  const d = denoConnDuplex(conn);
  const r = d.readable.getReader();
  const pending = r.read();
  await r.cancel();
  await d.writable.getWriter().abort();
  d.close();
  assert.equal(conn.closes, 1);
  assert.equal((await pending).done, true);
});

test('close() from outside ends a pending read as EOF, not as an error', async () => {
  const conn = new FakeConn();
  const d = denoConnDuplex(conn);
  const r = d.readable.getReader();
  const pending = r.read();
  await tick();
  d.close();
  assert.equal((await pending).done, true);
  assert.equal(conn.closes, 1);
});

test('a read error from Deno errors the readable and closes the resource', async () => {
  const conn = new FakeConn();
  const d = denoConnDuplex(conn);
  const r = d.readable.getReader();
  const pending = r.read();
  await tick();
  // The peer reset the connection: Deno rejects the read.
  (conn as unknown as { waiting: { reject: (e: Error) => void } }).waiting.reject(new Error('ConnectionReset'));
  await assert.rejects(pending, /ConnectionReset/);
  assert.equal(conn.closes, 1);
});

test('readSize is checked', () => {
  assert.throws(() => denoConnDuplex(new FakeConn(), 10), RangeError);
});

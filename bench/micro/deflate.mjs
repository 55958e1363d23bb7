// permessage-deflate backends: node:zlib on the calling thread (sync),
// node:zlib on the thread pool (async), pako (JS). Per-message cost with
// context takeover, as a connection sees it.
//
//   node --import tsx bench/micro/deflate.mjs          (< 30 s)
//   node --import tsx bench/micro/deflate.mjs --quick  (smaller budget)
//
// Every case checks its output (round trip) before it counts.
import { createNodeZlibBackend } from '../../src/adapters/node/zlib-backend.ts';
import { createPakoBackend } from '../../src/core/deflate/pako-backend.ts';
import { DEFLATE_DEFAULTS } from '../../src/core/deflate/negotiate.ts';

const QUICK = process.argv.includes('--quick');
const BUDGET_MS = QUICK ? 60 : 150;
const LEVEL = DEFLATE_DEFAULTS.level;
const MEM_LEVEL = DEFLATE_DEFAULTS.memLevel;

const backends = {
  'zlib-sync': createNodeZlibBackend({ syncThreshold: Infinity }),
  'zlib-async': createNodeZlibBackend({ syncThreshold: 0 }),
  pako: createPakoBackend(),
};
if (!backends['zlib-sync'].syncAvailable) throw new Error('sync path unavailable on this runtime');

// Deterministic JSON-like text: realistic WAMP-ish payloads, about 3-5x compressible.
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const WORDS = ['com', 'myapp', 'topic', 'user', 'update', 'price', 'ticker', 'status', 'online', 'session', 'alpha', 'beta', 'gamma'];
function jsonText(size, seed) {
  const r = rng(seed);
  let s = '[';
  while (s.length < size) {
    const w = () => WORDS[Math.floor(r() * WORDS.length)];
    s += JSON.stringify({ id: Math.floor(r() * 1e9), uri: `${w()}.${w()}.${w()}`, value: Math.round(r() * 1e6) / 100, ok: r() > 0.5, tags: [w(), w()] }) + ',';
  }
  return new TextEncoder().encode(s.slice(0, size));
}

// Enough distinct messages that a repeat falls outside the 32 KiB window:
// consecutive messages share structure, not whole bodies (as in real traffic).
function messages(size) {
  const n = Math.min(256, Math.max(4, Math.ceil((96 * 1024) / size)));
  return Array.from({ length: n }, (_, k) => jsonText(size, size * 31 + k));
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function concat(chunks) {
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

/**
 * Run `op(i)` (sync or async) for the budget, in 3 rounds; returns µs per op
 * of the best round (the machine is shared: the best round is the least
 * disturbed one).
 */
async function measure(op) {
  for (let i = 0; i < 3; i++) await op(i); // warm up
  let best = Infinity;
  let i = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < BUDGET_MS / 3 || n < 3) {
      const r = op(i++);
      if (r instanceof Promise) await r;
      n++;
      if ((n & 7) === 0 || n < 8) t = performance.now();
    }
    t = performance.now();
    best = Math.min(best, ((t - t0) * 1000) / n);
  }
  return best;
}

async function deflateCase(backend, msgs) {
  const d = backend.createDeflater(15, LEVEL, MEM_LEVEL);
  // check: a fresh pair round-trips the first messages
  const checkI = backends.pako.createInflater(15);
  for (const m of msgs) {
    const c = await d.deflate(m, true);
    if (!equal(concat(checkI.inflate(c, true, Infinity)), m)) throw new Error(`${backend.name} deflate: round trip failed`);
  }
  checkI.close();
  let out = 0;
  const us = await measure((i) => {
    const r = d.deflate(msgs[i % msgs.length], true);
    if (r instanceof Promise) return r.then((c) => { out += c.length; });
    out += r.length;
    return undefined;
  });
  d.close();
  return us;
}

async function inflateCase(backend, msgs) {
  // The compressed sequence (context takeover): cycling through it stays valid,
  // since the first message references nothing before it.
  const d = backends['zlib-sync'].createDeflater(15, LEVEL, MEM_LEVEL);
  const wire = [];
  for (const m of msgs) wire.push(d.deflate(m, true));
  d.close();
  const inf = backend.createInflater(15);
  let bad = 0;
  const us = await measure((i) => {
    const k = i % msgs.length;
    const r = inf.inflate(wire[k], true, 64 * 1024 * 1024);
    const check = (chunks) => {
      if (k === msgs.length - 1 && !equal(concat(chunks), msgs[k])) bad++;
    };
    if (r instanceof Promise) return r.then(check);
    check(r);
    return undefined;
  });
  inf.close();
  if (bad) throw new Error(`${backend.name} inflate: wrong output`);
  const ratio = msgs.reduce((a, m) => a + m.length, 0) / wire.reduce((a, c) => a + c.length, 0);
  return { us, ratio };
}

/** `streams` connections in parallel, async path: aggregate µs per message. */
async function parallelDeflate(backend, msgs, streams) {
  const ds = Array.from({ length: streams }, () => backend.createDeflater(15, LEVEL, MEM_LEVEL));
  const us = await measure((i) => Promise.all(ds.map((d) => d.deflate(msgs[i % msgs.length], true))));
  for (const d of ds) d.close();
  return us / streams;
}

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const ops = (us) => Math.round(1e6 / us).toLocaleString('en-US');
const pad = (s, n) => String(s).padStart(n);

const started = performance.now();
console.log(`node ${process.version}, level ${LEVEL}, memLevel ${MEM_LEVEL}, windowBits 15, context takeover; budget ${BUDGET_MS} ms/case`);

// 1. sync vs async by size (decides syncThreshold)
const SIZES = [16, 256, 1024, 4096, 16384, 65536, 1 << 20];
console.log('\nnode:zlib, per message: sync (writeSync) vs async (thread pool)');
console.log(`${'size'.padStart(8)} | ${'inflate sync'.padStart(12)} ${'async'.padStart(10)} ${'×'.padStart(6)} | ${'deflate sync'.padStart(12)} ${'async'.padStart(10)} ${'×'.padStart(6)} | ratio`);
for (const size of SIZES) {
  const msgs = messages(size);
  const is = await inflateCase(backends['zlib-sync'], msgs);
  const ia = await inflateCase(backends['zlib-async'], msgs);
  const ds = await deflateCase(backends['zlib-sync'], msgs);
  const da = await deflateCase(backends['zlib-async'], msgs);
  console.log(
    `${pad(size >= 1024 ? `${size / 1024} KiB` : `${size} B`, 8)} | ${pad(fmt(is.us), 12)} ${pad(fmt(ia.us), 10)} ${pad((ia.us / is.us).toFixed(1), 6)} | ${pad(fmt(ds), 12)} ${pad(fmt(da), 10)} ${pad((da / ds).toFixed(1), 6)} | ${is.ratio.toFixed(1)}x`,
  );
}

// 2. what the thread pool buys: several connections deflating at once
console.log('\nnode:zlib deflate, 4 connections at once (aggregate per message)');
for (const size of [65536, 1 << 20]) {
  const msgs = messages(size);
  const s = await deflateCase(backends['zlib-sync'], msgs);
  const p = await parallelDeflate(backends['zlib-async'], msgs, 4);
  console.log(`${pad(`${size / 1024} KiB`, 8)} | sync one after another ${pad(fmt(s), 9)} | async ×4 in parallel ${pad(fmt(p), 9)} (${(s / p).toFixed(2)}x)`);
}

// 3. the three backends on 1 KiB and 64 KiB JSON-like text
console.log('\nbackends, ops/s (and relative to zlib-sync)');
for (const size of [1024, 65536]) {
  const msgs = messages(size);
  const rows = [];
  for (const [name, b] of Object.entries(backends)) {
    const inf = await inflateCase(b, msgs);
    const def = await deflateCase(b, msgs);
    rows.push({ name, inf: inf.us, def });
  }
  const base = rows[0];
  console.log(`${size / 1024} KiB:`);
  for (const r of rows) {
    console.log(
      `  ${r.name.padEnd(10)} inflate ${pad(ops(r.inf), 9)} ops/s (${(base.inf / r.inf).toFixed(2)}x)   deflate ${pad(ops(r.def), 9)} ops/s (${(base.def / r.def).toFixed(2)}x)`,
    );
  }
}
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// Micro-benchmark for RFC 6455 §5.3 masking: src/core/ws/mask.ts against a
// plain byte loop and the native `bufferutil` addon (what ws uses).
//
//   node --import tsx bench/micro/mask.mjs          (add --quick for a short run)
//
// Prints ns/op per payload size and ratios against the byte loop. Every
// variant's output is checked against the byte loop before it is timed.
// The figures at the top of src/core/ws/mask.ts come from this script.

import { createRequire } from 'node:module';
import { applyMask, maskInto } from '../../src/core/ws/mask.ts';

const require = createRequire(import.meta.url);
const bufferutil = require('bufferutil');
const native = !/\bfor\b/.test(bufferutil.mask.toString());

const quick = process.argv.includes('--quick');
const TARGET_NS = quick ? 20e6 : 60e6; // time per measurement
const ROUNDS = quick ? 1 : 3; // best of

const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

// --- baselines -------------------------------------------------------------

function byteUnmask(data, key) {
  for (let i = 0; i < data.length; i++) data[i] ^= key[i & 3];
}

function byteMaskInto(src, key, dst, off) {
  for (let i = 0; i < src.length; i++) dst[off + i] = src[i] ^ key[i & 3];
}

// Copies of mask.ts's two paths, to find where one overtakes the other.
function unrolledUnmask(d, key) {
  const k0 = key[0], k1 = key[1], k2 = key[2], k3 = key[3];
  let i = 0;
  for (const e = d.length - 3; i < e; i += 4) {
    d[i] ^= k0;
    d[i + 1] ^= k1;
    d[i + 2] ^= k2;
    d[i + 3] ^= k3;
  }
  for (; i < d.length; i++) d[i] ^= key[i & 3];
}
const kb = new Uint8Array(4);
const kw = new Uint32Array(kb.buffer);
function wordUnmask(d, key) {
  const end = d.length;
  let i = 0;
  const head = (4 - (d.byteOffset & 3)) & 3;
  for (; i < head && i < end; i++) d[i] ^= key[i & 3];
  for (let j = 0; j < 4; j++) kb[j] = key[(i + j) & 3];
  const k = kw[0];
  const n = (end - i) >>> 2;
  const words = n > 0 ? new Uint32Array(d.buffer, d.byteOffset + i, n) : new Uint32Array(0);
  let w = 0;
  for (const n4 = n & ~3; w < n4; w += 4) {
    words[w] ^= k;
    words[w + 1] ^= k;
    words[w + 2] ^= k;
    words[w + 3] ^= k;
  }
  for (; w < n; w++) words[w] ^= k;
  for (i += n * 4; i < end; i++) d[i] ^= key[i & 3];
}

// An alternative word loop: DataView, unaligned, explicit little-endian.
function dataViewUnmask(data, key) {
  const n = data.length;
  const dv = new DataView(data.buffer, data.byteOffset, n);
  const k = new DataView(key.buffer, key.byteOffset, 4).getUint32(0, true);
  let i = 0;
  for (const n4 = n & ~3; i < n4; i += 4) dv.setUint32(i, dv.getUint32(i, true) ^ k, true);
  for (; i < n; i++) data[i] ^= key[i & 3];
}

// --- harness ---------------------------------------------------------------

function time(fn) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    let iters = 1;
    for (;;) {
      const t0 = process.hrtime.bigint();
      for (let k = 0; k < iters; k++) fn();
      const dt = Number(process.hrtime.bigint() - t0);
      if (dt >= TARGET_NS / 4) {
        // Warmed up and calibrated; now measure for TARGET_NS.
        const n = Math.max(1, Math.round((iters * TARGET_NS) / dt));
        const t1 = process.hrtime.bigint();
        for (let k = 0; k < n; k++) fn();
        best = Math.min(best, Number(process.hrtime.bigint() - t1) / n);
        break;
      }
      iters *= 4;
    }
  }
  return best;
}

/** A Buffer of `size` bytes at byteOffset `align` (mod 8) of its ArrayBuffer. */
function buf(size, align = 0) {
  const b = Buffer.from(new ArrayBuffer(size + 8), align, size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function check(name, size, run) {
  const want = buf(size);
  byteUnmask(want, key);
  const got = run(size);
  if (!got.equals(want)) throw new Error(`${name} gives a wrong result at ${size} B`);
}

// Verify every variant before timing anything.
for (const size of [0, 1, 3, 4, 15, 16, 17, 125, 1024, 65536 + 3]) {
  for (const align of [0, 1, 2, 3]) {
    check(`applyMask@${align}`, size, (n) => ((b) => (applyMask(b, key), b))(buf(n, align)));
    check(`maskInto@${align}`, size, (n) => {
      const dst = Buffer.from(new ArrayBuffer(n + 16), align, n + 8);
      maskInto(buf(n), key, dst, 5);
      return dst.subarray(5, 5 + n);
    });
  }
  check('unrolled', size, (n) => ((b) => (unrolledUnmask(b, key), b))(buf(n)));
  for (const align of [0, 1, 2, 3]) check(`word@${align}`, size, (n) => ((b) => (wordUnmask(b, key), b))(buf(n, align)));
  check('dataView', size, (n) => ((b) => (dataViewUnmask(b, key), b))(buf(n)));
  check('bufferutil.unmask', size, (n) => ((b) => (bufferutil.unmask(b, key), b))(buf(n)));
  check('bufferutil.mask', size, (n) => {
    const dst = Buffer.alloc(n + 8);
    bufferutil.mask(buf(n), key, dst, 5, n);
    return dst.subarray(5, 5 + n);
  });
}

const fmt = (ns) => (ns < 100 ? ns.toFixed(1) : ns.toFixed(0)).padStart(9);
const ratio = (base, x) => `${(base / x).toFixed(2)}x`.padStart(7);
const gbps = (size, ns) => `${(size / ns).toFixed(2)} GB/s`.padStart(11);

console.log(`node ${process.version}, bufferutil ${native ? 'native' : 'JS fallback'}; ns/op (best of ${ROUNDS}), ratio = byte loop / variant (higher is faster)\n`);

// --- in place (receiver: unmask) -------------------------------------------

const SIZES = [16, 125, 1024, 64 * 1024, 1024 * 1024];
const label = (s) => (s >= 1024 * 1024 ? `${s / 1024 / 1024} MiB` : s >= 1024 ? `${s / 1024} KiB` : `${s} B`).padStart(8);

console.log('in place (unmask):');
console.log(`${'size'.padStart(8)} ${'byte loop'.padStart(9)} ${'applyMask'.padStart(9)} ${'@odd'.padStart(9)} ${'DataView'.padStart(9)} ${'bufferutil'.padStart(10)}   applyMask   DataView  bufferutil  applyMask`);
for (const size of SIZES) {
  const a = buf(size);
  const odd = buf(size, 1);
  const tb = time(() => byteUnmask(a, key));
  const to = time(() => applyMask(a, key));
  const tu = time(() => applyMask(odd, key));
  const td = time(() => dataViewUnmask(a, key));
  const tn = time(() => bufferutil.unmask(a, key));
  console.log(
    `${label(size)} ${fmt(tb)} ${fmt(to)} ${fmt(tu)} ${fmt(td)} ${fmt(tn).padStart(10)}   ${ratio(tb, to)}    ${ratio(tb, td)}    ${ratio(tb, tn)}  ${gbps(size, to)}`,
  );
}

// --- copy + mask (sender) --------------------------------------------------

console.log('\ncopy + mask into an output buffer at offset 6 (sender):');
console.log(`${'size'.padStart(8)} ${'byte loop'.padStart(9)} ${'maskInto'.padStart(9)} ${'bufferutil'.padStart(10)}   maskInto  bufferutil`);
for (const size of SIZES) {
  const src = buf(size);
  const dst = Buffer.alloc(size + 16);
  const tb = time(() => byteMaskInto(src, key, dst, 6));
  const to = time(() => maskInto(src, key, dst, 6));
  const tn = time(() => bufferutil.mask(src, key, dst, 6, size));
  console.log(`${label(size)} ${fmt(tb)} ${fmt(to)} ${fmt(tn).padStart(10)}   ${ratio(tb, to)}    ${ratio(tb, tn)}`);
}

// --- crossover: where the word path starts to pay --------------------------

if (!quick) {
  console.log('\ncrossover (ns/op): simple byte loop, unrolled byte loop and word loop (copies of the two mask.ts paths), applyMask;');
  console.log('byte loop and set()+word loop for the copying maskInto');
  console.log(`${'size'.padStart(8)} ${'byte'.padStart(9)} ${'unrolled'.padStart(9)} ${'word'.padStart(9)} ${'applyMask'.padStart(9)} ${'byteInto'.padStart(9)} ${'set+word'.padStart(9)} ${'maskInto'.padStart(9)}`);
  for (const size of [16, 32, 64, 96, 128, 192, 256, 512]) {
    const a = buf(size);
    const src = buf(size);
    const dst = Buffer.alloc(size + 16);
    const out = dst.subarray(6, 6 + size);
    const tSet = time(() => (out.set(src), wordUnmask(out, key)));
    console.log(
      `${label(size)} ${fmt(time(() => byteUnmask(a, key)))} ${fmt(time(() => unrolledUnmask(a, key)))} ${fmt(time(() => wordUnmask(a, key)))} ${fmt(time(() => applyMask(a, key)))} ${fmt(time(() => byteMaskInto(src, key, dst, 6)))} ${fmt(tSet)} ${fmt(time(() => maskInto(src, key, dst, 6)))}`,
    );
  }
}

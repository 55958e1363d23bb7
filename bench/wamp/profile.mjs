#!/usr/bin/env node
// Summarises V8 CPU profiles (.cpuprofile, as written by `--profile` of
// bench:wamp and bench:router): the functions with the most self time, with
// positions in the benchmark bundle mapped back to src/ file:line through the
// bundle's source map (bench/build/autostrada-bench.mjs.map).
//
// Usage: node bench/wamp/profile.mjs <file.cpuprofile | directory>... [--top N] [--match substring] [--by-file]
//   A directory means every .cpuprofile in it (their samples are added up).
//   --match keeps only profiles whose file name contains the substring.
//   --by-file adds up self time per source file instead of per function.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLE, ROOT } from './lib/harness.mjs';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Decodes a source map's `mappings` into, per generated line, sorted [column, source, line, column] segments. */
function decodeMappings(mappings) {
  const lines = [];
  let src = 0;
  let srcLine = 0;
  let srcCol = 0;
  for (const lineText of mappings.split(';')) {
    const segs = [];
    let genCol = 0;
    if (lineText) {
      for (const seg of lineText.split(',')) {
        const v = [];
        let shift = 0;
        let value = 0;
        for (const ch of seg) {
          const digit = B64_INDEX.get(ch);
          if (digit === undefined) throw new Error(`bad VLQ character ${ch}`);
          value += (digit & 31) << shift;
          if (digit & 32) shift += 5;
          else {
            v.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        genCol += v[0];
        if (v.length >= 4) {
          src += v[1];
          srcLine += v[2];
          srcCol += v[3];
          segs.push([genCol, src, srcLine, srcCol]);
        }
      }
    }
    lines.push(segs);
  }
  return lines;
}

function loadSourceMap(bundle) {
  try {
    const map = JSON.parse(fs.readFileSync(`${bundle}.map`, 'utf8'));
    const dir = path.dirname(bundle);
    return { sources: map.sources.map((s) => path.relative(ROOT, path.resolve(dir, s))), lines: decodeMappings(map.mappings) };
  } catch {
    return null;
  }
}

/** Generated (0-based line, column) -> "src/file.ts:line" (1-based), or null. */
function lookup(map, line, col) {
  const segs = map?.lines[line];
  if (!segs || !segs.length) return null;
  let best = segs[0];
  for (const s of segs) {
    if (s[0] <= col) best = s;
    else break;
  }
  return `${map.sources[best[1]]}:${best[2] + 1}`;
}

function main() {
  const args = process.argv.slice(2);
  let top = 25;
  let match = null;
  let byFile = false;
  const inputs = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]) || top;
    else if (args[i] === '--match') match = args[++i];
    else if (args[i] === '--by-file') byFile = true;
    else inputs.push(args[i]);
  }
  if (!inputs.length) {
    console.error('usage: node bench/wamp/profile.mjs <file.cpuprofile | dir>... [--top N] [--match text]');
    process.exit(2);
  }
  const files = inputs.flatMap((p) =>
    fs.statSync(p).isDirectory()
      ? fs.readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(p, f))
      : [p],
  ).filter((f) => !match || path.basename(f).includes(match));
  if (!files.length) {
    console.error('no profiles');
    process.exit(1);
  }
  const map = loadSourceMap(BUNDLE);
  const bundleUrl = pathToFileURL(BUNDLE).href;
  const self = new Map();
  let total = 0;
  for (const f of files) {
    const prof = JSON.parse(fs.readFileSync(f, 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    // time per sample: the deltas; count each sample's delta to its node
    const dt = new Map();
    for (let i = 0; i < prof.samples.length; i++) {
      const d = prof.timeDeltas[i] ?? 0;
      dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + d);
    }
    for (const [id, us] of dt) {
      const n = byId.get(id);
      if (!n) continue;
      const cf = n.callFrame;
      let where;
      if (cf.url === bundleUrl) where = lookup(map, cf.lineNumber, cf.columnNumber) ?? `bundle:${cf.lineNumber + 1}`;
      else if (cf.url) where = `${cf.url.replace(pathToFileURL(ROOT).href + '/', '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
      else where = '';
      const key = byFile ? `${where ? where.replace(/:\d+$/, '') : cf.functionName || '(native)'}\t` : `${cf.functionName || '(anonymous)'}\t${where}`;
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    }
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled; top ${top} ${byFile ? 'files' : 'functions'} by self time:`);
  for (const [key, us] of rows) {
    const [fn, where] = key.split('\t');
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${fn.padEnd(36)} ${where}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();

// Shared machinery of bench:wamp and bench:router: building the library
// bundle, child processes driven over IPC (pinned with taskset, open-file
// limit raised with prlimit), CPU marks, medians and percentiles, Markdown
// tables.
//
// Every child (router, client roles) speaks the same small IPC protocol
// (bench/wamp/child.mjs):
//   parent -> child  { cmd: 'mark', id }  -> child -> parent { ev: 'mark', id, t, cpu, rss, counts }
//   parent -> child  { cmd: 'run' | 'stop' | 'exit' | ... }
// A mark snapshots, in the child and at one instant, its monotonic clock, its
// own CPU time (process.cpuUsage(): user + system of every thread) and its
// counters, so a rate or a CPU cost per operation is a difference of two marks
// taken by the process that did the work.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = path.join(ROOT, 'bench/build');
export const BUNDLE = path.join(BUILD, 'autostrada-bench.mjs');
export const CHILD = path.join(ROOT, 'bench/wamp/child.mjs');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function die(prefix, msg) {
  console.error(`${prefix}: ${msg}`);
  process.exit(2);
}

/**
 * Bundles bench/wamp/lib/autostrada.ts (our Session, connectWebSocket, Node
 * WebSocket client, serializers, Router — straight from src/) into
 * bench/build/autostrada-bench.mjs with esbuild. Rebuilt on every run: it
 * takes well under a second and a stale bundle would measure old code.
 */
export function buildBundle() {
  fs.mkdirSync(BUILD, { recursive: true });
  const esbuild = path.join(ROOT, 'node_modules/.bin/esbuild');
  const args = [
    'bench/wamp/lib/autostrada.ts',
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=es2022',
    '--packages=external',
    '--log-level=warning',
    // a source map next to the bundle, so CPU profiles can be read in terms of
    // src/ files and lines (bench/wamp/profile.mjs)
    '--sourcemap',
    `--outfile=${path.relative(ROOT, BUNDLE)}`,
  ];
  const r = spawnSync(esbuild, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`esbuild failed (${r.error ? r.error.message : `exit ${r.status}`}): ${r.stderr}`);
  return { tool: 'esbuild', version: sh(esbuild, ['--version']) };
}

export function readVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export function nofileLimit() {
  const hard = sh('sh', ['-c', 'ulimit -Hn']);
  if (hard === 'unlimited') return 65536;
  const n = Number(hard);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1 << 20) : null;
}

/** Pinning and limits for child processes, decided once per run. */
export function environment({ pin = true, routerCpu = '0', clientCpu = '1' } = {}) {
  const ncpu = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const canPin = pin && ncpu >= 2 && sh('sh', ['-c', 'command -v taskset']) !== null;
  const nofile = sh('sh', ['-c', 'command -v prlimit']) !== null ? nofileLimit() : null;
  return { pin: canPin, ncpu, nofile, routerCpu, clientCpu, pinRequested: pin };
}

export function machine() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cpus: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    kernel: os.release(),
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

// ------------------------------------------------------------------ children

/**
 * One child process running bench/wamp/child.mjs with an IPC channel. Wrapped
 * in `prlimit` (open files) and `taskset` (core) when available; both exec, so
 * the pid is node's own.
 */
export class Child {
  constructor(name, config, { env, cpu, timeoutMs = 60000, nodeArgs = [] }) {
    this.name = name;
    this.out = '';
    this.err = '';
    this.exited = null;
    this.pending = new Map();
    this.events = [];
    this.eventWaiters = [];
    this.seq = 0;
    const cmd = [process.execPath, ...nodeArgs, CHILD];
    const pre = [];
    if (env.nofile) pre.push('prlimit', `--nofile=${env.nofile}:${env.nofile}`);
    if (env.pin && cpu != null) pre.push('taskset', '-c', String(cpu));
    const full = [...pre, ...cmd];
    this.child = spawn(full[0], full.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, BENCH_CHILD_CONFIG: JSON.stringify(config) },
    });
    this.child.stdout.on('data', (d) => {
      this.out = (this.out + d).slice(-(1 << 15));
    });
    this.child.stderr.on('data', (d) => {
      this.err = (this.err + d).slice(-(1 << 15));
    });
    this.child.on('error', (e) => {
      this.err += String(e);
    });
    this.child.on('message', (m) => this.onMessage(m));
    this.closed = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        const why = new Error(`${this.name} exited (${code ?? signal}): ${this.tail()}`);
        for (const p of this.pending.values()) p.reject(why);
        this.pending.clear();
        for (const w of this.eventWaiters.splice(0)) w.reject(why);
        resolve(this.exited);
      });
    });
    this.timeoutMs = timeoutMs;
  }

  get pid() {
    return this.child.pid;
  }

  onMessage(m) {
    if (m && m.reply !== undefined && this.pending.has(m.reply)) {
      const p = this.pending.get(m.reply);
      this.pending.delete(m.reply);
      if (m.error) p.reject(new Error(`${this.name}: ${m.error}`));
      else p.resolve(m);
      return;
    }
    this.events.push(m);
    for (const w of this.eventWaiters.slice()) w.check();
  }

  /** Sends a command and resolves with the child's reply (rejects on error, exit or timeout). */
  request(cmd, extra = {}, timeoutMs = this.timeoutMs) {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited: ${this.tail()}`));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to '${cmd}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      try {
        this.child.send({ cmd, id, ...extra });
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e);
      }
    });
  }

  /** Waits for an unsolicited event of this type (e.g. 'ready'). */
  waitEvent(type, timeoutMs = this.timeoutMs) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const i = this.events.findIndex((e) => e && e.ev === type);
          if (i < 0) return;
          const [e] = this.events.splice(i, 1);
          done();
          if (e.error) reject(new Error(`${this.name}: ${e.error}`));
          else resolve(e);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms (${this.tail()})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.eventWaiters = this.eventWaiters.filter((x) => x !== w);
      };
      this.eventWaiters.push(w);
      if (this.exited) w.reject(new Error(`${this.name} has exited: ${this.tail()}`));
      else w.check();
    });
  }

  mark() {
    return this.request('mark', {}, 20000);
  }

  /** Asks the child to leave its sessions and exit; kills it if it does not within a few seconds. */
  async stop() {
    if (this.exited) return;
    try {
      this.child.send({ cmd: 'exit', id: 0 });
    } catch {
      // the channel is gone: kill below
    }
    const t = setTimeout(() => this.child.kill('SIGKILL'), 4000);
    await this.closed;
    clearTimeout(t);
  }

  tail(n = 500) {
    const s = (this.err || this.out).trim();
    return s.length > n ? '…' + s.slice(-n) : s;
  }
}

export function readRssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Per-CPU busy and total jiffies from /proc/stat (null where unreadable). */
export function cpuTimes() {
  try {
    const out = {};
    for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const v = m[2].trim().split(/\s+/).map(Number);
      // user nice system idle iowait irq softirq steal: busy = user + nice +
      // system + steal. Interrupt and softirq time is left out: on loopback
      // most of it is our own TCP traffic, which no process is charged for.
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
      const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[7] ?? 0);
      out[m[1]] = { busy, total };
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * How busy a core was between two cpuTimes() readings, minus what our own
 * processes on it used (`ownPct`): the share of the core other tasks took.
 */
export function othersPct(a, b, cpu, ownPct) {
  const x = a?.[cpu];
  const y = b?.[cpu];
  if (!x || !y || y.total <= x.total) return null;
  const busy = ((y.busy - x.busy) / (y.total - x.total)) * 100;
  return Math.max(0, busy - (ownPct ?? 0));
}

/** Differences between two marks of one child: seconds, CPU µs, counters. */
export function delta(a, b) {
  const counts = {};
  for (const k of Object.keys(b.counts || {})) counts[k] = (b.counts[k] ?? 0) - (a.counts?.[k] ?? 0);
  return {
    seconds: (b.t - a.t) / 1e3,
    cpu_us: b.cpu.user + b.cpu.system - (a.cpu.user + a.cpu.system),
    counts,
    latency: b.latency ?? null,
    rss_kib: b.rss_kib,
  };
}

// ------------------------------------------------------------------ statistics

export const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** Rotates `list` by `n` (so each repeat starts with another contender). */
export const rotate = (list, n) => list.map((_, i) => list[(i + n) % list.length]);

// ------------------------------------------------------------------ formatting

export const fmtInt = (x) => (x == null || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));
export const fmt = (x, d = 2) => (x == null || !Number.isFinite(x) ? '-' : x.toFixed(d));
export const fmtUs = (x) => (x == null || !Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
export const fmtRatio = (x) => (x == null || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}x`);

/** A Markdown table: header cells, rows of cells; numeric-looking columns right-aligned. */
export function markdownTable(header, rowsIn) {
  // a `|` inside a cell (Autobahn|JS) would end the cell
  const esc = (c) => String(c ?? '').replace(/\|/g, '\\|');
  header = header.map(esc);
  const rows = rowsIn.map((r) => r.map(esc));
  const right = header.map((_, i) => i > 0 && rows.every((r) => /^[-+]?[\d,.]*\d[\d,.]*\s*(x|%|µs|us|KiB)?$|^-$|^$/.test(String(r[i] ?? ''))));
  const w = header.map((h, i) => Math.max(String(h).length, 3, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => `| ${cells.map((c, i) => (right[i] ? String(c ?? '').padStart(w[i]) : String(c ?? '').padEnd(w[i]))).join(' | ')} |`;
  const sep = `|${w.map((n, i) => (right[i] ? ` ${'-'.repeat(n - 1)}: ` : ` ${'-'.repeat(n)} `)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

export function writeJson(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
}

/** Parses `--flag`, `--key value` and `--key=value` against a spec of defaults. */
export function parseArgs(argv, spec, prefix) {
  const o = { ...spec.defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const k = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : null;
    const def = spec.options[k];
    if (!def) die(prefix, `unknown option ${a} (try --help)`);
    if (def.flag) {
      o[def.key] = def.value ?? true;
      continue;
    }
    let v = inline;
    if (v === null) {
      if (i + 1 >= argv.length) die(prefix, `missing value for ${k}`);
      v = argv[++i];
    }
    o[def.key] = def.parse ? def.parse(v) : v;
  }
  return o;
}

export const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

export function helpFrom(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(1);
  const end = lines.findIndex((l) => !l.startsWith('//'));
  return lines.slice(0, end).map((l) => l.slice(3)).join('\n');
}

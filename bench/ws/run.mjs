#!/usr/bin/env node
// Autostrada WebSocket server benchmark (`npm run bench:ws`).
//
// Every server runs in its own child process pinned to core 0 (taskset -c 0);
// the load generator, a small epoll client written in C (bench/ws/loadgen.c,
// compiled here into bench/build/), runs pinned to core 1. For every row, each
// server is measured under the same load in the same invocation, back to back.
//
// Per row it reports messages/s, the server's CPU time per message (utime +
// stime of the server process, read from /proc/<pid>/stat by the load
// generator at the exact start and end of the timed window, divided by the
// messages echoed in that window) and the ratio of that CPU cost to the
// baseline (ws without bufferutil for the plain rows, ws with
// permessage-deflate for the compressed row). Handshakes: handshakes/s and CPU
// per handshake. Memory: server VmRSS growth per idle connection.
//
// Sanity: the load generator's own CPU use (it must stay below 100% of its
// core, otherwise the row is flagged LOADGEN-BOUND), and how long the main
// thread of the server and the load generator were runnable but kept off
// their core by another task (/proc/<pid>/schedstat; flagged NOISY above 10%
// of the window: CPU per message holds up reasonably under such noise,
// messages/s does not).
//
// Usage: node bench/ws/run.mjs [--quick] [--rows a,b] [--servers x,y]
//          [--seconds N] [--warmup N] [--repeat N] [--idle-conns N]
//          [--no-baseline] [--no-pin] [--server-cpu 0] [--loadgen-cpu 1]
//          [--out bench/build/results.json] [--list] [--ours <script>]
// (--ours runs another script instead of dist/node/cli/echo-server.js as
// "autostrada", e.g. to try the harness before the build exists.)
// See bench/ws/README.md.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = path.join(ROOT, 'bench/build');
const LOADGEN_SRC = path.join(ROOT, 'bench/ws/loadgen.c');
const LOADGEN = path.join(BUILD, 'loadgen');
const OURS = 'dist/node/cli/echo-server.js';
const MiB = 1024 * 1024;

// ------------------------------------------------------------------ servers

const WS_SCRIPT = 'bench/ws/servers/ws-echo.mjs';
const UWS_SCRIPT = 'bench/ws/servers/uws-echo.mjs';
const SERVERS = {
  ws: {
    label: 'ws',
    family: 'ws',
    desc: 'ws, perMessageDeflate: false, WS_NO_BUFFER_UTIL=1 (JS masking fallback)',
    script: WS_SCRIPT,
    env: { WS_NO_BUFFER_UTIL: '1' },
  },
  'ws-bufferutil': {
    label: 'ws+bufferutil',
    family: 'ws-bufferutil',
    desc: 'ws, perMessageDeflate: false, bufferutil native masking',
    script: WS_SCRIPT,
    unsetEnv: ['WS_NO_BUFFER_UTIL'],
  },
  uws: {
    label: 'uWS',
    family: 'uws',
    desc: 'uWebSockets.js (@trufflesuite/uws-js-unofficial), compression DISABLED',
    script: UWS_SCRIPT,
  },
  ours: {
    label: 'autostrada',
    family: 'ours',
    desc: `node ${OURS} (permessage-deflate accepted by default)`,
    script: OURS,
    needsBuild: true,
  },
  'ws-deflate': {
    label: 'ws deflate',
    family: 'ws',
    desc: 'ws, perMessageDeflate { threshold: 0 } (ws defaults otherwise), WS_NO_BUFFER_UTIL=1',
    script: WS_SCRIPT,
    args: ['--deflate'],
    env: { WS_NO_BUFFER_UTIL: '1' },
  },
  'uws-deflate': {
    label: 'uWS deflate',
    family: 'uws',
    desc: 'uWebSockets.js, SHARED_COMPRESSOR | SHARED_DECOMPRESSOR',
    script: UWS_SCRIPT,
    args: ['--deflate'],
  },
};
const PLAIN = ['ws', 'ws-bufferutil', 'uws', 'ours'];

// --------------------------------------------------------------------- rows

const ROWS = [
  {
    id: 'text16',
    title: '16 B text',
    kind: 'echo',
    servers: PLAIN,
    baseline: 'ws',
    lg: { conns: 100, inflight: 8, size: 16, opcode: 'text', payload: 'random' },
  },
  {
    id: 'bin1k',
    title: '1 KiB binary',
    kind: 'echo',
    servers: PLAIN,
    baseline: 'ws',
    lg: { conns: 100, inflight: 8, size: 1024, opcode: 'binary', payload: 'random' },
  },
  {
    id: 'bin64k',
    title: '64 KiB binary',
    kind: 'echo',
    servers: PLAIN,
    baseline: 'ws',
    lg: { conns: 32, inflight: 2, size: 64 * 1024, opcode: 'binary', payload: 'random' },
  },
  {
    id: 'bin1m',
    title: '1 MiB binary',
    kind: 'echo',
    servers: PLAIN,
    baseline: 'ws',
    lg: { conns: 10, inflight: 1, size: MiB, opcode: 'binary', payload: 'random' },
  },
  {
    id: 'json1k-deflate',
    title: '1 KiB JSON text, permessage-deflate',
    kind: 'echo',
    servers: ['ws-deflate', 'ours', 'uws-deflate'],
    baseline: 'ws-deflate',
    lg: { conns: 100, inflight: 8, size: 1024, opcode: 'text', payload: 'json', deflate: true },
  },
  {
    id: 'handshakes',
    title: 'handshakes (upgrade + close)',
    kind: 'handshakes',
    servers: PLAIN,
    baseline: 'ws',
    lg: { conns: 50 },
  },
  {
    id: 'idle',
    title: 'memory per idle connection',
    kind: 'idle',
    servers: PLAIN,
    baseline: 'ws',
    lg: { conns: 10000 },
  },
];

// --------------------------------------------------------------------- args

function parseArgs(argv) {
  const o = {
    quick: false,
    rows: null,
    servers: null,
    seconds: null,
    warmup: null,
    repeat: 1,
    idleConns: null,
    baseline: true,
    pin: true,
    serverCpu: '0',
    loadgenCpu: '1',
    out: path.join(BUILD, 'results.json'),
    list: false,
    ours: null,
  };
  const need = (i) => {
    if (i + 1 >= argv.length) die(`missing value for ${argv[i]}`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [k, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, null];
    const val = () => (inline !== null ? inline : need(i++));
    switch (k) {
      case '--quick': o.quick = true; break;
      case '--rows': o.rows = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--servers': o.servers = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--seconds': o.seconds = Number(val()); break;
      case '--warmup': o.warmup = Number(val()); break;
      case '--repeat': o.repeat = Math.max(1, Math.floor(Number(val()))); break;
      case '--idle-conns': o.idleConns = Math.floor(Number(val())); break;
      case '--no-baseline': o.baseline = false; break;
      case '--no-pin': o.pin = false; break;
      case '--server-cpu': o.serverCpu = val(); break;
      case '--loadgen-cpu': o.loadgenCpu = val(); break;
      case '--out': o.out = path.resolve(val()); break;
      case '--list': o.list = true; break;
      case '--ours': o.ours = val(); break;
      case '-h':
      case '--help':
        {
          const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
          const end = lines.findIndex((l) => !l.startsWith('//'));
          console.log(lines.slice(0, end).map((l) => l.slice(3)).join('\n'));
        }
        process.exit(0);
      default: die(`unknown option ${a} (try --help)`);
    }
  }
  if (o.seconds !== null && !(o.seconds > 0)) die('--seconds must be > 0');
  if (o.warmup !== null && !(o.warmup >= 0)) die('--warmup must be >= 0');
  o.seconds ??= o.quick ? 0.7 : 3;
  o.warmup ??= o.quick ? 0.3 : 1;
  o.idleConns ??= o.quick ? 1000 : 10000;
  return o;
}

function die(msg) {
  console.error(`bench:ws: ${msg}`);
  process.exit(2);
}

// ------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tcpProbe(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

function readRssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function comm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

// the pid of the node process (prlimit and taskset exec, so normally the child itself)
function resolveNodePid(pid) {
  for (let depth = 0; depth < 4; depth++) {
    const c = comm(pid);
    if (c === null) return pid;
    if (c === 'node' || c.startsWith('node')) return pid;
    let kids = '';
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    } catch {
      return pid;
    }
    if (!kids) return pid;
    pid = Number(kids.split(/\s+/)[0]);
  }
  return pid;
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// ---------------------------------------------------------------- environment

function nofileLimit() {
  const hard = sh('sh', ['-c', 'ulimit -Hn']);
  if (hard === 'unlimited') return 65536;
  const n = Number(hard);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1 << 20) : null;
}

function buildLoadgen() {
  fs.mkdirSync(BUILD, { recursive: true });
  const cc = process.env.CC || 'cc';
  const zlib = fs.existsSync('/usr/include/zlib.h') || fs.existsSync('/usr/include/x86_64-linux-gnu/zlib.h');
  const flags = zlib ? ['-DHAVE_ZLIB'] : [];
  const libs = zlib ? ['-lz'] : [];
  const stampFile = path.join(BUILD, 'loadgen.stamp');
  const stamp = JSON.stringify({ cc, flags, mtime: fs.statSync(LOADGEN_SRC).mtimeMs });
  if (fs.existsSync(LOADGEN) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
    return { zlib };
  }
  const args = ['-O2', ...flags, '-o', LOADGEN, LOADGEN_SRC, ...libs];
  console.log(`compiling load generator: ${cc} ${args.map((a) => path.relative(ROOT, a) || a).join(' ')}`);
  const r = spawnSync(cc, args, { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) {
    die(`compiling ${path.relative(ROOT, LOADGEN_SRC)} failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${r.stderr || ''}`);
  }
  fs.writeFileSync(stampFile, stamp);
  return { zlib };
}

// ------------------------------------------------------------------ processes

class Proc {
  constructor(cmd, args, opts) {
    this.child = spawn(cmd, args, opts);
    this.out = '';
    this.err = '';
    this.exited = null;
    this.waiters = [];
    this.lineWaiters = [];
    this.child.stdout?.on('data', (d) => {
      this.out += d;
      if (this.out.length > 1 << 20) this.out = this.out.slice(-(1 << 19));
      for (const w of this.lineWaiters.slice()) w();
    });
    this.child.stderr?.on('data', (d) => {
      this.err += d;
      if (this.err.length > 1 << 16) this.err = this.err.slice(-(1 << 15));
    });
    this.child.on('error', (e) => {
      this.err += String(e);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.waiters) w(this.exited);
      for (const w of this.lineWaiters.slice()) w();
    });
    this.closed = new Promise((r) => this.child.on('close', r));
  }
  get pid() {
    return this.child.pid;
  }
  wait(ms) {
    if (this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(null), ms);
      this.waiters.push((e) => {
        clearTimeout(t);
        resolve(e);
      });
    });
  }
  // resolves with the first stdout line matching re, or null on exit / timeout
  waitLine(re, ms) {
    return new Promise((resolve) => {
      const check = () => {
        const line = this.out.split('\n').find((l) => re.test(l));
        if (line !== undefined || this.exited) {
          this.lineWaiters = this.lineWaiters.filter((w) => w !== check);
          clearTimeout(t);
          resolve(line ?? null);
        }
      };
      const t = setTimeout(() => {
        this.lineWaiters = this.lineWaiters.filter((w) => w !== check);
        resolve(null);
      }, ms);
      this.lineWaiters.push(check);
      check();
    });
  }
  async stop() {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    if (await this.wait(2000)) return;
    this.child.kill('SIGKILL');
    await this.wait(2000);
  }
  tail(n = 600) {
    const s = (this.err || this.out).trim();
    return s.length > n ? '…' + s.slice(-n) : s;
  }
}

function wrap(cmd, core, env) {
  const pre = [];
  if (env.nofile) pre.push('prlimit', `--nofile=${env.nofile}:${env.nofile}`);
  if (env.pin) pre.push('taskset', '-c', core);
  return pre.length ? [pre[0], [...pre.slice(1), ...cmd]] : [cmd[0], cmd.slice(1)];
}

async function startServer(key, env) {
  const srv = SERVERS[key];
  const port = await freePort();
  const childEnv = { ...process.env, ...(srv.env || {}) };
  for (const k of srv.unsetEnv || []) delete childEnv[k];
  const [cmd, args] = wrap(
    [process.execPath, path.resolve(ROOT, srv.script), '--port', String(port), ...(srv.args || [])],
    env.serverCpu,
    env,
  );
  const p = new Proc(cmd, args, { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // ready = the server printed "ready" (our scripts do), or the port accepts TCP
  const deadline = Date.now() + 15000;
  let host = null;
  while (Date.now() < deadline && !p.exited) {
    const printed = /\bready\b/i.test(p.out);
    for (const h of ['127.0.0.1', '::1']) {
      if (await tcpProbe(h, port)) {
        host = h;
        break;
      }
    }
    if (host) break;
    if (!printed) await p.waitLine(/\bready\b/i, 100);
    else await sleep(50);
  }
  if (!host) {
    await p.stop();
    throw new Error(p.exited ? `server exited (${JSON.stringify(p.exited)}): ${p.tail()}` : 'server did not start listening within 15 s');
  }
  const pid = resolveNodePid(p.pid);
  await sleep(200); // let startup work (module loading, JIT of the listen path) settle
  return { proc: p, pid, port, host };
}

function loadgenArgs(mode, lg, opts) {
  const a = ['--mode', mode, '--conns', String(lg.conns)];
  if (mode === 'echo') {
    a.push('--inflight', String(lg.inflight), '--size', String(lg.size), '--opcode', lg.opcode, '--payload', lg.payload);
    if (lg.deflate) a.push('--deflate');
  }
  if (opts.seconds != null) a.push('--seconds', String(opts.seconds));
  if (opts.warmup != null) a.push('--warmup', String(opts.warmup));
  return a;
}

function startLoadgen(args, server, env, stdin = 'ignore') {
  const [cmd, cargs] = wrap(
    [LOADGEN, ...args, '--host', server.host, '--port', String(server.port), '--pid', String(server.pid)],
    env.loadgenCpu,
    env,
  );
  return new Proc(cmd, cargs, { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
}

function lastJson(p, field = 'mode') {
  const lines = p.out.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      const j = JSON.parse(l);
      if (field in j) return j;
    } catch {}
  }
  return null;
}

// --------------------------------------------------------------- measuring

async function measureEcho(row, key, env, o) {
  const server = await startServer(key, env);
  try {
    const lg = startLoadgen(loadgenArgs(row.kind, row.lg, { seconds: o.seconds, warmup: o.warmup }), server, env);
    const ex = await lg.wait((o.seconds + o.warmup) * 1000 + 75000);
    if (!ex) {
      await lg.stop();
      throw new Error('load generator timed out');
    }
    await lg.closed;
    const j = lastJson(lg, 'mode');
    if (!j) throw new Error(`load generator failed (exit ${ex.code}): ${lg.tail()}`);
    if (server.proc.exited) throw new Error(`server died: ${server.proc.tail()}`);
    const count = row.kind === 'echo' ? j.messages : j.handshakes;
    return {
      ...j,
      ...otherLoad(j, env),
      rate: row.kind === 'echo' ? j.msgs_per_s : j.handshakes_per_s,
      cpu_us: count > 0 && j.server_cpu_s >= 0 ? (j.server_cpu_s / count) * 1e6 : null,
    };
  } finally {
    await server.proc.stop();
  }
}

async function measureIdle(row, key, env, o) {
  const server = await startServer(key, env);
  const hold = async (conns) => {
    const lg = startLoadgen(['--mode', 'idle', '--conns', String(conns), '--seconds', '120'], server, env, 'pipe');
    const line = await lg.waitLine(/"event":"ready"/, 90000);
    return { lg, ready: line ? JSON.parse(line) : null };
  };
  const release = async (lg) => {
    lg.child.stdin.end();
    if (!(await lg.wait(10000))) await lg.stop();
    await lg.closed;
  };
  try {
    // warm the upgrade path first, so that the baseline includes the code and
    // the first-connection allocations, then measure the growth for N idle
    // connections
    const warm = await hold(Math.min(200, row.lg.conns));
    await release(warm.lg);
    await sleep(o.quick ? 200 : 800);
    const before = readRssKiB(server.pid);
    const { lg, ready } = await hold(row.lg.conns);
    if (!ready) {
      await lg.stop();
      throw new Error(`load generator did not get ready: ${lg.tail()}`);
    }
    await sleep(o.quick ? 300 : 1500);
    const after = readRssKiB(server.pid);
    await release(lg);
    const j = lastJson(lg, 'mode') || {};
    if (server.proc.exited) throw new Error(`server died: ${server.proc.tail()}`);
    const open = ready.open;
    return {
      mode: 'idle',
      conns: row.lg.conns,
      open,
      failed: ready.failed,
      setup_s: ready.setup_s,
      rss_before_kib: before,
      rss_after_kib: after,
      kib_per_conn: open > 0 && before != null && after != null ? (after - before) / open : null,
      still_open: j.still_open,
      errors: (j.errors || 0) + (ready.failed || 0),
      first_error: j.first_error || '',
    };
  } finally {
    await server.proc.stop();
  }
}

// CPU time on the server's / load generator's core that belongs to neither
// (other processes, or kernel work not charged to either). Informational:
// others also fill the time a pinned process leaves idle, which does no harm;
// what harms is a process that wants to run and cannot (run-queue wait).
function otherLoad(r, env) {
  const busy = r.cpu_busy_pct;
  if (!Array.isArray(busy) || !env.pin) return {};
  const s = busy[Number(env.serverCpu)];
  const l = busy[Number(env.loadgenCpu)];
  return {
    server_core_other_pct: s == null ? null : Math.max(0, s - r.server_cpu_pct),
    loadgen_core_other_pct: l == null ? null : Math.max(0, l - r.loadgen_cpu_pct),
  };
}

function notesFor(kind, r) {
  const n = [];
  if (r.errors > 0) n.push(`ERRORS x${r.errors}: ${r.first_error}`);
  if (kind === 'idle') {
    if (r.open < r.conns) n.push(`only ${r.open}/${r.conns} connected`);
    return n;
  }
  if (r.loadgen_cpu_pct >= 90) n.push(`LOADGEN-BOUND? load generator at ${r.loadgen_cpu_pct.toFixed(0)}% of its core`);
  else if (r.server_cpu_pct >= 0 && r.server_cpu_pct < 85)
    n.push('neither side saturated: round-trip bound');
  // run-queue wait of the main thread: runnable, but its core was busy with
  // another task. For the server that can be its own helper threads (GC, the
  // zlib thread pool), so it only counts as noise if other tasks also used
  // the core.
  const noisy = [];
  if (r.server_runq_wait_pct > 10 && !(r.server_core_other_pct <= 10))
    noisy.push(`server waited ${r.server_runq_wait_pct.toFixed(0)}%, others used ${fmt(r.server_core_other_pct, 0)}% of its core`);
  if (r.loadgen_runq_wait_pct > 10)
    noisy.push(`load generator waited ${r.loadgen_runq_wait_pct.toFixed(0)}%, others used ${fmt(r.loadgen_core_other_pct, 0)}% of its core`);
  if (noisy.length) n.push(`NOISY (${noisy.join('; ')})`);
  if (r.deflate && r.deflate_refused > 0) n.push(`server declined permessage-deflate on ${r.deflate_refused} connections (measured uncompressed)`);
  if (r.unanswered_at_end > 0) n.push(`${r.unanswered_at_end} echoes missing 2 s after the window`);
  if (r.closed_by_peer > 0) n.push(`${r.closed_by_peer} connections closed by the server`);
  if (kind === 'handshakes' && r.close_timeouts > 0) n.push(`${r.close_timeouts} closes timed out`);
  return n;
}

// ------------------------------------------------------------------- output

const fmtInt = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'));
const fmt = (x, d = 2) => (x == null || !Number.isFinite(x) ? '-' : x.toFixed(d));
const pad = (s, w, left = false) => (left ? String(s).padEnd(w) : String(s).padStart(w));

function printRow(row, results) {
  const p = row.lg;
  const params =
    row.kind === 'echo'
      ? `${p.conns} conns x ${p.inflight} in flight${p.deflate ? ', client offers permessage-deflate' : ''}`
      : row.kind === 'handshakes'
        ? `${p.conns} parallel sockets, connect + upgrade + close`
        : `${p.conns} connections`;
  console.log(`\n${row.title}  [${row.id}: ${params}]  baseline: ${SERVERS[row.baseline].label}`);
  if (row.kind === 'idle') {
    console.log(`  ${pad('server', 14, true)} ${pad('KiB/conn', 9)} ${pad('vs base', 8)} ${pad('RSS before', 11)} ${pad('RSS after', 10)} ${pad('connect s', 9)}  notes`);
  } else {
    const unit = row.kind === 'echo' ? 'msgs/s' : 'hs/s';
    const cpu = row.kind === 'echo' ? 'CPU us/msg' : 'CPU us/hs';
    console.log(`  ${pad('server', 14, true)} ${pad(unit, 11)} ${pad(cpu, 11)} ${pad('vs base', 8)} ${pad('srv CPU', 8)} ${pad('LG CPU', 7)}  notes`);
  }
  for (const r of results) {
    const label = pad(SERVERS[r.server].label, 14, true);
    if (r.status !== 'ok') {
      console.log(`  ${label} ${r.status.toUpperCase()}: ${r.reason}`);
      continue;
    }
    const ratio = r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x`;
    const notes = r.notes.join('; ');
    if (row.kind === 'idle') {
      console.log(
        `  ${label} ${pad(fmt(r.kib_per_conn, 2), 9)} ${pad(ratio, 8)} ${pad(`${fmt(r.rss_before_kib / 1024, 1)} MiB`, 11)} ${pad(`${fmt(r.rss_after_kib / 1024, 1)} MiB`, 10)} ${pad(fmt(r.setup_s, 2), 9)}  ${notes}`,
      );
    } else {
      console.log(
        `  ${label} ${pad(fmtInt(r.rate), 11)} ${pad(fmt(r.cpu_us, r.cpu_us >= 100 ? 1 : 2), 11)} ${pad(ratio, 8)} ${pad(`${fmt(r.server_cpu_pct, 0)}%`, 8)} ${pad(`${fmt(r.loadgen_cpu_pct, 0)}%`, 7)}  ${notes}`,
      );
    }
  }
}

// --------------------------------------------------------------------- main

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    console.log('rows:');
    for (const r of ROWS) console.log(`  ${pad(r.id, 16, true)} ${r.title}: ${r.servers.join(', ')} (baseline ${r.baseline})`);
    console.log('servers:');
    for (const [k, s] of Object.entries(SERVERS)) console.log(`  ${pad(k, 16, true)} ${s.desc}`);
    return;
  }
  const rowIds = new Set(ROWS.map((r) => r.id));
  for (const r of o.rows || []) if (!rowIds.has(r)) die(`unknown row "${r}" (rows: ${[...rowIds].join(', ')})`);
  const names = new Set([...Object.keys(SERVERS), ...Object.values(SERVERS).map((s) => s.family)]);
  for (const s of o.servers || []) if (!names.has(s)) die(`unknown server "${s}" (servers: ${Object.keys(SERVERS).join(', ')})`);

  const t0 = Date.now();
  const ncpu = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const pin = o.pin && ncpu >= 2 && sh('sh', ['-c', 'command -v taskset']) !== null;
  if (o.pin && !pin) console.log('note: not pinning (needs taskset and at least 2 CPUs); figures are less reliable');
  const nofile = sh('sh', ['-c', 'command -v prlimit']) !== null ? nofileLimit() : null;
  const env = { pin, nofile, serverCpu: o.serverCpu, loadgenCpu: o.loadgenCpu };
  if ((!o.rows || o.rows.includes('idle')) && nofile != null && nofile < o.idleConns + 256)
    console.log(`note: open-file hard limit is ${nofile}; ${o.idleConns} idle connections need more (raise it, e.g. ulimit -Hn 65536 as root)`);
  const { zlib } = buildLoadgen();
  const clkTck = Number(sh('getconf', ['CLK_TCK'])) || 100;
  if (o.ours) {
    SERVERS.ours.script = o.ours;
    SERVERS.ours.desc = `node ${o.ours} (--ours)`;
  }
  const oursPath = path.resolve(ROOT, SERVERS.ours.script);
  const oursBuilt = fs.existsSync(oursPath);

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    ws: readVersion('ws'),
    bufferutil: readVersion('bufferutil'),
    uws: readVersion('@trufflesuite/uws-js-unofficial'),
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    cpu: os.cpus()[0]?.model,
    cpus: ncpu,
    kernel: os.release(),
    clk_tck: clkTck,
    pinned: pin ? { server: o.serverCpu, loadgen: o.loadgenCpu } : null,
    nofile,
    loadgen_zlib: zlib,
    options: { quick: o.quick, seconds: o.seconds, warmup: o.warmup, repeat: o.repeat, idle_conns: o.idleConns },
  };
  console.log(
    `bench:ws  node ${meta.node}, ws ${meta.ws}, uWS ${meta.uws}, ${meta.cpus} CPUs (${meta.cpu}); ` +
      `server on CPU ${pin ? o.serverCpu : '*'}, load generator on CPU ${pin ? o.loadgenCpu : '*'}; ` +
      `${o.warmup}s warm-up + ${o.seconds}s timed per measurement${o.repeat > 1 ? `, median of ${o.repeat}` : ''}`,
  );
  if (!oursBuilt) console.log(`note: ${SERVERS.ours.script} not found, the autostrada rows are skipped (run \`npm run build\`)`);

  const report = { meta, rows: [] };
  for (const baseRow of ROWS) {
    if (o.rows && !o.rows.includes(baseRow.id)) continue;
    const row = baseRow.kind === 'idle' ? { ...baseRow, lg: { ...baseRow.lg, conns: o.idleConns } } : baseRow;
    let keys = row.servers.filter((k) => !o.servers || o.servers.includes(k) || o.servers.includes(SERVERS[k].family));
    if (!keys.length) continue;
    if (o.baseline && !keys.includes(row.baseline)) keys = [row.baseline, ...keys];
    const results = new Map(keys.map((k) => [k, { server: k, label: SERVERS[k].label, status: 'ok', samples: [] }]));
    for (const k of keys) {
      const r = results.get(k);
      if (SERVERS[k].needsBuild && !oursBuilt) Object.assign(r, { status: 'not built', reason: `${SERVERS.ours.script} missing (npm run build)` });
      else if (row.lg.deflate && !zlib)
        Object.assign(r, { status: 'skipped', reason: 'load generator built without zlib: apt-get install zlib1g-dev' });
    }
    // repeats are interleaved across servers, so slow drift in machine load
    // hits every server alike
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const k of keys) {
        const r = results.get(k);
        if (r.status !== 'ok') continue;
        process.stdout.write(`  ${row.id} / ${k}${o.repeat > 1 ? ` #${rep + 1}` : ''} ... `);
        try {
          const s = row.kind === 'idle' ? await measureIdle(row, k, env, o) : await measureEcho(row, k, env, o);
          r.samples.push(s);
          console.log(
            row.kind === 'idle'
              ? `${fmt(s.kib_per_conn)} KiB/conn`
              : `${fmtInt(s.rate)}/s, ${fmt(s.cpu_us)} us CPU each (server ${fmt(s.server_cpu_pct, 0)}%, loadgen ${fmt(s.loadgen_cpu_pct, 0)}%)`,
          );
        } catch (e) {
          console.log('failed');
          Object.assign(r, { status: 'failed', reason: String(e.message || e).replace(/\s+/g, ' ').slice(0, 400) });
        }
      }
    }
    // summarise: medians over samples, notes from the median-CPU sample
    for (const r of results.values()) {
      if (r.status !== 'ok' || !r.samples.length) continue;
      const metric = row.kind === 'idle' ? 'kib_per_conn' : 'cpu_us';
      const sorted = [...r.samples].sort((a, b) => (a[metric] ?? Infinity) - (b[metric] ?? Infinity));
      Object.assign(r, sorted[(sorted.length - 1) >> 1]);
      if (row.kind !== 'idle') {
        r.rate = median(r.samples.map((s) => s.rate));
        r.cpu_us = median(r.samples.map((s) => s.cpu_us));
      } else {
        r.kib_per_conn = median(r.samples.map((s) => s.kib_per_conn));
      }
      r.errors = Math.max(...r.samples.map((s) => s.errors || 0));
      r.notes = notesFor(row.kind, r);
    }
    const base = results.get(row.baseline);
    const baseVal = base && base.status === 'ok' ? (row.kind === 'idle' ? base.kib_per_conn : base.cpu_us) : null;
    for (const r of results.values()) {
      if (r.status !== 'ok' || !r.samples.length) continue;
      const v = row.kind === 'idle' ? r.kib_per_conn : r.cpu_us;
      r.ratio = baseVal > 0 && v != null ? v / baseVal : null;
      // a server that refused permessage-deflate was measured on plain frames:
      // not comparable with the compressed baseline
      if (row.lg.deflate && r.deflate_refused > 0) r.ratio = null;
    }
    const list = [...results.values()];
    report.rows.push({ id: row.id, title: row.title, kind: row.kind, baseline: row.baseline, params: row.lg, results: list });
    printRow(row, list);
    console.log('');
  }

  report.meta.elapsed_s = (Date.now() - t0) / 1000;
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nSummary, ratio to the row baseline (CPU per message or handshake; memory per idle connection); lower is better:`);
  for (const row of report.rows) {
    const parts = row.results.map((r) => `${r.label} ${r.ratio != null ? r.ratio.toFixed(2) + 'x' : r.status === 'ok' ? '-' : r.status}`);
    console.log(`  ${pad(row.id, 16, true)} ${parts.join(', ')}`);
  }
  console.log(`\nwrote ${path.relative(ROOT, o.out)} in ${report.meta.elapsed_s.toFixed(0)} s`);
  const anyErrors = report.rows.some((row) => row.results.some((r) => r.errors > 0 || r.status === 'failed'));
  if (anyErrors) process.exitCode = 1;
}

function readVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

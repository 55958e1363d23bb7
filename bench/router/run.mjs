#!/usr/bin/env node
// bench:router — WAMP routers compared with the same client, in one run.
//
// Routers: autostrada's Router (ours; realm1, defaults otherwise) and fox-wamp
// (the baseline; npm WAMP router on ws). Client: our Session over our Node
// WebSocket client, JSON (fox-wamp speaks JSON only), not offering
// permessage-deflate (fox-wamp does not do it, ours would accept it), with
// `acceptNullPayload` (fox-wamp sends null Arguments). Each router runs alone
// in its own child process pinned to CPU 0 and reports its own CPU time
// (process.cpuUsage over IPC); the client processes run on CPU 1.
//
// Rows:
//   rpc1        RPC, 1 call in flight: calls/s, round trip p50/p99, router CPU per call
//   rpc100      RPC, 100 calls in flight (caller and callee in separate processes)
//   pubsub1     PubSub fan-out 1 -> 1      (events received per second,
//   pubsub100   PubSub fan-out 1 -> 100     router CPU per event delivered;
//   pubsub1000  PubSub fan-out 1 -> 1000    events paced, none may be lost)
//   handshakes  connect + HELLO/WELCOME + GOODBYE + close, 20 in parallel:
//               handshakes+joins/s and router CPU per cycle
//   idle        memory per idle session: router RSS growth / sessions, for
//               10,000 sessions opened from 4 client processes (joins/s of
//               that ramp reported too)
//
// The headline per row is the router's CPU per operation relative to
// fox-wamp (lower is better); memory per session likewise. Contenders are
// interleaved within each row and repeat, the order rotating each repeat.
//
// Usage: node bench/router/run.mjs [--quick] [--repeat N] [--rows a,b]
//          [--routers ours,fox] [--seconds S] [--warmup S] [--idle-sessions N]
//          [--no-pin] [--out bench/build/router-results.json] [--md FILE] [--list]
//          [--render results.json]  (print the tables of an earlier run again)
//          [--profile DIR]  (router processes run with --cpu-prof into DIR;
//                            summarise with node bench/wamp/profile.mjs DIR)
// Defaults: 1 s warm-up + 3 s timed, 1 repeat (about 2 minutes; --repeat 3
// about 6). --quick: 0.3 s + 0.7 s, 1,000 idle sessions (under a minute; a smoke test,
// its figures are not for comparison: the JIT is not warm yet).
// Exit code 1 if any measurement failed or saw errors, wrong results or lost events.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BUILD,
  ROOT,
  buildBundle,
  die,
  environment,
  fmt,
  fmtInt,
  fmtRatio,
  fmtUs,
  helpFrom,
  list,
  machine,
  markdownTable,
  median,
  parseArgs,
  readVersion,
  rotate,
  writeJson,
} from '../wamp/lib/harness.mjs';
import { measureHandshakes, measureIdle, measurePubsub, measureRpc } from '../wamp/lib/measure.mjs';

const NAME = 'bench:router';
const BASELINE = 'fox';
const ROUTERS = {
  ours: { label: 'autostrada' },
  fox: { label: 'fox-wamp' },
};
const ROWS = {
  rpc1: { title: 'RPC, 1 call in flight', kind: 'rpc', inflight: 1, unit: 'calls/s' },
  rpc100: { title: 'RPC, 100 calls in flight', kind: 'rpc', inflight: 100, unit: 'calls/s' },
  pubsub1: { title: 'PubSub, fan-out 1 -> 1', kind: 'pubsub', fanout: 1, unit: 'events/s' },
  pubsub100: { title: 'PubSub, fan-out 1 -> 100', kind: 'pubsub', fanout: 100, unit: 'events/s' },
  pubsub1000: { title: 'PubSub, fan-out 1 -> 1000', kind: 'pubsub', fanout: 1000, unit: 'events/s' },
  handshakes: { title: 'Handshakes + joins (connect, HELLO/WELCOME, GOODBYE, close; 20 in parallel)', kind: 'handshakes', parallel: 20, unit: 'sessions/s' },
  idle: { title: 'Memory per idle session', kind: 'idle', unit: 'KiB/session' },
};
// the one client every router is measured with
const CLIENT = { lib: 'ours', ser: 'json', offerDeflate: false };

const spec = {
  defaults: {
    quick: false,
    repeat: 1,
    rows: Object.keys(ROWS),
    routers: Object.keys(ROUTERS),
    seconds: null,
    warmup: null,
    idleSessions: null,
    pin: true,
    out: path.join(BUILD, 'router-results.json'),
    md: null,
    profile: null,
    render: null,
    list: false,
    help: false,
  },
  options: {
    '--quick': { key: 'quick', flag: true },
    '--repeat': { key: 'repeat', parse: (v) => Math.max(1, Math.floor(Number(v)) || 1) },
    '--rows': { key: 'rows', parse: list },
    '--routers': { key: 'routers', parse: list },
    '--seconds': { key: 'seconds', parse: Number },
    '--warmup': { key: 'warmup', parse: Number },
    '--idle-sessions': { key: 'idleSessions', parse: (v) => Math.max(1, Math.floor(Number(v)) || 1) },
    '--no-pin': { key: 'pin', flag: true, value: false },
    '--out': { key: 'out', parse: (v) => path.resolve(v) },
    '--md': { key: 'md', parse: (v) => path.resolve(v) },
    '--profile': { key: 'profile', parse: (v) => path.resolve(v) },
    '--render': { key: 'render', parse: (v) => path.resolve(v) },
    '--list': { key: 'list', flag: true },
    '--help': { key: 'help', flag: true },
    '-h': { key: 'help', flag: true },
  },
};

async function measure(row, routerKind, env, o) {
  const args = { routerKind, ...CLIENT, env, warmup: o.warmup, seconds: o.seconds };
  switch (row.kind) {
    case 'rpc':
      return measureRpc({ ...args, inflight: row.inflight });
    case 'pubsub':
      return measurePubsub({ ...args, fanout: row.fanout });
    case 'handshakes':
      return measureHandshakes({ ...args, parallel: row.parallel });
    case 'idle':
      return measureIdle({ ...args, sessions: o.idleSessions, processes: o.quick ? 2 : 4, settleMs: o.quick ? 300 : 1000 });
    default:
      throw new Error(`unknown row kind ${row.kind}`);
  }
}

// the figure each row is judged by (lower is better) and the rate
const headline = (row) => (row.kind === 'idle' ? 'kib_per_session' : 'router_us');

async function main() {
  const o = parseArgs(process.argv.slice(2), spec, NAME);
  if (o.help) {
    console.log(helpFrom(fileURLToPath(import.meta.url)));
    return;
  }
  if (o.render) {
    // re-summarise and print the tables of an earlier run's JSON
    const report = JSON.parse(fs.readFileSync(o.render, 'utf8'));
    for (const row of report.rows) summarise(row, new Map(row.results.map((r) => [r.router, r])));
    const md = renderMarkdown(report);
    console.log(md);
    if (o.md) fs.writeFileSync(o.md, md + '\n');
    return;
  }
  for (const r of o.rows) if (!ROWS[r]) die(NAME, `unknown row ${r} (rows: ${Object.keys(ROWS).join(', ')})`);
  for (const r of o.routers) if (!ROUTERS[r]) die(NAME, `unknown router ${r} (routers: ${Object.keys(ROUTERS).join(', ')})`);
  o.seconds ??= o.quick ? 0.7 : 3;
  o.warmup ??= o.quick ? 0.3 : 1;
  o.idleSessions ??= o.quick ? 1000 : 10000;
  if (!(o.seconds > 0) || !(o.warmup >= 0)) die(NAME, '--seconds must be > 0 and --warmup >= 0');
  if (o.list) {
    for (const [id, r] of Object.entries(ROWS)) console.log(`${id.padEnd(12)} ${r.title}`);
    console.log(`routers: ${Object.entries(ROUTERS).map(([k, v]) => `${k} (${v.label})`).join(', ')}`);
    return;
  }
  const routers = o.routers.includes(BASELINE) ? o.routers : [BASELINE, ...o.routers];

  const t0 = Date.now();
  const bundle = buildBundle();
  const env = environment({});
  if (!o.pin) env.pin = false;
  if (o.profile) {
    fs.mkdirSync(o.profile, { recursive: true });
    env.profile = { dir: o.profile, who: 'router' };
    console.log(`note: --profile: router processes write CPU profiles to ${path.relative(ROOT, o.profile)}; figures of this run are slowed by profiling`);
  }
  const meta = {
    ...machine(),
    date: new Date().toISOString(),
    bundle,
    versions: { 'fox-wamp': readVersion('fox-wamp'), ws: readVersion('ws') },
    client: 'autostrada Session, JSON, our Node WebSocket client (no permessage-deflate offered), acceptNullPayload',
    pinned: env.pin ? { router: env.routerCpu, clients: env.clientCpu } : null,
    nofile: env.nofile,
    options: { quick: o.quick, seconds: o.seconds, warmup: o.warmup, repeat: o.repeat, idle_sessions: o.idleSessions },
  };
  console.log(
    `${NAME}  node ${meta.node}, ${meta.cpus} CPUs (${meta.cpu}), load ${meta.loadavg.join(' ')}; routers on CPU ${env.pin ? env.routerCpu : '*'}, ` +
      `clients on CPU ${env.pin ? env.clientCpu : '*'}; ${o.warmup}s warm-up + ${o.seconds}s timed${o.repeat > 1 ? `, median of ${o.repeat}` : ''}`,
  );
  if (o.rows.includes('idle') && env.nofile != null && env.nofile < o.idleSessions + 512)
    console.log(`note: open-file hard limit ${env.nofile} is low for ${o.idleSessions} sessions`);

  const report = { meta, rows: [] };
  for (const id of o.rows) {
    const row = { id, ...ROWS[id] };
    const results = new Map(routers.map((k) => [k, { router: k, label: ROUTERS[k].label, status: 'ok', samples: [] }]));
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const k of rotate(routers, rep)) {
        const r = results.get(k);
        if (r.status !== 'ok') continue;
        process.stdout.write(`  ${row.id} / ${k}${o.repeat > 1 ? ` #${rep + 1}` : ''} ... `);
        try {
          const s = await measure(row, k, env, o);
          r.samples.push(s);
          const problems = s.errors || s.bad || s.lost ? `  [errors ${s.errors}, bad ${s.bad ?? 0}, lost ${s.lost ?? 0}] ${s.first_error}` : '';
          console.log(
            row.kind === 'idle'
              ? `${fmt(s.kib_per_session)} KiB/session (${s.opened} open, ${fmtInt(s.joins_per_s)} joins/s)${problems}`
              : `${fmtInt(s.rate)} ${row.unit}, router ${fmtUs(s.router_us)} us/op (${fmt(s.router_cpu_pct, 0)}% CPU)${problems}`,
          );
        } catch (e) {
          console.log('FAILED');
          console.log(`    ${String(e.message || e).replace(/\s+/g, ' ').slice(0, 500)}`);
          Object.assign(r, { status: 'failed', reason: String(e.message || e).replace(/\s+/g, ' ').slice(0, 500) });
        }
      }
    }
    summarise(row, results);
    report.rows.push({ ...row, baseline: BASELINE, results: [...results.values()] });
  }
  report.meta.elapsed_s = (Date.now() - t0) / 1000;

  const md = renderMarkdown(report);
  console.log('\n' + md);
  writeJson(o.out, report);
  if (o.md) {
    fs.mkdirSync(path.dirname(o.md), { recursive: true });
    fs.writeFileSync(o.md, md + '\n');
  }
  console.log(`\nwrote ${path.relative(ROOT, o.out)}${o.md ? ` and ${path.relative(ROOT, o.md)}` : ''} in ${report.meta.elapsed_s.toFixed(0)} s`);
  const bad = report.rows.some((row) => row.results.some((r) => r.status === 'failed' || r.errors > 0 || r.bad > 0 || r.lost > 0));
  if (bad) process.exitCode = 1;
}

const METRICS = ['others_router_core_pct', 'others_client_core_pct', 'rate', 'router_us', 'client_us', 'p50_us', 'p99_us', 'router_cpu_pct', 'kib_per_session', 'joins_per_s', 'opened', 'rss_before_kib', 'rss_after_kib'];

function summarise(row, results) {
  for (const r of results.values()) {
    if (r.status !== 'ok' || !r.samples.length) continue;
    for (const m of METRICS) r[m] = median(r.samples.map((s) => s[m]));
    r.errors = Math.max(...r.samples.map((s) => s.errors || 0));
    r.bad = Math.max(...r.samples.map((s) => s.bad || 0));
    r.lost = Math.max(...r.samples.map((s) => s.lost || 0));
    r.first_error = r.samples.map((s) => s.first_error).find(Boolean) || '';
    const h = r.samples.map((s) => s[headline(row)]).filter((x) => x != null);
    r.headline_min = h.length ? Math.min(...h) : null;
    r.headline_max = h.length ? Math.max(...h) : null;
  }
  const base = results.get(BASELINE);
  const ok = base && base.status === 'ok' && base.samples.length;
  const h = headline(row);
  for (const r of results.values()) {
    if (r.status !== 'ok' || !r.samples.length) continue;
    r.ratio = ok && base[h] > 0 && r[h] != null ? r[h] / base[h] : null;
    r.rate_ratio = ok && base.rate > 0 && r.rate != null ? r.rate / base.rate : null;
    r.p50_ratio = ok && base.p50_us > 0 && r.p50_us != null ? r.p50_us / base.p50_us : null;
    r.p99_ratio = ok && base.p99_us > 0 && r.p99_us != null ? r.p99_us / base.p99_us : null;
    const n = [];
    if (r.errors) n.push(`ERRORS x${r.errors}: ${r.first_error}`);
    if (r.bad) n.push(`${r.bad} wrong results`);
    if (r.lost) n.push(`${r.lost} events lost`);
    if (row.kind === 'idle' && r.opened < r.samples[0].sessions) n.push(`only ${r.opened} sessions opened`);
    if (row.kind !== 'idle' && r.router_cpu_pct != null && r.router_cpu_pct < 85) n.push(`router at ${fmt(r.router_cpu_pct, 0)}% CPU: not router-bound`);
    const noisy = [];
    if (r.others_router_core_pct > 15) noisy.push(`router core ${fmt(r.others_router_core_pct, 0)}%`);
    if (r.others_client_core_pct > 15) noisy.push(`client core ${fmt(r.others_client_core_pct, 0)}%`);
    if (noisy.length) n.push(`NOISY: others used ${noisy.join(', ')}`);
    r.notes = n;
  }
}

function renderMarkdown(report) {
  const { meta } = report;
  const out = [];
  out.push(
    `bench:router, ${meta.date.slice(0, 10)}, commit ${meta.commit}, node ${meta.node}, ${meta.cpus} x ${meta.cpu}; client: ${meta.client}` +
      `; ${meta.options.warmup} s warm-up + ${meta.options.seconds} s timed, median of ${meta.options.repeat}.`,
  );
  out.push('');
  out.push('Router CPU = CPU time of the router process per operation (call, event delivered, session opened and closed; median over repeats, min–max = its range). Ratios are to fox-wamp: CPU, latency and memory lower is better, throughput higher is better.');
  out.push('');
  const header = ['row', 'router', 'ops/s', 'vs fox', 'router CPU µs/op', 'vs fox', 'min–max', 'p50 µs', 'vs fox', 'p99 µs', 'vs fox', 'router CPU %', 'notes'];
  const rows = [];
  const idleRows = [];
  for (const row of report.rows) {
    for (const r of row.results) {
      const base = r.router === BASELINE;
      if (r.status !== 'ok' || !r.samples.length) {
        (row.kind === 'idle' ? idleRows : rows).push(
          row.kind === 'idle' ? [row.id, r.label, r.status, '', '', '', '', '', r.reason ?? ''] : [row.id, r.label, r.status, '', '', '', '', '', '', '', '', '', r.reason ?? ''],
        );
        continue;
      }
      if (row.kind === 'idle') {
        idleRows.push([
          row.id,
          r.label,
          fmtInt(r.opened),
          fmt(r.kib_per_session, 2),
          base ? '' : fmtRatio(r.ratio),
          r.samples.length > 1 ? `${fmt(r.headline_min, 2)}–${fmt(r.headline_max, 2)}` : '',
          `${fmt(r.rss_before_kib / 1024, 1)} → ${fmt(r.rss_after_kib / 1024, 1)}`,
          fmtInt(r.joins_per_s),
          (r.notes || []).join('; '),
        ]);
        continue;
      }
      const rpc = row.kind === 'rpc';
      rows.push([
        row.id,
        r.label,
        fmtInt(r.rate),
        base ? '' : fmtRatio(r.rate_ratio),
        fmtUs(r.router_us),
        base ? '' : fmtRatio(r.ratio),
        r.samples.length > 1 ? `${fmtUs(r.headline_min)}–${fmtUs(r.headline_max)}` : '',
        rpc ? fmtInt(r.p50_us) : '',
        rpc && !base ? fmtRatio(r.p50_ratio) : '',
        rpc ? fmtInt(r.p99_us) : '',
        rpc && !base ? fmtRatio(r.p99_ratio) : '',
        fmt(r.router_cpu_pct, 0),
        (r.notes || []).join('; '),
      ]);
    }
  }
  if (rows.length) out.push(markdownTable(header, rows));
  if (idleRows.length) {
    out.push('');
    out.push(markdownTable(['row', 'router', 'sessions', 'KiB/session', 'vs fox', 'min–max', 'RSS MiB before → after', 'joins/s (ramp)', 'notes'], idleRows));
  }
  return out.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

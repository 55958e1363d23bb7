#!/usr/bin/env node
// bench:wamp — WAMP client libraries compared against the same router, in one run.
//
// Clients: autostrada (ours), Autobahn|JS 22.11.1 (the baseline) and wampy 8,
// each with every serializer it has (json, msgpack, cbor). Router: ours
// (bench/wamp/child.mjs role 'router', permessage-deflate off so no client
// compresses; `--router fox` uses fox-wamp instead, JSON only).
//
// Rows, per serializer:
//   rpc1      RPC, 1 call in flight (sequential): a caller process and a
//             callee process (bench.echo returns its two args)
//   rpc100    RPC, 100 calls in flight
//   pubsub100 PubSub, 1 publisher process -> 100 subscriber sessions in one
//             process, events paced so nothing queues without bound
//
// Every client role runs in its own child process, pinned to CPU 1 (router on
// CPU 0), and measures its own CPU time (process.cpuUsage) over the timed
// window, so the table shows the CPU cost per operation of the CLIENT
// processes (caller + callee per call; subscribers + publisher per event
// delivered), the headline figure, with its ratio to Autobahn|JS (lower is
// better), next to throughput (higher is better, but bounded by whichever
// process saturates first on a shared 2-core machine).
// Contenders are interleaved within each row and repeat; the order rotates
// each repeat.
//
// Usage: node bench/wamp/run.mjs [--quick] [--repeat N] [--rows rpc1,rpc100,pubsub100]
//          [--serializers json,msgpack,cbor] [--clients ours,autobahn,wampy]
//          [--router ours|fox] [--seconds S] [--warmup S] [--no-pin]
//          [--out bench/build/wamp-results.json] [--md FILE] [--list]
//          [--render results.json]  (print the tables of an earlier run again)
//          [--profile DIR]  (client processes run with --cpu-prof into DIR;
//                            summarise with node bench/wamp/profile.mjs DIR)
// Defaults: 1 s warm-up + 3 s timed, 1 repeat (about 3 minutes; --repeat 3
// about 8). --quick: 0.3 s + 0.7 s (under a minute; a smoke test,
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
} from './lib/harness.mjs';
import { LIBRARIES } from './lib/clients.mjs';
import { measurePubsub, measureRpc } from './lib/measure.mjs';

const NAME = 'bench:wamp';
const BASELINE = 'autobahn';
const KINDS = {
  rpc1: { title: 'RPC, 1 call in flight', kind: 'rpc', inflight: 1, unit: 'calls/s' },
  rpc100: { title: 'RPC, 100 calls in flight', kind: 'rpc', inflight: 100, unit: 'calls/s' },
  pubsub100: { title: 'PubSub, 1 publisher -> 100 subscribers', kind: 'pubsub', fanout: 100, unit: 'events/s' },
};

const spec = {
  defaults: {
    quick: false,
    repeat: 1,
    rows: Object.keys(KINDS),
    serializers: ['json', 'msgpack', 'cbor'],
    clients: ['ours', 'autobahn', 'wampy'],
    router: 'ours',
    seconds: null,
    warmup: null,
    pin: true,
    out: path.join(BUILD, 'wamp-results.json'),
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
    '--serializers': { key: 'serializers', parse: list },
    '--clients': { key: 'clients', parse: list },
    '--router': { key: 'router' },
    '--seconds': { key: 'seconds', parse: Number },
    '--warmup': { key: 'warmup', parse: Number },
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

function rowsFor(o) {
  const rows = [];
  for (const ser of o.serializers) {
    for (const k of o.rows) rows.push({ id: `${k}-${ser}`, kind: k, ser, ...KINDS[k], title: `${KINDS[k].title} (${ser})` });
  }
  return rows;
}

async function main() {
  const o = parseArgs(process.argv.slice(2), spec, NAME);
  if (o.help) {
    console.log(helpFrom(fileURLToPath(import.meta.url)));
    return;
  }
  if (o.render) {
    // re-summarise and print the tables of an earlier run's JSON
    const report = JSON.parse(fs.readFileSync(o.render, 'utf8'));
    for (const row of report.rows) summarise(row, new Map(row.results.map((r) => [r.client, r])));
    const md = renderMarkdown(report);
    console.log(md);
    if (o.md) fs.writeFileSync(o.md, md + '\n');
    return;
  }
  for (const r of o.rows) if (!KINDS[r]) die(NAME, `unknown row ${r} (rows: ${Object.keys(KINDS).join(', ')})`);
  for (const c of o.clients) if (!LIBRARIES[c]) die(NAME, `unknown client ${c} (clients: ${Object.keys(LIBRARIES).join(', ')})`);
  for (const s of o.serializers) if (!['json', 'msgpack', 'cbor'].includes(s)) die(NAME, `unknown serializer ${s}`);
  if (!['ours', 'fox'].includes(o.router)) die(NAME, '--router is ours or fox');
  if (o.router === 'fox' && o.serializers.some((s) => s !== 'json')) {
    console.log('note: fox-wamp speaks JSON only; measuring json only');
    o.serializers = ['json'];
  }
  o.seconds ??= o.quick ? 0.7 : 3;
  o.warmup ??= o.quick ? 0.3 : 1;
  if (!(o.seconds > 0) || !(o.warmup >= 0)) die(NAME, '--seconds must be > 0 and --warmup >= 0');
  const rows = rowsFor(o);
  if (o.list) {
    for (const r of rows) console.log(`${r.id.padEnd(20)} ${r.title}`);
    console.log(`clients: ${Object.entries(LIBRARIES).map(([k, v]) => `${k} (${v.label})`).join(', ')}`);
    return;
  }
  const clients = o.clients.includes(BASELINE) ? o.clients : [BASELINE, ...o.clients];

  const t0 = Date.now();
  const bundle = buildBundle();
  const env = environment({ pin: o.pin });
  if (o.profile) {
    fs.mkdirSync(o.profile, { recursive: true });
    env.profile = { dir: o.profile, who: 'clients' };
    console.log(`note: --profile: client processes write CPU profiles to ${path.relative(ROOT, o.profile)}; figures of this run are slowed by profiling`);
  }
  const meta = {
    ...machine(),
    date: new Date().toISOString(),
    bundle,
    versions: { autobahn: readVersion('autobahn'), wampy: readVersion('wampy'), 'fox-wamp': readVersion('fox-wamp'), ws: readVersion('ws'), msgpackr: readVersion('msgpackr'), 'cbor-x': readVersion('cbor-x'), msgpack5: readVersion('msgpack5'), cbor: readVersion('cbor') },
    router: o.router,
    pinned: env.pin ? { router: env.routerCpu, clients: env.clientCpu } : null,
    options: { quick: o.quick, seconds: o.seconds, warmup: o.warmup, repeat: o.repeat },
  };
  console.log(
    `${NAME}  node ${meta.node}, ${meta.cpus} CPUs (${meta.cpu}), load ${meta.loadavg.join(' ')}; router ${o.router} on CPU ${env.pin ? env.routerCpu : '*'}, ` +
      `clients on CPU ${env.pin ? env.clientCpu : '*'}; ${o.warmup}s warm-up + ${o.seconds}s timed${o.repeat > 1 ? `, median of ${o.repeat}` : ''}`,
  );
  if (!env.pin) console.log('note: not pinned (needs taskset and 2 CPUs)');

  const report = { meta, rows: [] };
  for (const row of rows) {
    const results = new Map(clients.map((c) => [c, { client: c, label: LIBRARIES[c].label, status: 'ok', samples: [] }]));
    for (const c of clients) {
      if (!LIBRARIES[c].serializers.includes(row.ser)) Object.assign(results.get(c), { status: 'n/a', reason: `no ${row.ser} serializer` });
    }
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const c of rotate(clients, rep)) {
        const r = results.get(c);
        if (r.status !== 'ok') continue;
        process.stdout.write(`  ${row.id} / ${c}${o.repeat > 1 ? ` #${rep + 1}` : ''} ... `);
        const args = { routerKind: o.router, lib: c, ser: row.ser, env, warmup: o.warmup, seconds: o.seconds };
        try {
          const s = row.kind.startsWith('rpc') ? await measureRpc({ ...args, inflight: row.inflight }) : await measurePubsub({ ...args, fanout: row.fanout });
          r.samples.push(s);
          console.log(`${fmtInt(s.rate)} ${row.unit}, client ${fmtUs(s.client_us)} us/op, router ${fmtUs(s.router_us)} us/op${s.errors || s.bad || s.lost ? `  [errors ${s.errors}, bad ${s.bad}, lost ${s.lost ?? 0}] ${s.first_error}` : ''}`);
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

const METRICS = ['others_router_core_pct', 'others_client_core_pct', 'rate', 'client_us', 'caller_us', 'callee_us', 'subscriber_us', 'publisher_us', 'router_us', 'p50_us', 'p99_us', 'router_cpu_pct', 'caller_cpu_pct', 'callee_cpu_pct', 'subscriber_cpu_pct', 'publisher_cpu_pct'];

function summarise(row, results) {
  for (const r of results.values()) {
    if (r.status !== 'ok' || !r.samples.length) continue;
    for (const m of METRICS) r[m] = median(r.samples.map((s) => s[m]));
    r.errors = Math.max(...r.samples.map((s) => s.errors || 0));
    r.bad = Math.max(...r.samples.map((s) => s.bad || 0));
    r.lost = Math.max(...r.samples.map((s) => s.lost || 0));
    r.first_error = r.samples.map((s) => s.first_error).find(Boolean) || '';
    const cpu = r.samples.map((s) => s.client_us).filter((x) => x != null);
    r.client_us_min = cpu.length ? Math.min(...cpu) : null;
    r.client_us_max = cpu.length ? Math.max(...cpu) : null;
  }
  const base = results.get(BASELINE);
  for (const r of results.values()) {
    if (r.status !== 'ok' || !r.samples.length) continue;
    const ok = base && base.status === 'ok' && base.samples.length;
    r.cpu_ratio = ok && base.client_us > 0 ? r.client_us / base.client_us : null;
    r.rate_ratio = ok && base.rate > 0 ? r.rate / base.rate : null;
    r.notes = notes(row, r);
  }
}

function notes(row, r) {
  const n = [];
  if (r.errors) n.push(`ERRORS x${r.errors}: ${r.first_error}`);
  if (r.bad) n.push(`${r.bad} wrong results`);
  if (r.lost) n.push(`${r.lost} events lost`);
  if (r.router_cpu_pct >= 90) n.push(`router-bound (router ${fmt(r.router_cpu_pct, 0)}% CPU)`);
  const noisy = noise(r);
  if (noisy) n.push(noisy);
  return n;
}

/** NOISY when other tasks took more than 15% of the router's or the clients' core (median over repeats). */
function noise(r) {
  const parts = [];
  if (r.others_router_core_pct > 15) parts.push(`router core ${fmt(r.others_router_core_pct, 0)}%`);
  if (r.others_client_core_pct > 15) parts.push(`client core ${fmt(r.others_client_core_pct, 0)}%`);
  return parts.length ? `NOISY: others used ${parts.join(', ')}` : '';
}

function renderMarkdown(report) {
  const { meta } = report;
  const out = [];
  out.push(
    `bench:wamp, ${meta.date.slice(0, 10)}, commit ${meta.commit}, node ${meta.node}, ${meta.cpus} x ${meta.cpu}; router: ${meta.router === 'ours' ? 'autostrada' : 'fox-wamp'}` +
      `; ${meta.options.warmup} s warm-up + ${meta.options.seconds} s timed, median of ${meta.options.repeat}.`,
  );
  out.push('');
  out.push('Client CPU = CPU time of the client processes per operation: caller + callee per call; subscribers + publisher per event delivered (median over repeats; min–max = its range). Ratios are to Autobahn|JS: CPU lower is better, throughput higher is better.');
  out.push('');
  const header = ['row', 'client', 'ops/s', 'vs AB', 'client CPU µs/op', 'vs AB', 'min–max', 'caller or sub µs', 'callee or pub µs', 'router µs/op', 'p50 µs', 'p99 µs', 'notes'];
  const rows = [];
  for (const row of report.rows) {
    for (const r of row.results) {
      if (r.status !== 'ok' || !r.samples.length) {
        rows.push([row.id, r.label, r.status, '', '', '', '', '', '', '', '', '', r.reason ?? '']);
        continue;
      }
      const rpc = row.kind.startsWith('rpc');
      rows.push([
        row.id,
        r.label,
        fmtInt(r.rate),
        r.client === BASELINE ? '' : fmtRatio(r.rate_ratio),
        fmtUs(r.client_us),
        r.client === BASELINE ? '' : fmtRatio(r.cpu_ratio),
        r.samples.length > 1 ? `${fmtUs(r.client_us_min)}–${fmtUs(r.client_us_max)}` : '',
        fmtUs(rpc ? r.caller_us : r.subscriber_us),
        fmtUs(rpc ? r.callee_us : r.publisher_us),
        fmtUs(r.router_us),
        rpc ? fmtInt(r.p50_us) : '',
        rpc ? fmtInt(r.p99_us) : '',
        (r.notes || []).join('; '),
      ]);
    }
  }
  out.push(markdownTable(header, rows));
  // the headline in one matrix: client CPU per op relative to Autobahn|JS
  const libs = [...new Set(report.rows.flatMap((row) => row.results.map((r) => r.client)))];
  out.push('');
  out.push('Client CPU per operation relative to Autobahn|JS (lower is better):');
  out.push('');
  out.push(
    markdownTable(
      ['row', ...libs.map((l) => LIBRARIES[l].label)],
      report.rows.map((row) => [row.id, ...libs.map((l) => {
        const r = row.results.find((x) => x.client === l);
        return r && r.status === 'ok' && r.samples.length ? fmtRatio(r.cpu_ratio) : (r?.status ?? '-');
      })]),
    ),
  );
  return out.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

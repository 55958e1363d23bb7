// The measurements both WAMP benchmarks are made of. Each one starts a fresh
// router process and fresh client processes, lets the load run for a warm-up,
// then takes a mark in every process at the start and at the end of the timed
// window, stops the load, checks the results, and tears everything down.
//
// Processes: the router on the router core, every client process on the
// client core (both pinned when taskset is there).

import { Child, cpuTimes, delta, othersPct, readRssKiB, sleep } from './harness.mjs';

const STARTUP_MS = 30000;

/** Starts a router child; resolves with { router, url }. */
export async function startRouter(kind, env, { deflate = false } = {}) {
  const router = new Child(`router(${kind})`, { role: 'router', kind, deflate }, { env, cpu: env.routerCpu, nodeArgs: profileArgs(env, 'router', kind) });
  try {
    const ready = await router.waitEvent('ready', STARTUP_MS);
    return { router, url: ready.url, pid: ready.pid };
  } catch (e) {
    await router.stop();
    throw e;
  }
}

function client(name, config, env) {
  return new Child(name, config, { env, cpu: env.clientCpu, nodeArgs: profileArgs(env, 'clients', `${config.role}-${config.lib}-${config.ser}`) });
}

/**
 * `--cpu-prof` for the processes `env.profile.who` names ('router' or
 * 'clients'), written to `env.profile.dir` when the process exits. A profiled
 * process runs slower: its figures are for finding hot spots, not for tables.
 */
let profiles = 0;
function profileArgs(env, who, tag) {
  if (!env.profile || env.profile.who !== who) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${env.profile.dir}`, `--cpu-prof-name=${tag}-${Date.now()}-${++profiles}.cpuprofile`];
}

async function ready(children) {
  return Promise.all(children.map((c) => c.waitEvent('ready', STARTUP_MS)));
}

async function stopAll(children) {
  await Promise.all(children.filter(Boolean).map((c) => c.stop()));
}

const pct = (d) => (d.seconds > 0 ? d.cpu_us / (d.seconds * 1e4) : null);

/**
 * The share of the router's core and of the clients' core that other tasks
 * (other people's work on a shared machine) took during the window. Only
 * meaningful when pinned.
 */
function others(env, ta, tb, routerPct, clientsPct) {
  if (!env.pin) return {};
  return {
    others_router_core_pct: othersPct(ta, tb, env.routerCpu, routerPct),
    others_client_core_pct: othersPct(ta, tb, env.clientCpu, clientsPct),
  };
}

/**
 * RPC: one callee process (registers bench.echo, returns its args) and one
 * caller process keeping `inflight` calls in flight, both of library `lib`.
 * Throughput = calls completed in the window; CPU µs per call of the caller,
 * the callee and the router; round-trip latency percentiles from the caller.
 */
export async function measureRpc({ routerKind, lib, ser, inflight, env, warmup, seconds, offerDeflate }) {
  const { router, url } = await startRouter(routerKind, env);
  let callee;
  let caller;
  try {
    const base = { lib, ser, url, ...(offerDeflate === false ? { offerDeflate: false } : {}) };
    callee = client(`callee(${lib})`, { role: 'callee', ...base }, env);
    await ready([callee]);
    caller = client(`caller(${lib})`, { role: 'caller', ...base, inflight, latency: true }, env);
    await ready([caller]);
    await caller.request('run');
    await sleep(warmup * 1000);
    const ta = cpuTimes();
    const a = await Promise.all([router.mark(), callee.mark(), caller.request('mark', { latency: 'reset' })]);
    await sleep(seconds * 1000);
    const b = await Promise.all([router.mark(), callee.mark(), caller.request('mark', { latency: 'report' })]);
    const tb = cpuTimes();
    const stop = await caller.request('stop', {}, 20000);
    const [r, ce, ca] = a.map((x, i) => delta(x, b[i]));
    const calls = ca.counts.calls;
    const final = await Promise.all([callee.mark(), router.mark()]);
    const errors = (stop.errors || 0) + (final[0].counts.errors || 0) + (final[1].counts.errors || 0);
    const firstError = stop.first_error || final[0].first_error || final[1].first_error || '';
    return {
      rate: calls / ca.seconds,
      ops: calls,
      seconds: ca.seconds,
      caller_us: calls > 0 ? ca.cpu_us / calls : null,
      callee_us: ce.counts.invocations > 0 ? ce.cpu_us / ce.counts.invocations : null,
      router_us: calls > 0 ? r.cpu_us / calls : null,
      client_us: calls > 0 ? (ca.cpu_us + ce.cpu_us) / calls : null,
      p50_us: ca.latency?.p50_us ?? null,
      p99_us: ca.latency?.p99_us ?? null,
      latency_samples: ca.latency?.samples ?? 0,
      caller_cpu_pct: pct(ca),
      callee_cpu_pct: pct(ce),
      router_cpu_pct: pct(r),
      router_rss_kib: r.rss_kib,
      ...others(env, ta, tb, pct(r), pct(ca) + pct(ce)),
      bad: stop.bad || 0,
      errors,
      first_error: firstError,
    };
  } finally {
    await stopAll([caller, callee]);
    await router.stop();
  }
}

/** Publications in flight (sent, not yet seen by every subscriber) for a fan-out. */
export function pubsubWindow(fanout) {
  const window = Math.max(10, Math.ceil(2000 / fanout));
  // ack at most every quarter of the events in flight, so the publisher never
  // waits on an ack that cannot come (see the publisher role)
  return { window, ackEvery: Math.max(1, Math.floor((window * fanout) / 4)) };
}

/**
 * PubSub: one process with `fanout` subscriber sessions, one publisher
 * process, both of library `lib`. The publisher keeps a bounded number of
 * events in flight: the subscriber process publishes its running count on
 * bench.ack every `ackEvery` events and the publisher waits for it, so no
 * queue anywhere grows without bound and the router never has to drop events.
 * Throughput = events received by the subscribers in the window; every event
 * published is checked to arrive (after the window, with a drain).
 */
export async function measurePubsub({ routerKind, lib, ser, fanout, env, warmup, seconds, offerDeflate }) {
  const { router, url } = await startRouter(routerKind, env);
  let subs;
  let pub;
  try {
    const base = { lib, ser, url, ...(offerDeflate === false ? { offerDeflate: false } : {}) };
    const { window, ackEvery } = pubsubWindow(fanout);
    subs = client(`subscribers(${lib})`, { role: 'subscribers', ...base, sessions: fanout, ackEvery }, env);
    await ready([subs]);
    pub = client(`publisher(${lib})`, { role: 'publisher', ...base, fanout, window }, env);
    await ready([pub]);
    await pub.request('run');
    await sleep(warmup * 1000);
    const ta = cpuTimes();
    const a = await Promise.all([router.mark(), subs.mark(), pub.mark()]);
    await sleep(seconds * 1000);
    const b = await Promise.all([router.mark(), subs.mark(), pub.mark()]);
    const tb = cpuTimes();
    const stop = await pub.request('stop');
    const expected = stop.published * fanout;
    const drain = await subs.request('drain', { expected, timeoutMs: 5000 }, 15000);
    const [r, s, p] = a.map((x, i) => delta(x, b[i]));
    const events = s.counts.events;
    const lost = Math.max(0, expected - drain.events);
    const rmark = await router.mark();
    const errors = (stop.errors || 0) + (drain.errors || 0) + (rmark.counts.errors || 0);
    return {
      rate: events / s.seconds,
      ops: events,
      seconds: s.seconds,
      publications: p.counts.published,
      subscriber_us: events > 0 ? s.cpu_us / events : null,
      publisher_us: p.counts.published > 0 ? p.cpu_us / p.counts.published : null,
      router_us: events > 0 ? r.cpu_us / events : null,
      client_us: events > 0 ? (s.cpu_us + p.cpu_us) / events : null,
      subscriber_cpu_pct: pct(s),
      publisher_cpu_pct: pct(p),
      router_cpu_pct: pct(r),
      router_rss_kib: r.rss_kib,
      ...others(env, ta, tb, pct(r), pct(s) + pct(p)),
      window,
      ack_every: ackEvery,
      published_total: stop.published,
      received_total: drain.events,
      lost,
      bad: drain.bad || 0,
      stalls: p.counts.stalls || 0,
      errors,
      first_error: stop.first_error || drain.first_error || rmark.first_error || '',
    };
  } finally {
    await stopAll([pub, subs]);
    await router.stop();
  }
}

/**
 * Handshakes: one client process running `parallel` loops of connect +
 * HELLO/WELCOME + GOODBYE + close. Rate = completed cycles in the window;
 * router CPU per cycle.
 */
export async function measureHandshakes({ routerKind, lib, ser, parallel, env, warmup, seconds, offerDeflate }) {
  const { router, url } = await startRouter(routerKind, env);
  let hs;
  try {
    hs = client(`handshaker(${lib})`, { role: 'handshaker', lib, ser, url, parallel, ...(offerDeflate === false ? { offerDeflate: false } : {}) }, env);
    await ready([hs]);
    await hs.request('run');
    await sleep(warmup * 1000);
    const ta = cpuTimes();
    const a = await Promise.all([router.mark(), hs.mark()]);
    await sleep(seconds * 1000);
    const b = await Promise.all([router.mark(), hs.mark()]);
    const tb = cpuTimes();
    const stop = await hs.request('stop', {}, 30000);
    const [r, h] = a.map((x, i) => delta(x, b[i]));
    const cycles = h.counts.cycles;
    const rmark = await router.mark();
    return {
      rate: cycles / h.seconds,
      ops: cycles,
      seconds: h.seconds,
      router_us: cycles > 0 ? r.cpu_us / cycles : null,
      client_us: cycles > 0 ? h.cpu_us / cycles : null,
      router_cpu_pct: pct(r),
      client_cpu_pct: pct(h),
      router_rss_kib: r.rss_kib,
      ...others(env, ta, tb, pct(r), pct(h)),
      errors: (stop.errors || 0) + (rmark.counts.errors || 0),
      first_error: stop.first_error || rmark.first_error || '',
    };
  } finally {
    await stopAll([hs]);
    await router.stop();
  }
}

/**
 * Memory per idle session: warm the router with a few sessions, let them go,
 * read the router's VmRSS, open `sessions` sessions from `processes` client
 * processes (each opening its share, `concurrency` joins at a time), wait,
 * read VmRSS again: (after - before) / sessions open. RSS, so it includes
 * garbage V8 has not collected yet, for every router alike.
 */
export async function measureIdle({ routerKind, lib, ser, sessions, processes, env, settleMs, offerDeflate }) {
  const { router, url, pid } = await startRouter(routerKind, env);
  const holders = [];
  try {
    const base = { role: 'idle', lib, ser, url, concurrency: 50, ...(offerDeflate === false ? { offerDeflate: false } : {}) };
    const warm = client('idle-warmup', { ...base, sessions: Math.min(200, sessions) }, env);
    holders.push(warm);
    const [w] = await ready([warm]);
    if (w.failed) throw new Error(`warm-up: ${w.failed} sessions failed: ${w.first_error}`);
    await warm.stop();
    await sleep(settleMs);
    const before = readRssKiB(pid);
    const share = Math.ceil(sessions / processes);
    const t0 = performance.now();
    const batch = [];
    for (let k = 0, left = sessions; k < processes && left > 0; k++, left -= share) {
      const c = client(`idle-${k}`, { ...base, sessions: Math.min(share, left) }, env);
      holders.push(c);
      batch.push(c);
    }
    const readies = await Promise.all(batch.map((c) => c.waitEvent('ready', 120000)));
    const setup = (performance.now() - t0) / 1000;
    const opened = readies.reduce((n, x) => n + x.opened, 0);
    const failed = readies.reduce((n, x) => n + x.failed, 0);
    await sleep(settleMs * 1.5);
    const after = readRssKiB(pid);
    const marks = await Promise.all(batch.map((c) => c.mark()));
    const stillOpen = marks.reduce((n, m) => n + (m.counts.open ?? 0), 0);
    const rmark = await router.mark();
    return {
      sessions,
      opened,
      failed,
      still_open: stillOpen,
      setup_s: setup,
      joins_per_s: opened / setup,
      rss_before_kib: before,
      rss_after_kib: after,
      kib_per_session: opened > 0 && before != null && after != null ? (after - before) / opened : null,
      errors: failed + (rmark.counts.errors || 0),
      first_error: readies.find((x) => x.first_error)?.first_error || rmark.first_error || '',
    };
  } finally {
    await stopAll(holders);
    await router.stop();
  }
}

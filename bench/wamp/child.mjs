// One process of a WAMP benchmark: a router, or one client role driven by the
// parent (bench/wamp/run.mjs, bench/router/run.mjs) over the IPC channel.
// Its configuration comes in BENCH_CHILD_CONFIG (JSON):
//
//   { role: 'router', kind: 'ours' | 'fox', deflate }        our Router or fox-wamp on 127.0.0.1:0
//   { role: 'callee', lib, ser, url }                         registers bench.echo (returns its args)
//   { role: 'caller', lib, ser, url, inflight, latency }      calls bench.echo, `inflight` calls at a time
//   { role: 'subscribers', lib, ser, url, sessions, ackEvery } N sessions subscribed to bench.topic
//   { role: 'publisher', lib, ser, url, fanout, window }      publishes to bench.topic, paced by acks
//   { role: 'idle', lib, ser, url, sessions, concurrency }    opens N sessions and holds them
//   { role: 'handshaker', lib, ser, url, parallel }           connect + join + leave, in a loop
//
// Commands (each answered with { reply: id, ... }): mark, run, stop, drain,
// exit. A mark is { t (ms, monotonic), cpu (process.cpuUsage()), rss_kib,
// counts }, taken at one instant. Every client operation is bounded: calls
// and joins have timeouts, a publisher that gets no ack for 3 s reports a
// stall and stops, and the process exits when the parent goes away or after
// `maxLifetimeMs` (default 10 minutes).

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { connect } from './lib/clients.mjs';
import { BUNDLE } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const config = JSON.parse(process.env.BENCH_CHILD_CONFIG || '{}');
const REALM = 'realm1';
const PROCEDURE = 'bench.echo';
const TOPIC = 'bench.topic';
const ACK_TOPIC = 'bench.ack';
// The RPC argument and event payload: a sequence number and a short string.
const PAYLOAD = 'autostrada bench payload 0123456789';

const counts = { errors: 0 };
let firstError = '';
function noteError(e) {
  counts.errors++;
  if (!firstError) firstError = String(e && e.stack ? e.stack : e).replace(/\s+/g, ' ').slice(0, 300);
}
process.on('unhandledRejection', noteError);
process.on('uncaughtException', noteError);
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), config.maxLifetimeMs ?? 600_000).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const cfg = { ...config, realm: REALM };

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
    }),
  ]);
}

/** Opens `n` sessions, at most `concurrency` joins at a time. */
async function openSessions(n, concurrency = 50) {
  const sessions = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        sessions.push(await withTimeout(connect(cfg, noteError), 20000, 'joining'));
      } catch (e) {
        failed++;
        noteError(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { sessions, failed };
}

async function closeAll(sessions) {
  await Promise.all(sessions.map((s) => withTimeout(Promise.resolve().then(() => s.close()), 3000, 'leaving').catch(() => {})));
}

// ---------------------------------------------------------------- roles

const roles = {
  async router() {
    let close;
    let url;
    let traffic = null;
    if (config.kind === 'ours') {
      const { Router } = await import(pathToFileURL(BUNDLE).href);
      const router = new Router({ realms: [{ name: REALM }], onError: noteError });
      const addr = await router.listen({
        host: '127.0.0.1',
        port: 0,
        static: false,
        websocket: { perMessageDeflate: config.deflate !== false },
      });
      url = `ws://127.0.0.1:${addr.port}/ws`;
      traffic = router.traffic;
      close = () => router.close();
    } else if (config.kind === 'fox') {
      const FoxRouter = require('fox-wamp');
      const server = new FoxRouter().listenWAMP({ port: 0, host: '127.0.0.1' });
      await new Promise((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      url = `ws://127.0.0.1:${server.address().port}/`;
      close = () =>
        new Promise((resolve) => {
          for (const c of server.clients) c.terminate();
          server.close(() => resolve());
        });
    } else {
      throw new Error(`unknown router kind ${config.kind}`);
    }
    return {
      ready: { url },
      counts: () => (traffic ? { messages_in: traffic.messagesIn, messages_out: traffic.messagesOut } : {}),
      exit: close,
    };
  },

  async callee() {
    const s = await connect(cfg, noteError);
    counts.invocations = 0;
    await s.register(PROCEDURE, (args) => {
      counts.invocations++;
      return args;
    });
    return { ready: {}, exit: () => s.close() };
  },

  async caller() {
    const s = await connect(cfg, noteError);
    const inflight = config.inflight ?? 1;
    counts.calls = 0;
    counts.bad = 0;
    const cap = config.latency ? 1 << 21 : 0;
    const lat = new Float64Array(cap);
    let nlat = 0;
    let running = false;
    let seq = 0;
    const loops = [];
    const loop = async () => {
      while (running) {
        const i = ++seq;
        // no per-call timer here (it would cost as much as a small call): a
        // call that never settles shows up as a stop() timeout
        const t0 = cap ? now() : 0;
        try {
          const r = await s.call(PROCEDURE, [i, PAYLOAD]);
          if (cap && nlat < cap) lat[nlat++] = now() - t0;
          if (!Array.isArray(r) || r[0] !== i || r[1] !== PAYLOAD) counts.bad++;
          counts.calls++;
        } catch (e) {
          noteError(e);
          if (counts.errors > 100) running = false;
        }
      }
    };
    return {
      ready: {},
      run() {
        running = true;
        for (let k = 0; k < inflight; k++) loops.push(loop());
      },
      async stop() {
        running = false;
        await withTimeout(Promise.all(loops), 12000, 'finishing the calls in flight').catch(noteError);
        return { calls: counts.calls, bad: counts.bad };
      },
      onMark(m, reply) {
        if (m.latency === 'reset') nlat = 0;
        if (m.latency === 'report' && cap) {
          const v = lat.slice(0, nlat).sort();
          const q = (p) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] * 1000 : null);
          reply.latency = { samples: v.length, p50_us: q(0.5), p99_us: q(0.99), max_us: v.length ? v[v.length - 1] * 1000 : null };
        }
      },
      exit: () => s.close(),
    };
  },

  async subscribers() {
    const n = config.sessions;
    const ackEvery = config.ackEvery;
    counts.events = 0;
    counts.bad = 0;
    const { sessions, failed } = await openSessions(n, config.concurrency ?? 50);
    if (failed) throw new Error(`${failed} of ${n} subscriber sessions failed to join: ${firstError}`);
    const acker = sessions[0];
    const onEvent = (args) => {
      if (!Array.isArray(args) || typeof args[0] !== 'number' || args[1] !== PAYLOAD) counts.bad++;
      if (++counts.events % ackEvery === 0) acker.publish(ACK_TOPIC, [counts.events]);
    };
    await Promise.all(sessions.map((s) => s.subscribe(TOPIC, onEvent)));
    return {
      ready: { sessions: sessions.length },
      async drain(m) {
        const deadline = now() + (m.timeoutMs ?? 5000);
        while (counts.events < m.expected && now() < deadline) await sleep(20);
        return { events: counts.events, bad: counts.bad };
      },
      exit: () => closeAll(sessions),
    };
  },

  async publisher() {
    const s = await connect(cfg, noteError);
    const fanout = config.fanout;
    const limit = config.window * fanout; // events in flight, at most
    counts.published = 0;
    counts.acks = 0;
    counts.stalls = 0;
    let acked = 0;
    let running = false;
    let lastProgress = 0;
    const pump = () => {
      while (running && counts.published * fanout - acked < limit) {
        counts.published++;
        s.publish(TOPIC, [counts.published, PAYLOAD]);
      }
    };
    await s.subscribe(ACK_TOPIC, (args) => {
      counts.acks++;
      const n = args[0];
      if (typeof n === 'number' && n > acked) {
        acked = n;
        lastProgress = now();
        pump();
      }
    });
    let watchdog = null;
    return {
      ready: {},
      run() {
        running = true;
        lastProgress = now();
        pump();
        watchdog = setInterval(() => {
          if (running && now() - lastProgress > 3000) {
            counts.stalls++;
            noteError(new Error(`no progress for 3 s: ${counts.published * fanout - acked} events unaccounted for (lost?)`));
            running = false;
          }
        }, 250);
      },
      stop() {
        running = false;
        clearInterval(watchdog);
        return { published: counts.published };
      },
      exit: () => s.close(),
    };
  },

  async idle() {
    const t0 = now();
    const { sessions, failed } = await openSessions(config.sessions, config.concurrency ?? 50);
    return {
      ready: { opened: sessions.length, failed, setup_s: (now() - t0) / 1000, first_error: firstError },
      counts: () => ({ open: sessions.reduce((k, s) => k + (s.open ? 1 : 0), 0) }),
      exit: () => closeAll(sessions),
    };
  },

  async handshaker() {
    counts.cycles = 0;
    let running = false;
    const loops = [];
    const loop = async () => {
      while (running) {
        try {
          const s = await withTimeout(connect(cfg, noteError), 10000, 'joining');
          await withTimeout(Promise.resolve(s.close()), 10000, 'leaving');
          counts.cycles++;
        } catch (e) {
          noteError(e);
          if (counts.errors > 100) running = false;
        }
      }
    };
    return {
      ready: {},
      run() {
        running = true;
        for (let k = 0; k < (config.parallel ?? 10); k++) loops.push(loop());
      },
      async stop() {
        running = false;
        await withTimeout(Promise.all(loops), 25000, 'finishing the handshakes in flight').catch(noteError);
        return { cycles: counts.cycles };
      },
      exit: async () => {},
    };
  },
};

// ---------------------------------------------------------------- driver

function rssKiB() {
  return Math.round(process.memoryUsage.rss() / 1024);
}

function send(msg) {
  try {
    process.send(msg);
  } catch {
    process.exit(0);
  }
}

async function main() {
  const make = roles[config.role];
  if (!make) throw new Error(`unknown role ${config.role}`);
  const role = await make();
  const extraCounts = role.counts ?? (() => ({}));
  let exiting = false;
  process.on('message', async (m) => {
    if (!m || typeof m.cmd !== 'string') return;
    const reply = { reply: m.id };
    try {
      switch (m.cmd) {
        case 'mark': {
          reply.t = now();
          reply.cpu = process.cpuUsage();
          reply.rss_kib = rssKiB();
          reply.counts = { ...counts, ...extraCounts() };
          role.onMark?.(m, reply);
          break;
        }
        case 'run':
          role.run?.();
          break;
        case 'stop':
          Object.assign(reply, (await role.stop?.()) ?? {});
          break;
        case 'drain':
          Object.assign(reply, (await role.drain?.(m)) ?? {});
          break;
        case 'exit':
          if (exiting) return;
          exiting = true;
          await withTimeout(Promise.resolve().then(() => role.exit?.()), 5000, 'closing').catch(() => {});
          process.exit(0);
          return;
        default:
          throw new Error(`unknown command ${m.cmd}`);
      }
      reply.errors = counts.errors;
      reply.first_error = firstError;
    } catch (e) {
      reply.error = String(e && e.message ? e.message : e);
    }
    send(reply);
  });
  send({ ev: 'ready', pid: process.pid, ...role.ready, errors: counts.errors, first_error: firstError });
}

main().catch((e) => {
  send({ ev: 'ready', error: String(e && e.stack ? e.stack : e).slice(0, 800) });
  setTimeout(() => process.exit(1), 100);
});

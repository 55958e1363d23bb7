// What the browser tests run inside the page: plain browser JavaScript (no
// imports, no build step), working on the API object `window.A` — the UMD
// global `Autostrada`, or the ESM modules gathered by esm-main.js. Each entry
// of `window.autostradaTest` returns plain data for the Node side to assert.
'use strict';

window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || 'inline/eval'}`);
});
if (!window.A && window.Autostrada) window.A = window.Autostrada;

(() => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const wsUrl = () => `ws://${location.host}/ws`;

  function serializersOf(A, names) {
    return names.map((n) => {
      if (n === 'json') return new A.JsonSerializer();
      if (n === 'msgpack') return new A.MsgpackSerializer();
      if (n === 'cbor') return new A.CborSerializer();
      throw new Error(`unknown serializer ${n}`);
    });
  }

  /** Opens a transport: `transport` is 'websocket' (native WebSocket) or 'websocketstream'. */
  function connect(A, transport, options) {
    const serializers = serializersOf(A, options.serializers || ['json']);
    const rest = { ...options, serializers };
    if (transport === 'websocket') return A.connectWebSocket(options.url || wsUrl(), rest);
    if (transport === 'websocketstream') return A.connectWampWebSocketStream(options.url || wsUrl(), rest);
    throw new Error(`unknown transport ${transport}`);
  }

  function pattern(n, seed) {
    const b = new Uint8Array(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  }

  function sameBytes(a, b) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function errorOf(e) {
    return { name: e && e.name, code: e && e.code, uri: e && e.uri, args: e && e.args, message: String(e && e.message) };
  }

  async function rejection(promise) {
    try {
      await promise;
    } catch (e) {
      return errorOf(e);
    }
    throw new Error('expected a rejection');
  }

  const authenticatorsOf = (A, auth) => {
    switch (auth.method) {
      case 'ticket':
        return [A.ticket(auth.secret, { authid: auth.authid })];
      case 'wampcra':
        return [A.wampcra(auth.secret, { authid: auth.authid })];
      case 'cryptosign':
        return [A.cryptosign(auth.privateKeyHex, auth.authid ? { authid: auth.authid } : {})];
      case 'wamp-scram':
        return [A.scram(auth.secret, auth.authid)];
      case 'scram':
        return [A.scram(auth.secret, auth.authid, { dialect: 'autobahn' })];
      default:
        throw new Error(`unknown auth method ${auth.method}`);
    }
  };

  window.autostradaTest = {
    /**
     * RPC, errors, PubSub, progressive results (three ways), cancel with an
     * AbortSignal, a large binary round trip, leave.
     */
    async basics(A, { transport, serializers, protocols, binarySize = 4 * 1024 * 1024 }) {
      const out = {};
      const t = await connect(A, transport, { serializers, ...(protocols ? { protocols } : {}) });
      out.protocol = t.info.protocol;
      const session = await A.Session.join(t, 'realm1');
      out.joined = { id: typeof session.id, authmethod: session.authmethod };

      // RPC, both directions through the router.
      out.add = (await session.call('test.add', [2, 3])).args[0];
      await session.register('page.mul', (args) => args[0] * args[1]);
      out.mul = (await session.call('page.mul', [6, 7])).args[0];
      out.error = await rejection(session.call('test.fail', ['why']));
      out.noProcedure = (await rejection(session.call('test.nobody.home'))).uri;

      // PubSub: an event from the backend, and our own acknowledged publication.
      const events = [];
      let gotTwo;
      const two = new Promise((resolve) => (gotTwo = resolve));
      const sub = await session.subscribe('test.topic', (args, kwargs) => {
        events.push([args[0], kwargs.from]);
        if (events.length === 2) gotTwo();
      });
      await session.call('test.publish', ['test.topic', 'from backend']);
      const pub = await session.publish('test.topic', ['from page'], { from: 'page' }, { acknowledge: true, exclude_me: false });
      out.publication = typeof pub.id;
      await Promise.race([two, sleep(5000)]);
      out.events = events.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      await session.unsubscribe(sub);

      // Progressive results: async iterator, onProgress, ReadableStream.
      const call = session.callProgressive('test.progress', [4]);
      const iterated = [];
      for await (const r of call) iterated.push(r.args[0]);
      out.progressive = { iterated, final: (await call.result).args[0] };
      const viaCallback = [];
      const final = await session.call('test.progress', [3], {}, { onProgress: (r) => viaCallback.push(r.args[0]) });
      out.onProgress = { progress: viaCallback, final: final.args[0] };
      const streamed = [];
      const streamCall = session.callProgressive('test.progress', [2]);
      const reader = streamCall.toReadableStream().getReader();
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        streamed.push(r.value.args[0]);
      }
      out.stream = { streamed, final: (await streamCall.result).args[0] };

      // Cancel: abort a call the backend never answers; the backend sees the INTERRUPT.
      const interruptsBefore = (await session.call('test.interrupts')).args[0];
      const abort = new AbortController();
      const slow = session.call('test.slow', [], {}, { signal: abort.signal });
      await sleep(100);
      abort.abort(new Error('user gave up'));
      out.canceled = (await rejection(slow)).code;
      let interrupts = interruptsBefore;
      for (let i = 0; i < 100 && interrupts === interruptsBefore; i++) {
        await sleep(20);
        interrupts = (await session.call('test.interrupts')).args[0];
      }
      out.interrupted = interrupts - interruptsBefore;

      // A large binary message both ways.
      if (binarySize > 0) {
        const blob = pattern(binarySize, 7);
        const started = performance.now();
        const echoed = await session.call('test.echo', [blob], { name: 'blob' });
        out.binary = {
          same: sameBytes(echoed.args[0], blob),
          size: echoed.args[0] && echoed.args[0].length,
          kwargs: echoed.kwargs,
          ms: Math.round(performance.now() - started),
        };
      }

      const left = await session.leave();
      out.left = left.reason;
      out.cspViolations = window.cspViolations;
      return out;
    },

    /** Joins with one authentication method; returns what WELCOME said. */
    async auth(A, { transport, serializers, auth }) {
      const t = await connect(A, transport, { serializers });
      const session = await A.Session.join(t, 'realm1', { authenticators: authenticatorsOf(A, auth) });
      const who = { authid: session.authid, authrole: session.authrole, authmethod: session.authmethod };
      who.add = (await session.call('test.add', [20, 22])).args[0];
      await session.leave();
      return who;
    },

    /** A join that must fail (wrong secret): the error code and URI. */
    async authFails(A, { transport, serializers, auth }) {
      const t = await connect(A, transport, { serializers });
      return rejection(A.Session.join(t, 'realm1', { authenticators: authenticatorsOf(A, auth) }));
    },

    /** Connecting that must fail: the error code and URI. */
    async connectFails(A, { transport, options }) {
      return rejection(connect(A, transport, options));
    },

    /**
     * Keeps a session up across router restarts with RetryPolicy: on each join,
     * register `page.ping` and subscribe `test.ticks`. State in window.keeper.
     */
    startKeeper(A, { transport, serializers }) {
      const keeper = (window.keeper = { joins: 0, events: [], errors: [], closes: [], stopped: false, session: null });
      const policy = new A.RetryPolicy({ initial_retry_delay: 0.05, max_retry_delay: 0.5, retry_delay_jitter: 0, max_retries: 200 });
      (async () => {
        while (!keeper.stopped) {
          try {
            const t = await connect(A, transport, { serializers, timeout: 2000 });
            const session = await A.Session.join(t, 'realm1', { timeout: 2000 });
            policy.reset();
            keeper.session = session;
            const joinNumber = keeper.joins;
            await session.register('page.ping', (args) => `pong ${args[0]} from join ${joinNumber}`);
            await session.subscribe('test.ticks', (args) => keeper.events.push(args[0]));
            keeper.joins++;
            const info = await session.closed;
            keeper.closes.push(info.reason);
          } catch (e) {
            keeper.errors.push(e && e.code ? e.code : String(e));
          }
          keeper.session = null;
          const delay = policy.nextDelay();
          if (delay === null) {
            keeper.errors.push('gave up');
            return;
          }
          await sleep(delay);
        }
      })();
      return true;
    },

    /** The same with the library's reconnecting Component (declared registration and subscription). */
    startComponent(A, { transport, serializers }) {
      const keeper = (window.keeper = { joins: 0, events: [], errors: [], closes: [], stopped: false, session: null, component: null });
      let joinNumber = 0;
      keeper.component = new A.Component({
        realm: 'realm1',
        transports: [(signal) => connect(A, transport, { serializers, signal, timeout: 2000 })],
        retry: { initial_retry_delay: 0.05, max_retry_delay: 0.5, retry_delay_jitter: 0, max_retries: 200 },
        registrations: { 'page.ping': (args) => `pong ${args[0]} from join ${joinNumber}` },
        subscriptions: { 'test.ticks': (args) => keeper.events.push(args[0]) },
        onJoin: () => {
          joinNumber = keeper.joins;
          keeper.joins++;
        },
        onLeave: (info) => keeper.closes.push(info.reason),
        onConnectFailure: (e) => keeper.errors.push(e && e.code ? e.code : String(e)),
      });
      keeper.component.start().catch((e) => keeper.errors.push(`start: ${e && e.code}`));
      return true;
    },

    async stopKeeper() {
      const keeper = window.keeper;
      keeper.stopped = true;
      if (keeper.component) await keeper.component.stop();
      else if (keeper.session) await keeper.session.leave();
      return { joins: keeper.joins, events: keeper.events, closes: keeper.closes };
    },

    /**
     * The page without ReadableStream: a progressive call through the async
     * iterator and, if a polyfill is loaded, through toReadableStream().
     */
    async progressiveWithoutNativeStreams(A, { transport }) {
      const t = await connect(A, transport, { serializers: ['json'] });
      const session = await A.Session.join(t, 'realm1');
      const iterated = [];
      const call = session.callProgressive('test.progress', [3]);
      for await (const r of call) iterated.push(r.args[0]);
      let streamed = null;
      let streamError = null;
      try {
        streamed = [];
        const reader = session.callProgressive('test.progress', [2]).toReadableStream().getReader();
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          streamed.push(r.value.args[0]);
        }
      } catch (e) {
        streamed = null;
        streamError = `${e.name}: ${e.message}`;
      }
      await session.leave();
      return { iterated, final: (await call.result).args[0], streamed, streamError };
    },

    /**
     * Backpressure on the send side: a procedure in the page streams
     * progressive results with sendProgress to a caller in the router's
     * process (test.consume), which waits while the transport holds more than
     * the session's writeHighWaterMark. Reports the most bytes ever queued.
     */
    async sendProgressFlow(A, { transport, chunks, chunkSize, highWaterMark }) {
      const t = await connect(A, transport, { serializers: ['json'] });
      const session = await A.Session.join(t, 'realm1', { writeHighWaterMark: highWaterMark });
      let peak = 0;
      await session.register('page.stream', async (args, kwargs, details) => {
        const chunk = pattern(chunkSize, 3);
        for (let i = 0; i < chunks; i++) {
          const sent = details.sendProgress([i, chunk]);
          peak = Math.max(peak, t.bufferedAmount);
          await sent;
        }
        return 'end';
      });
      const consumed = (await session.call('test.consume', ['page.stream'])).args[0];
      await session.leave();
      return { ...consumed, peakBuffered: peak };
    },

    /** bufferedAmount counts a large message until the browser took it, then drops to 0. */
    async bufferedAmount(A, { transport, size }) {
      const t = await connect(A, transport, { serializers: ['cbor'] });
      const session = await A.Session.join(t, 'realm1');
      const before = t.bufferedAmount;
      const pending = session.call('test.echo', [pattern(size, 5)]);
      const queued = t.bufferedAmount;
      const echoed = await pending;
      await sleep(50);
      const after = t.bufferedAmount;
      await session.leave();
      return { before, queuedAtLeastSize: queued >= size, after, echoed: echoed.args[0].length };
    },

    /** A message above maxMessageSize ends the transport with 1009 and WAMP_ERR_BUFFER_OVERFLOW. */
    async tooBig(A, { transport, maxMessageSize, size }) {
      const t = await connect(A, transport, { serializers: ['msgpack'], maxMessageSize });
      const session = await A.Session.join(t, 'realm1');
      const call = await rejection(session.call('test.echo', [pattern(size, 1)]));
      const info = await session.closed;
      return { call: call.code, reason: info.reason, code: info.transport && info.transport.code, error: info.transport && info.transport.error && info.transport.error.code, isOpen: t.isOpen };
    },

    /** More than maxBufferedBytes waiting to be sent ends the transport, it does not buffer on. */
    async sendOverflow(A, { transport, maxBufferedBytes, size }) {
      const t = await connect(A, transport, { serializers: ['msgpack'], maxBufferedBytes });
      const session = await A.Session.join(t, 'realm1');
      const call = await rejection(session.call('test.echo', [pattern(size, 1)]));
      const info = await session.closed;
      return { call: call.code, reason: info.reason, code: info.transport && info.transport.code, error: info.transport && info.transport.error && info.transport.error.code };
    },

    /** Without a WebSocketStream global, connecting says so. */
    async withoutWebSocketStream(A) {
      const saved = globalThis.WebSocketStream;
      delete globalThis.WebSocketStream;
      try {
        return await rejection(connect(A, 'websocketstream', {}));
      } finally {
        globalThis.WebSocketStream = saved;
      }
    },

    /** Connecting aborted by the caller's signal, before and during the handshake. */
    async abortedConnect(A, { transport, url }) {
      const pre = new AbortController();
      pre.abort(new Error('not today'));
      const before = await rejection(connect(A, transport, { url, signal: pre.signal }));
      const mid = new AbortController();
      setTimeout(() => mid.abort(new Error('changed my mind')), 200);
      const started = performance.now();
      const during = await rejection(connect(A, transport, { url, signal: mid.signal, timeout: 10000 }));
      return { before: [before.code, before.message], during: [during.code, during.message], ms: Math.round(performance.now() - started) };
    },

    /** Closing by the router reaches the session as a close reason (WebSocketStream close path). */
    async killedByRouter(A, { transport }) {
      const t = await connect(A, transport, { serializers: ['json'] });
      const session = await A.Session.join(t, 'realm1');
      const closed = session.closed;
      await session.call('test.kill_me', [session.id]).catch(() => {});
      const info = await Promise.race([closed, sleep(5000).then(() => ({ reason: 'still open after 5 s' }))]);
      return { reason: info.reason, isOpen: session.isOpen };
    },
  };
})();

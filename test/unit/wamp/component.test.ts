/**
 * The reconnecting Component against our router core in-process (local
 * transport pairs): declarations before onJoin, re-declaration after every
 * reconnect, hook/event order, fatal ABORT reasons, retries exhausted, stop()
 * in every state, transport cycling, the retry schedule with injected timers.
 * Network restarts of a real router are in component-restart.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { createLocalTransportPair, type WampTransport } from '../../../src/wamp/transport.js';
import { Session } from '../../../src/wamp/session.js';
import { ticket } from '../../../src/wamp/auth/client.js';
import { WampSessionError } from '../../../src/wamp/application-error.js';
import {
  Component,
  ComponentError,
  isFatalComponentError,
  transportFromUrl,
  defaultTransportConnector,
  type ComponentOptions,
  type ComponentTimers,
  type TransportFactory,
} from '../../../src/wamp/component.js';

const FAST = { initial_retry_delay: 0.01, max_retry_delay: 0.05, retry_delay_growth: 2, retry_delay_jitter: 0, max_retries: 5 };

/** A factory attaching a fresh local pair to `router`; remembers the router ends. */
function local(router: Router): TransportFactory & { servers: WampTransport[]; opened: number } {
  const f = Object.assign(
    (_signal: AbortSignal): Promise<WampTransport> => {
      const [client, server] = createLocalTransportPair();
      router.attach(server);
      f.servers.push(server);
      f.opened++;
      return Promise.resolve(client);
    },
    { servers: [] as WampTransport[], opened: 0 },
  );
  return f;
}

/** A factory that always fails, counting its calls. */
function dead(label = 'dead'): TransportFactory & { calls: number } {
  const f = Object.assign(
    (_signal: AbortSignal): Promise<WampTransport> => {
      f.calls++;
      return Promise.reject(new WampSessionError('WAMP_ERR_CONNECT', 'wamp.close.transport_lost', `${label}: connection refused`));
    },
    { calls: 0 },
  );
  return f;
}

function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

/** Records every hook and event in order. */
function recorder(): { log: string[]; hooks: Partial<ComponentOptions> } {
  const log: string[] = [];
  return {
    log,
    hooks: {
      onJoin: (s) => void log.push(`join ${s.id}`),
      onLeave: (i) => void log.push(`leave ${i.reason}`),
      onDisconnect: (i) => void log.push(`disconnect ${i.willReconnect}${i.delay !== undefined ? ` ${i.delay}` : ''}`),
      onConnectFailure: (e, d) => void log.push(`failure ${d}: ${e.message}`),
      onStop: (i) => void log.push(`stop ${i.reason}`),
    },
  };
}

describe('Component with the router in-process', () => {
  test('declares registrations and subscriptions before onJoin; stop() leaves with GOODBYE', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const events: unknown[] = [];
    const states: string[] = [];
    let seenInOnJoin: unknown;
    const c = new Component({
      transports: [transports],
      realm: 'realm1',
      retry: FAST,
      registrations: {
        'com.example.add': (args) => Number(args[0]) + Number(args[1]),
        'com.example.echo': { handler: (args, kwargs) => ({ args, kwargs }), options: { invoke: 'roundrobin' } },
      },
      subscriptions: {
        'com.example.topic': (args) => void events.push(args[0]),
        'com.example.': { handler: (_a, _k, details) => void events.push(`prefix ${details.topic}`), options: { match: 'prefix' } },
      },
      async onJoin(session) {
        // Everything declared is in place already.
        seenInOnJoin = (await session.call('com.example.add', [2, 3])).args[0];
        await session.publish('com.example.topic', ['hello'], {}, { exclude_me: false, acknowledge: true });
      },
      onStateChange: (s) => void states.push(s),
    });
    assert.equal(c.state, 'idle');
    assert.equal(c.session, null);
    const session = await c.start();
    assert.equal(seenInOnJoin, 5);
    assert.equal(c.session, session);
    await until(() => events.length === 2, 2000, 'events');
    assert.deepEqual(events.sort(), ['hello', 'prefix com.example.topic']);
    const regs = await session.meta.registrationList();
    assert.equal(regs.exact.length, 2);
    const info = await c.stop();
    assert.deepEqual(info, { reason: 'stopped' });
    assert.equal(c.state, 'stopped');
    assert.equal(session.isOpen, false);
    assert.equal((await session.closed).initiator, 'local');
    assert.deepEqual(states, ['connecting', 'joining', 'joined', 'stopping', 'stopped']);
    // start() and stop() after the end give the same answers.
    assert.equal(await c.start(), session);
    assert.deepEqual(await c.stop(), info);
    await router.close();
  });

  test('reconnects after the transport is lost: declarations re-established, hooks in order, policy reset', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const rec = recorder();
    let invocations = 0;
    const c = new Component({
      transports: [transports],
      realm: 'realm1',
      retry: { ...FAST, max_retries: 1 }, // only one retry per loss: the reset after each join must happen
      registrations: { 'com.example.count': () => ++invocations },
      ...rec.hooks,
    });
    const first = await c.start();
    const caller = await Session.join(await local(router)(new AbortController().signal), 'realm1');
    assert.equal((await caller.call('com.example.count')).args[0], 1);

    for (let round = 1; round <= 3; round++) {
      const before = transports.opened;
      (transports.servers.at(-1) as WampTransport).close(1006, 'gone');
      await until(() => transports.opened === before + 1 && c.state === 'joined', 3000, `rejoin ${round}`);
      assert.notEqual(c.session, null);
      assert.notEqual(c.session?.id, first.id);
      assert.equal((await caller.call('com.example.count')).args[0], round + 1);
    }
    const joins = rec.log.filter((l) => l.startsWith('join')).length;
    assert.equal(joins, 4);
    // leave → disconnect (with the initial delay: 10 ms, no jitter) → join, each time.
    const order = rec.log.map((l) => l.split(' ')[0]);
    assert.deepEqual(order, ['join', 'leave', 'disconnect', 'join', 'leave', 'disconnect', 'join', 'leave', 'disconnect', 'join']);
    assert.ok(rec.log.includes('leave wamp.close.transport_lost'));
    assert.ok(rec.log.includes('disconnect true 10'));
    await c.stop();
    assert.deepEqual(rec.log.slice(-3), ['leave wamp.close.normal', 'disconnect false', 'stop stopped']);
    await caller.leave();
    await router.close();
  });

  test('a join refused with no_such_realm is fatal: one attempt, start() rejects with the ABORT', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const rec = recorder();
    const c = new Component({ transports: [transports], realm: 'nowhere', retry: FAST, ...rec.hooks });
    await assert.rejects(c.start(), (err: unknown) => {
      assert.ok(err instanceof WampSessionError);
      assert.equal(err.code, 'WAMP_ERR_JOIN_ABORTED');
      assert.equal(err.uri, 'wamp.error.no_such_realm');
      return true;
    });
    const done = await c.done;
    assert.equal(done.reason, 'fatal');
    assert.equal((done.error as WampSessionError).uri, 'wamp.error.no_such_realm');
    assert.equal(transports.opened, 1);
    assert.equal(rec.log.length, 2);
    assert.match(rec.log[0] as string, /^failure null: /);
    assert.equal(rec.log[1], 'stop fatal');
    await router.close();
  });

  test('a refused ticket is fatal: tried once', async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: { ticket: { type: 'static', principals: { joe: { ticket: 'right', role: 'user' } } } },
    });
    const transports = local(router);
    const c = new Component({ transports: [transports], realm: 'realm1', authenticators: [ticket('wrong', { authid: 'joe' })], retry: FAST });
    // Our router answers a wrong ticket with not_authorized (as Crossbar); authentication_failed is fatal as well.
    await assert.rejects(c.start(), { code: 'WAMP_ERR_JOIN_ABORTED', uri: 'wamp.error.not_authorized' });
    assert.equal(transports.opened, 1);
    // The right ticket joins, with the role from the router.
    const ok = new Component({ transports: [local(router)], realm: 'realm1', authenticators: [ticket('right', { authid: 'joe' })] });
    const s = await ok.start();
    assert.equal(s.authrole, 'user');
    assert.equal(s.authid, 'joe');
    await ok.stop();
    await router.close();
  });

  test('max_retries exhausted: 1 + max_retries attempts, growing delays, a ComponentError with the last failure', async () => {
    const d = dead();
    const rec = recorder();
    const c = new Component({ transports: [d], realm: 'realm1', retry: { ...FAST, max_retries: 3 }, ...rec.hooks });
    await assert.rejects(c.start(), (err: unknown) => {
      assert.ok(err instanceof ComponentError);
      assert.equal(err.code, 'COMPONENT_ERR_RETRIES_EXHAUSTED');
      assert.match(err.message, /gave up after 3 retries: dead: connection refused/);
      assert.ok(err.cause instanceof WampSessionError);
      return true;
    });
    assert.equal(d.calls, 4);
    assert.deepEqual(
      rec.log.map((l) => l.split(':')[0]),
      ['failure 10', 'failure 20', 'failure 40', 'failure null', 'stop retries_exhausted'],
    );
    assert.equal((await c.done).reason, 'retries_exhausted');
  });

  test('max_retries 0 after a join: the lost session is not replaced', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const rec = recorder();
    const c = new Component({ transports: [transports], realm: 'realm1', retry: { ...FAST, max_retries: 0 }, ...rec.hooks });
    await c.start();
    (transports.servers[0] as WampTransport).close(1006, '');
    const done = await c.done;
    assert.equal(done.reason, 'retries_exhausted');
    assert.equal((done.error as ComponentError).code, 'COMPONENT_ERR_RETRIES_EXHAUSTED');
    assert.equal(transports.opened, 1);
    assert.deepEqual(rec.log.slice(1), ['leave wamp.close.transport_lost', 'disconnect false', 'stop retries_exhausted']);
    await router.close();
  });

  test('transports are cycled: a dead one is skipped right away, the live one joins', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const d = dead('first');
    const live = local(router);
    const rec = recorder();
    const c = new Component({ transports: [d, live], realm: 'realm1', retry: { ...FAST, initial_retry_delay: 5, max_retry_delay: 5 }, ...rec.hooks });
    const t0 = Date.now();
    await c.start();
    assert.ok(Date.now() - t0 < 2000, 'the second transport is tried without waiting for the backoff');
    assert.equal(d.calls, 1);
    assert.equal(live.opened, 1);
    assert.match(rec.log[0] as string, /^failure 0: first: connection refused/);
    // After a loss the transport that worked is tried first.
    (live.servers[0] as WampTransport).close(1006, '');
    const c2Rec = rec.log.length;
    await c.stop();
    assert.equal(d.calls, 1);
    assert.ok(rec.log.length > c2Rec);
    await router.close();
  });

  test('all transports dead: one backoff per round, rounds count as retries', async () => {
    const a = dead('a');
    const b = dead('b');
    const rec = recorder();
    const c = new Component({ transports: [a, b], realm: 'realm1', retry: { ...FAST, max_retries: 2 }, ...rec.hooks });
    await assert.rejects(c.start(), { code: 'COMPONENT_ERR_RETRIES_EXHAUSTED' });
    assert.equal(a.calls, 3);
    assert.equal(b.calls, 3);
    assert.deepEqual(
      rec.log.map((l) => l.split(':')[0]),
      ['failure 0', 'failure 10', 'failure 0', 'failure 20', 'failure 0', 'failure null', 'stop retries_exhausted'],
    );
  });

  test('stop() during the backoff wait ends at once', async () => {
    const d = dead();
    const c = new Component({ transports: [d], realm: 'realm1', retry: { initial_retry_delay: 60, max_retry_delay: 60, max_retries: -1 } });
    const started = c.start();
    await until(() => c.state === 'waiting', 2000, 'waiting');
    const t0 = Date.now();
    assert.deepEqual(await c.stop(), { reason: 'stopped' });
    assert.ok(Date.now() - t0 < 1000);
    await assert.rejects(started, { code: 'COMPONENT_ERR_STOPPED' });
    assert.equal(d.calls, 1);
  });

  test('stop() while connecting aborts the factory; a transport delivered late is closed', async () => {
    let signalSeen: AbortSignal | undefined;
    let closed = false;
    let deliver!: (t: WampTransport) => void;
    const c = new Component({
      transports: [
        (signal) => {
          signalSeen = signal;
          return new Promise<WampTransport>((resolve) => {
            deliver = resolve;
          });
        },
      ],
      realm: 'realm1',
    });
    const started = c.start();
    await until(() => signalSeen !== undefined, 2000, 'factory');
    assert.equal(c.state, 'connecting');
    const stopped = c.stop();
    assert.equal(signalSeen?.aborted, true);
    assert.deepEqual(await stopped, { reason: 'stopped' });
    await assert.rejects(started, { code: 'COMPONENT_ERR_STOPPED' });
    const [late] = createLocalTransportPair();
    const origClose = late.close.bind(late);
    late.close = (code, reason) => {
      closed = true;
      origClose(code, reason);
    };
    deliver(late);
    await until(() => closed, 1000, 'late transport closed');
  });

  test('a transport that never opens fails the attempt after connectTimeout', async () => {
    const rec = recorder();
    const c = new Component({
      transports: [() => new Promise<WampTransport>(() => {})],
      realm: 'realm1',
      connectTimeout: 50,
      retry: { ...FAST, max_retries: 0 },
      ...rec.hooks,
    });
    await assert.rejects(c.start(), (err: unknown) => {
      assert.ok(err instanceof ComponentError);
      assert.equal((err.cause as ComponentError).code, 'COMPONENT_ERR_CONNECT_TIMEOUT');
      return true;
    });
  });

  test('stop() while joining (the router never answers HELLO) cancels the join', async () => {
    const c = new Component({
      transports: [
        async () => {
          const [client, server] = createLocalTransportPair();
          server.open({ onMessage() {}, onProtocolError() {}, onClose() {} });
          return client;
        },
      ],
      realm: 'realm1',
    });
    const started = c.start();
    await until(() => c.state === 'joining', 2000, 'joining');
    assert.deepEqual(await c.stop(), { reason: 'stopped' });
    await assert.rejects(started, { code: 'COMPONENT_ERR_STOPPED' });
  });

  test('the application leaving the session ends the component (reason left)', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const rec = recorder();
    const c = new Component({ transports: [transports], realm: 'realm1', retry: FAST, ...rec.hooks });
    const s = await c.start();
    await s.leave();
    assert.deepEqual(await c.done, { reason: 'left' });
    assert.equal(transports.opened, 1);
    assert.deepEqual(rec.log.slice(1), ['leave wamp.close.normal', 'disconnect false', 'stop left']);
    await router.close();
  });

  test('a router GOODBYE (shutdown) is followed by a reconnect', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const rec = recorder();
    const c = new Component({ transports: [transports], realm: 'realm1', retry: FAST, ...rec.hooks });
    await c.start();
    const killer = await Session.join(await local(router)(new AbortController().signal), 'realm1');
    await killer.call('wamp.session.kill', [c.session?.id], { reason: 'wamp.close.killed' });
    await until(() => transports.opened === 2 && c.state === 'joined', 3000, 'rejoin');
    assert.ok(rec.log.some((l) => l.startsWith('leave wamp.close.killed')), rec.log.join('\n'));
    await c.stop();
    await killer.leave();
    await router.close();
  });

  test('a declared registration refused with procedure_already_exists is retried until it succeeds', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const holder = await Session.join(await local(router)(new AbortController().signal), 'realm1');
    const reg = await holder.register('com.example.single', () => 'holder');
    const transports = local(router);
    const rec = recorder();
    const c = new Component({
      transports: [transports],
      realm: 'realm1',
      retry: { ...FAST, max_retries: -1 },
      registrations: { 'com.example.single': () => 'component' },
      ...rec.hooks,
    });
    const started = c.start();
    await until(() => transports.opened >= 2, 3000, 'a retry');
    assert.match(rec.log[0] as string, /could not register com\.example\.single: .*procedure_already_exists/);
    assert.equal(c.session, null);
    await reg.unregister();
    await started;
    assert.equal((await holder.call('com.example.single')).args[0], 'component');
    // No onJoin for the refused sessions.
    assert.equal(rec.log.filter((l) => l.startsWith('join')).length, 1);
    await c.stop();
    await holder.leave();
    await router.close();
  });

  test('a declaration with an invalid URI is fatal', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const transports = local(router);
    const c = new Component({ transports: [transports], realm: 'realm1', retry: FAST, subscriptions: { 'com..bad#': () => {} } });
    await assert.rejects(c.start(), (err: unknown) => {
      assert.ok(err instanceof ComponentError);
      assert.equal(err.code, 'COMPONENT_ERR_DECLARATION');
      assert.equal(err.uri, 'wamp.error.invalid_uri');
      return true;
    });
    assert.equal(transports.opened, 1);
    await router.close();
  });

  test('hooks and listeners that throw go to onUserError; on() returns an unsubscribe', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const errors: unknown[] = [];
    const states: string[] = [];
    const c = new Component({
      transports: [local(router)],
      realm: 'realm1',
      onJoin() {
        throw new Error('onJoin failed');
      },
      onStateChange() {
        throw new Error('state hook failed');
      },
      onUserError: (e, ctx) => void errors.push(`${ctx.kind}: ${(e as Error).message}`),
    });
    const off = c.on('state', (s) => void states.push(s));
    c.on('join', () => {
      throw new Error('listener failed');
    });
    const s = await c.start();
    assert.equal(s.isOpen, true, 'the session stays after onJoin threw');
    off();
    await c.stop();
    assert.deepEqual(states, ['connecting', 'joining', 'joined']);
    assert.ok(errors.includes('hook: onJoin failed'));
    assert.ok(errors.includes('hook: listener failed'));
    assert.ok(errors.includes('hook: state hook failed'));
    await router.close();
  });

  test('retry schedule with injected timers and random: exact delays, nothing waits for real', async () => {
    const asked: number[] = [];
    const timers: ComponentTimers = {
      setTimeout(fn, ms) {
        // connectTimeout timers are armed and cleared; only backoff waits fire.
        if (ms !== 15_000) {
          asked.push(ms);
          queueMicrotask(fn);
        }
        return ms;
      },
      clearTimeout() {},
    };
    const c = new Component({
      transports: [dead()],
      realm: 'realm1',
      retry: { initial_retry_delay: 1, max_retry_delay: 10, retry_delay_growth: 2, retry_delay_jitter: 0.5, max_retries: 6 },
      random: () => 0.75, // +25 %
      timers,
    });
    const t0 = Date.now();
    await assert.rejects(c.start(), { code: 'COMPONENT_ERR_RETRIES_EXHAUSTED' });
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(asked, [1250, 2500, 5000, 10000, 10000, 10000]);
  });

  test('stop() before start(): start() rejects, done resolves', async () => {
    const c = new Component({ transports: [dead()], realm: 'realm1' });
    assert.deepEqual(await c.stop(), { reason: 'stopped' });
    await assert.rejects(c.start(), { code: 'COMPONENT_ERR_STOPPED' });
  });

  test('bad options are refused up front', () => {
    assert.throws(() => new Component({ transports: [], realm: 'realm1' }), RangeError);
    assert.throws(() => new Component({ transports: [42 as never], realm: 'realm1' }), RangeError);
    assert.throws(() => new Component({ transports: [dead()], realm: 'realm1', retry: { retry_delay_growth: 0.5 } }), /retry_delay_growth/);
  });

  test('an invalid realm URI is fatal', async () => {
    const d = local(new Router({ realms: [{ name: 'realm1' }] }));
    const c = new Component({ transports: [d], realm: 'not a uri!', retry: FAST });
    await assert.rejects(c.start(), { code: 'WAMP_ERR_INVALID_ARGUMENT' });
  });
});

describe('transport descriptors', () => {
  test('transportFromUrl: WebSocket, RawSocket TCP/TLS, Unix, errors', () => {
    assert.deepEqual(transportFromUrl('ws://127.0.0.1:8080/ws'), { url: 'ws://127.0.0.1:8080/ws' });
    assert.deepEqual(transportFromUrl('wss://example.com/ws'), { url: 'wss://example.com/ws' });
    assert.deepEqual(transportFromUrl('rs://localhost:9000'), { rawsocket: { host: 'localhost', port: 9000 }, serializer: 'json' });
    assert.deepEqual(transportFromUrl('rss://h:1', { serializer: 'msgpack' }), { rawsocket: { host: 'h', port: 1 }, serializer: 'msgpack', tls: true });
    assert.deepEqual(transportFromUrl('tcp://[::1]:9000'), { rawsocket: { host: '::1', port: 9000 }, serializer: 'json' });
    assert.deepEqual(transportFromUrl('unix:///run/wamp.sock'), { rawsocket: { path: '/run/wamp.sock' }, serializer: 'json' });
    assert.deepEqual(transportFromUrl('unix:/tmp/a%20b'), { rawsocket: { path: '/tmp/a b' }, serializer: 'json' });
    for (const bad of ['http://x/ws', 'rs://host', 'rs://host:99999', 'unix://relative', 'nonsense', 'ws://']) {
      assert.throws(() => transportFromUrl(bad), { code: 'WAMP_ERR_INVALID_ARGUMENT' }, bad);
    }
  });

  test('the default connector refuses RawSocket (fatal), and errors are classified', async () => {
    const err = await defaultTransportConnector({ rawsocket: { port: 1 } }, new AbortController().signal).then(
      () => null,
      (e: Error) => e,
    );
    assert.ok(err instanceof WampSessionError);
    assert.equal(isFatalComponentError(err), true);
    // No WebSocket to use is a setup error: fatal, not retried.
    const hasGlobal = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';
    const c = new Component({ transports: [{ url: 'ws://127.0.0.1:1/ws' }], realm: 'realm1', retry: FAST });
    if (!hasGlobal) {
      await assert.rejects(c.start(), { code: 'WAMP_ERR_INVALID_ARGUMENT' });
      assert.equal((await c.done).reason, 'fatal');
    } else {
      await assert.rejects(c.start(), { code: 'COMPONENT_ERR_RETRIES_EXHAUSTED' }); // nothing listens on port 1
    }
    assert.equal(isFatalComponentError(new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', 't')), false);
    assert.equal(isFatalComponentError(new WampSessionError('WAMP_ERR_JOIN_ABORTED', 'wamp.error.not_authorized', 'x')), true);
    assert.equal(isFatalComponentError(new WampSessionError('WAMP_ERR_JOIN_ABORTED', 'wamp.close.system_shutdown', 'x')), false);
    assert.equal(isFatalComponentError(new WampSessionError('WAMP_ERR_AUTHENTICATION', 'wamp.error.cannot_authenticate', 'x')), true);
  });
});

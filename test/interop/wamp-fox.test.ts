/**
 * Our WAMP Session against a real router nobody here wrote: fox-wamp (npm,
 * `wamp.2.json` over WebSocket only), over our own Node WebSocket client via
 * connectWebSocket, and side by side with two other clients on the same
 * router: Autobahn|JS and wampy.
 *
 * What fox-wamp does differently, and the tests assert as such:
 * - it sends `null` for empty Arguments/ArgumentsKw (we read them as absent
 *   with `acceptNullPayload`);
 * - a callee's ERROR reaches the caller as `wamp.error.callee_failure` with
 *   the callee's error URI as the only argument (the URI/args/kwargs round
 *   trip is covered by the unit tests instead);
 * - it announces neither call_canceling nor call_timeout and ignores CANCEL;
 * - `wamp.session.list` spreads the IDs over the positional results.
 *
 * Every test is bounded in time; the router listens on an ephemeral port and
 * is closed at the end, with every socket.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { WebSocket as NodeWebSocket } from '../../src/adapters/node/client.js';
import { serializers } from '../../src/wamp/serializers/index.js';
import { connectWebSocket, type ConnectWebSocketOptions, type WebSocketConstructor } from '../../src/wamp/transports/connect.js';
import {
  ApplicationError,
  InvocationResult,
  Session,
  WampSessionError,
  type EventDetails,
  type JoinOptions,
} from '../../src/wamp/session.js';

const require = createRequire(import.meta.url);

interface FoxServer {
  address(): AddressInfo;
  close(cb?: () => void): void;
  clients: Set<{ terminate(): void }>;
  once(event: 'listening', cb: () => void): void;
  once(event: 'connection', cb: (ws: unknown, req: { headers: Record<string, string | undefined> }) => void): void;
}
interface FoxRouterCtor {
  new (): { listenWAMP(options: { port: number; host?: string }): FoxServer };
}

const FoxRouter = require('fox-wamp') as FoxRouterCtor;
const WsWebSocket = require('ws') as unknown;

// Our Node client must fit the connector's constructor type as it is.
const OurWebSocket: WebSocketConstructor = NodeWebSocket;

const T = { timeout: 15_000 };

let server: FoxServer;
let url: string;
const sessions: Session[] = [];
const userErrors: unknown[] = [];

before(async () => {
  server = new FoxRouter().listenWAMP({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', r));
  url = `ws://127.0.0.1:${server.address().port}/`;
});

after(async () => {
  await Promise.all(sessions.map((s) => s.leave()));
  for (const c of server.clients) c.terminate();
  await new Promise<void>((r) => server.close(() => r()));
});

const CONNECT: ConnectWebSocketOptions = { WebSocket: OurWebSocket, protocols: ['wamp.2.json'], acceptNullPayload: true, timeout: 5000 };

async function ours(options: JoinOptions = {}, connect: ConnectWebSocketOptions = {}): Promise<Session> {
  const transport = await connectWebSocket(url, { ...CONNECT, ...connect });
  const s = await Session.join(transport, 'realm1', { timeout: 5000, onUserError: (e) => userErrors.push(e), ...options });
  sessions.push(s);
  return s;
}

function within<T>(p: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

describe('our session with fox-wamp', () => {
  test('connectWebSocket offering CBOR, MessagePack, JSON gets wamp.2.json; join; leave with GOODBYE', T, async () => {
    const transport = await connectWebSocket(url, {
      WebSocket: OurWebSocket,
      serializers: [serializers.cbor, serializers.msgpack, serializers.json],
      acceptNullPayload: true,
    });
    assert.equal(transport.info.protocol, 'wamp.2.json');
    const s = await Session.join(transport, 'realm1');
    assert.ok(s.id > 0);
    assert.equal(s.authmethod, 'anonymous');
    assert.equal(s.supports('dealer', 'progressive_call_results'), true);
    assert.equal(s.supports('broker', 'publisher_exclusion'), true);
    const info = await within(s.leave('wamp.close.normal', 'done'));
    assert.deepEqual([info.reason, info.initiator, info.error], ['wamp.close.normal', 'local', undefined]);
    // The WebSocket closing handshake follows the GOODBYE handshake.
    for (let i = 0; i < 200 && transport.isOpen; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(transport.isOpen, false);
  });

  test('RPC between two of our sessions: args, kwargs, async handlers, unregister', T, async () => {
    const callee = await ours();
    const caller = await ours();
    const reg = await callee.register('com.fox.add', async (args, kwargs) => {
      await new Promise((r) => setTimeout(r, 1));
      return (args[0] as number) + (args[1] as number) + ((kwargs.extra as number | undefined) ?? 0);
    });
    assert.deepEqual((await within(caller.call('com.fox.add', [2, 3]))).args, [5]);
    assert.deepEqual((await within(caller.call('com.fox.add', [2, 3], { extra: 10 }))).args, [15]);
    await within(reg.unregister());
    await assert.rejects(caller.call('com.fox.add', [1, 1]), (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.no_such_procedure');
  });

  test('progressive call results through fox: async iterable and onProgress', T, async () => {
    const callee = await ours();
    const caller = await ours();
    await callee.register('com.fox.count', async (args, _kw, d) => {
      assert.equal(d.receive_progress, true);
      for (let i = 0; i < (args[0] as number); i++) await d.sendProgress!([i]);
      return 'done';
    });
    const pc = caller.callProgressive('com.fox.count', [4]);
    const got: unknown[] = [];
    await within(
      (async () => {
        for await (const r of pc) got.push(r.args[0]);
      })(),
    );
    assert.deepEqual(got, [0, 1, 2, 3]);
    assert.deepEqual((await pc.result).args, ['done']);
    const seen: unknown[] = [];
    const final = await within(caller.call('com.fox.count', [2], {}, { onProgress: (r) => seen.push(r.args[0]) }));
    assert.deepEqual([seen, final.args], [[0, 1], ['done']]);
  });

  test('PubSub between our sessions: acknowledged publish, details, null payloads, publisher exclusion', T, async () => {
    const sub = await ours();
    const pub = await ours();
    const events: [unknown[], Record<string, unknown>, EventDetails][] = [];
    let arrived!: () => void;
    const two = new Promise<void>((r) => (arrived = r));
    await sub.subscribe('com.fox.news', (a, k, d) => {
      events.push([a, k, d]);
      if (events.length === 2) arrived();
    });
    const publication = await within(pub.publish('com.fox.news', ['hello'], { lang: 'en' }, { acknowledge: true }));
    assert.ok(publication.id > 0);
    await pub.publish('com.fox.news'); // fox sends this EVENT with null args and kwargs
    await within(two);
    assert.deepEqual([events[0]![0], events[0]![1]], [['hello'], { lang: 'en' }]);
    assert.equal(events[0]![2].topic, 'com.fox.news');
    assert.equal(events[0]![2].publisher, pub.id);
    assert.equal(events[0]![2].publication, publication.id);
    assert.deepEqual([events[1]![0], events[1]![1]], [[], {}]);

    // A publisher subscribed to its own topic: excluded by default, included with exclude_me: false.
    const self: unknown[] = [];
    let selfArrived!: () => void;
    const selfEvent = new Promise<void>((r) => (selfArrived = r));
    await pub.subscribe('com.fox.self', (a) => {
      self.push(a[0]);
      selfArrived();
    });
    await pub.publish('com.fox.self', ['excluded'], {}, { acknowledge: true });
    await pub.publish('com.fox.self', ['included'], {}, { acknowledge: true, exclude_me: false });
    await within(selfEvent);
    assert.deepEqual(self, ['included']);
  });

  test('errors through fox: unknown procedure; callee errors arrive as callee_failure without our internals', T, async () => {
    const callee = await ours();
    const caller = await ours();
    await assert.rejects(caller.call('com.fox.nothing'), (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.no_such_procedure');
    await callee.register('com.fox.app_error', () => {
      throw new ApplicationError('com.fox.invalid', ['why']);
    });
    await callee.register('com.fox.bug', () => {
      throw new Error('secret internal detail');
    });
    const before = userErrors.length;
    const e1 = await caller.call('com.fox.app_error').then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(e1 instanceof ApplicationError);
    assert.equal(e1.uri, 'wamp.error.callee_failure');
    assert.deepEqual(e1.args, ['com.fox.invalid']);
    const e2 = await caller.call('com.fox.bug').then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(e2 instanceof ApplicationError);
    assert.deepEqual(e2.args, ['wamp.error.runtime_error']);
    assert.doesNotMatch(JSON.stringify([e2.args, e2.kwargs, e2.details]), /secret/);
    assert.equal(userErrors.length, before + 1, 'the callee app heard about its own bug');
  });

  test('canceling against a dealer without call_canceling: rejects locally, the late result is dropped', T, async () => {
    const callee = await ours();
    const caller = await ours();
    assert.equal(caller.supports('dealer', 'call_canceling'), false);
    let finish!: () => void;
    const running = new Promise<void>((r) => (finish = r));
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    await callee.register('com.fox.slow', async () => {
      started();
      await running;
      return 'late';
    });
    const ac = new AbortController();
    const p = caller.call('com.fox.slow', [], {}, { signal: ac.signal });
    await within(startedP);
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_CANCELED');
    finish();
    // The late RESULT arrives and is dropped; the session stays usable.
    await callee.register('com.fox.ping', () => 'pong');
    assert.deepEqual((await within(caller.call('com.fox.ping'))).args, ['pong']);
    assert.equal(caller.isOpen, true);
  });

  test('connectWebSocket passes headers to our Node WebSocket (the upgrade request carries them)', T, async () => {
    const seen = new Promise<Record<string, string | undefined>>((r) => server.once('connection', (_ws, req) => r(req.headers)));
    const s = await ours({}, { headers: { 'x-app-token': 'abc123' } });
    assert.equal((await within(seen))['x-app-token'], 'abc123');
    assert.equal(s.isOpen, true);
  });

  test('meta API: session count and list include our sessions', T, async () => {
    const s = await ours();
    const count = await within(s.meta.sessionCount());
    const list = await within(s.meta.sessionList());
    assert.ok(count >= 1);
    assert.ok(list.includes(s.id));
  });

  test('connectWebSocket failures: connection refused, no common subprotocol', T, async () => {
    const closed = new FoxRouter().listenWAMP({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => closed.once('listening', r));
    const deadUrl = `ws://127.0.0.1:${closed.address().port}/`;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(
      connectWebSocket(deadUrl, { WebSocket: OurWebSocket, timeout: 3000 }),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_CONNECT',
    );
    await assert.rejects(
      connectWebSocket(url, { WebSocket: OurWebSocket, serializers: [serializers.msgpack], timeout: 3000 }),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_CONNECT',
    );
    await assert.rejects(
      connectWebSocket(url, { WebSocket: OurWebSocket, protocols: ['chat'] }),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_INVALID_ARGUMENT',
    );
    await assert.rejects(
      connectWebSocket(url, { WebSocket: OurWebSocket, signal: AbortSignal.abort() }),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_CONNECT',
    );
  });
});

// ---------------------------------------------------------------- Autobahn|JS

interface AbSession {
  id: number;
  register(p: string, fn: (args: unknown[], kwargs: Record<string, unknown>, details: Record<string, unknown>) => unknown): Promise<unknown>;
  call(p: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
  subscribe(t: string, fn: (args: unknown[], kwargs: Record<string, unknown>, details: Record<string, unknown>) => void): Promise<unknown>;
  publish(t: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
}
interface AbConnection {
  onopen: (s: AbSession) => void;
  onclose: (reason: string) => boolean;
  open(): void;
  close(): void;
}
interface AutobahnModule {
  Connection: new (o: Record<string, unknown>) => AbConnection;
  Result: new (args: unknown[], kwargs: Record<string, unknown>) => unknown;
  Error: new (uri: string, args?: unknown[], kwargs?: Record<string, unknown>) => unknown;
}

describe('Autobahn|JS and our session on the same fox-wamp router', () => {
  const autobahn = require('autobahn') as AutobahnModule;
  let conn: AbConnection;
  let ab: AbSession;

  before(async () => {
    conn = new autobahn.Connection({ url, realm: 'realm1', max_retries: 0, protocols: ['wamp.2.json'] });
    ab = await within(
      new Promise<AbSession>((resolve, reject) => {
        conn.onopen = resolve;
        conn.onclose = (reason) => {
          reject(new Error(`autobahn closed: ${reason}`));
          return true;
        };
        conn.open();
      }),
      5000,
      'Autobahn|JS join',
    );
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      conn.onclose = () => {
        resolve();
        return true;
      };
      conn.close();
      setTimeout(resolve, 2000);
    });
  });

  test('Autobahn|JS registers, we call (args, kwargs, result with kwargs)', T, async () => {
    await ab.register('com.ab.greet', (args, kwargs) => new autobahn.Result([`hello ${String(args[0])}`], { polite: kwargs.polite }));
    const s = await ours();
    const r = await within(s.call('com.ab.greet', ['world'], { polite: true }));
    assert.deepEqual([r.args, r.kwargs], [['hello world'], { polite: true }]);
  });

  test('we register, Autobahn|JS calls (plain value and InvocationResult with kwargs)', T, async () => {
    const s = await ours();
    await s.register('com.ours.mul', (args) => (args[0] as number) * (args[1] as number));
    await s.register('com.ours.split', (args) => {
      const [a, b] = String(args[0]).split(' ');
      return new InvocationResult([a, b], { parts: 2 });
    });
    assert.equal(await within(ab.call('com.ours.mul', [6, 7])), 42);
    const r = (await within(ab.call('com.ours.split', ['x y']))) as { args: unknown[]; kwargs: Record<string, unknown> };
    assert.deepEqual([r.args, r.kwargs], [['x', 'y'], { parts: 2 }]);
  });

  test('progressive results both ways: Autobahn|JS streams to our callProgressive; we stream to Autobahn|JS', T, async () => {
    await ab.register('com.ab.count', (args, _kwargs, details) => {
      const progress = details.progress as ((a: unknown[]) => void) | undefined;
      assert.equal(typeof progress, 'function');
      for (let i = 0; i < (args[0] as number); i++) progress!([i]);
      return 'ab done';
    });
    const s = await ours();
    const pc = s.callProgressive('com.ab.count', [3]);
    const got: unknown[] = [];
    await within(
      (async () => {
        for await (const r of pc) got.push(r.args[0]);
      })(),
    );
    assert.deepEqual([got, (await pc.result).args], [[0, 1, 2], ['ab done']]);

    await s.register('com.ours.count', async (args, _kw, d) => {
      for (let i = 0; i < (args[0] as number); i++) await d.sendProgress!([i * 10]);
      return 'ours done';
    });
    const progress: unknown[] = [];
    const abCall = ab.call('com.ours.count', [3], {}, { receive_progress: true }) as Promise<unknown> & {
      then(ok: (v: unknown) => unknown, err: (e: unknown) => unknown, onProgress: (p: unknown) => void): Promise<unknown>;
    };
    const final = await within(
      new Promise((resolve, reject) => {
        void abCall.then(resolve, reject, (p: unknown) => progress.push(p));
      }),
    );
    assert.equal(final, 'ours done');
    assert.deepEqual(progress, [0, 10, 20]);
  });

  test('we publish, Autobahn|JS receives; Autobahn|JS publishes, we receive', T, async () => {
    const s = await ours();
    const abGot = new Promise<[unknown[], Record<string, unknown>]>((resolve) => {
      void ab.subscribe('com.mixed.ab_listens', (args, kwargs) => resolve([args, kwargs]));
    });
    await new Promise((r) => setTimeout(r, 50)); // let SUBSCRIBE reach the router
    await s.publish('com.mixed.ab_listens', [1, 'two'], { three: 3 }, { acknowledge: true });
    assert.deepEqual(await within(abGot), [[1, 'two'], { three: 3 }]);
    const oursGot = new Promise<[unknown[], Record<string, unknown>]>((resolve) => {
      void s.subscribe('com.mixed.we_listen', (args, kwargs) => resolve([args, kwargs]));
    });
    await new Promise((r) => setTimeout(r, 50));
    await ab.publish('com.mixed.we_listen', ['from autobahn'], { ok: true }, { acknowledge: true });
    assert.deepEqual(await within(oursGot), [['from autobahn'], { ok: true }]);
  });
});

// ---------------------------------------------------------------------- wampy

interface WampyEvent {
  argsList?: unknown[];
  argsDict?: Record<string, unknown>;
  details: Record<string, unknown>;
}
interface WampyInstance {
  connect(): Promise<unknown>;
  disconnect(): Promise<unknown>;
  subscribe(t: string, fn: (e: WampyEvent) => void): Promise<unknown>;
  register(p: string, fn: (e: WampyEvent) => unknown): Promise<unknown>;
  call(p: string, payload?: unknown): Promise<{ argsList?: unknown[]; argsDict?: Record<string, unknown> }>;
}

describe('wampy and our session on the same fox-wamp router', () => {
  let w: WampyInstance;

  before(async () => {
    const { Wampy } = (await import('wampy')) as unknown as { Wampy: new (url: string, o: Record<string, unknown>) => WampyInstance };
    w = new Wampy(url, { realm: 'realm1', ws: WsWebSocket, autoReconnect: false });
    await within(w.connect(), 5000, 'wampy join');
  });

  after(async () => {
    await within(w.disconnect(), 3000, 'wampy leave').catch(() => {});
  });

  test('we publish, wampy receives args and kwargs', T, async () => {
    const got = new Promise<WampyEvent>((resolve) => {
      void w.subscribe('com.wampy.listens', resolve);
    });
    await new Promise((r) => setTimeout(r, 50));
    const s = await ours();
    await s.publish('com.wampy.listens', ['a', 1], { b: true }, { acknowledge: true });
    const e = await within(got);
    assert.deepEqual([e.argsList, e.argsDict], [['a', 1], { b: true }]);
  });

  test('wampy registers, we call; we register, wampy calls', T, async () => {
    await w.register('com.wampy.echo', (e) => ({ argsList: e.argsList, argsDict: { echoed: true } }));
    const s = await ours();
    const r = await within(s.call('com.wampy.echo', ['ping']));
    assert.deepEqual([r.args, r.kwargs], [['ping'], { echoed: true }]);
    await s.register('com.ours.upper', (args) => String(args[0]).toUpperCase());
    const res = await within(w.call('com.ours.upper', { argsList: ['shout'] }));
    assert.deepEqual(res.argsList, ['SHOUT']);
  });
});

test('no user errors beyond the expected one', () => {
  assert.equal(userErrors.length, 1);
});

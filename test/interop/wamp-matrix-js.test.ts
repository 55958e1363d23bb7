/**
 * Interop matrix, the JavaScript clients nobody here wrote — Autobahn|JS
 * 22.11.1 and wampy 8 (npm) — × our client, on ONE of our routers
 * (`Router.listen`, port 0), for json, msgpack and cbor (neither has a
 * batched mode). Each side takes both roles: our caller → their callee and
 * theirs → ours, their publisher → our subscriber and ours → theirs.
 * Covered: args/kwargs with nested structures, unicode, binary, integers up
 * to ±2^53, application errors with URI+args+kwargs both ways, progressive
 * results both ways, call cancel, pattern-based registrations and
 * subscriptions, publisher exclusion (exclude_me, exclude) and acknowledge.
 *
 * What the peers do not do, and the tests assert as such:
 * - binary over JSON: neither implements WAMP's "\0"+base64 convention
 *   (they JSON.stringify a Uint8Array as a dict), so the JSON payload has no bytes;
 * - their callees announce no call_canceling and ignore INTERRUPT: our
 *   cancel rejects locally, their handler runs to its end;
 * - wampy never sends `exclude_me: false` (it only copies a truthy value),
 *   so a wampy publisher never receives its own event.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Router } from '../../src/router/server.js';
import { WebSocket as NodeWebSocket } from '../../src/adapters/node/client.js';
import { connectWebSocket } from '../../src/wamp/transports/connect.js';
import { serializers } from '../../src/wamp/serializers/index.js';
import { ApplicationError, InvocationResult, Session, WampSessionError, type EventDetails } from '../../src/wamp/session.js';
import type { WampDict, WampList } from '../../src/wamp/uri.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the peers ship no (usable) types
type Any = any;
const autobahn: Any = require('autobahn');
const WsWebSocket: unknown = require('ws');

const FORMATS = ['json', 'msgpack', 'cbor'] as const;
type Format = (typeof FORMATS)[number];
const T = { timeout: 20_000 };

const BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
function payload(binary: boolean): { args: WampList; kwargs: WampDict } {
  return {
    args: [
      { nested: { list: [1, 2.5, null, true, false, 'x', { deep: [[], {}] }] } },
      'unicode é€😀 日本語 a\u0000b',
      ...(binary ? [BYTES] : []),
      2 ** 53,
      -(2 ** 53),
      2 ** 53 - 1,
      0,
      -1,
      1.5,
      [],
      {},
    ],
    kwargs: { big: 2 ** 53, text: 'ünïcödé', empty: {}, ...(binary ? { bin: new Uint8Array([0, 1, 255]) } : {}) },
  };
}

/** Bytes compare as bytes (Buffer vs Uint8Array). */
function norm(v: unknown): unknown {
  // Autobahn|JS's CBOR decoder gives integers beyond 2^53 - 1 as BigInt: same value.
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

function within<T>(p: Promise<T>, ms = 8000, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

async function until<T>(fn: () => T, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------
// One adapter per foreign client, so every case runs against both.

interface Norm {
  args: WampList;
  kwargs: WampDict;
}
interface CalleeDetails {
  procedure?: string;
  progress?: (args: WampList, kwargs: WampDict) => void;
}
interface Foreign {
  readonly id: number;
  /** Their JSON carries no binary (no "\0"+base64). */
  readonly binary: boolean;
  /** They send `exclude_me: false`. */
  readonly excludeMeFalse: boolean;
  /** Their callee announces progressive_call_results (else the dealer does not ask it for progress). */
  readonly progressiveCallee: boolean;
  register(uri: string, fn: (args: WampList, kwargs: WampDict, d: CalleeDetails) => unknown, match?: string): Promise<void>;
  /** What a handler returns to send args and kwargs. */
  result(args: WampList, kwargs: WampDict): unknown;
  /** What a handler throws to send an application error. */
  error(uri: string, args: WampList, kwargs: WampDict): unknown;
  /** Rejects with `{ uri, args, kwargs }`. */
  call(uri: string, args: WampList, kwargs: WampDict, onProgress?: (r: Norm) => void): Promise<Norm>;
  /** Calls, cancels after `ms`, and tells how the call ended. */
  callAndCancel(uri: string, ms: number): Promise<string>;
  subscribe(topic: string, fn: (args: WampList, kwargs: WampDict, details: WampDict) => void, match?: string): Promise<void>;
  publish(topic: string, args: WampList, kwargs: WampDict, options: WampDict): Promise<number | undefined>;
  close(): Promise<void>;
}

function abNorm(v: Any): Norm {
  if (v instanceof autobahn.Result) return { args: v.args ?? [], kwargs: v.kwargs ?? {} };
  return { args: v === null || v === undefined ? [] : [v], kwargs: {} };
}

async function autobahnPeer(url: string, format: Format): Promise<Foreign> {
  const ser = { json: 'JSONSerializer', msgpack: 'MsgpackSerializer', cbor: 'CBORSerializer' }[format];
  const connection = new autobahn.Connection({ url, realm: 'realm1', serializers: [new autobahn.serializer[ser]()], max_retries: 0, retry_if_unreachable: false });
  const session: Any = await within(
    new Promise((resolve, reject) => {
      connection.onopen = resolve;
      connection.onclose = (reason: string) => {
        reject(new Error(`Autobahn|JS closed: ${reason}`));
        return true;
      };
      connection.open();
    }),
    5000,
    'Autobahn|JS join',
  );
  return {
    id: session.id,
    binary: format !== 'json',
    excludeMeFalse: true,
    progressiveCallee: true,
    async register(uri, fn, match) {
      await session.register(
        uri,
        (args: Any, kwargs: Any, details: Any) =>
          fn(args ?? [], kwargs ?? {}, { procedure: details.procedure, progress: details.progress ? (a, k) => details.progress(a, k) : undefined }),
        match ? { match } : undefined,
      );
    },
    result: (args, kwargs) => new autobahn.Result(args, kwargs),
    error: (uri, args, kwargs) => new autobahn.Error(uri, args, kwargs),
    call: (uri, args, kwargs, onProgress) =>
      new Promise((resolve, reject) => {
        session.call(uri, args, kwargs, onProgress ? { receive_progress: true } : {}).then(
          (v: Any) => resolve(abNorm(v)),
          (e: Any) => reject({ uri: e.error, args: e.args, kwargs: e.kwargs }),
          (p: Any) => onProgress?.(abNorm(p)),
        );
      }),
    async callAndCancel(uri, ms) {
      const p = session.call(uri);
      // Not killnowait: Autobahn|JS 22.11.1 then forgets the call at once, and the
      // dealer's ERROR wamp.error.canceled (which the spec has it send right away)
      // makes it drop the connection ("CALL-ERROR received for non-pending request").
      setTimeout(() => p.cancel({ mode: 'kill' }), ms);
      return p.then(
        () => 'resolved',
        (e: Any) => `rejected: ${e?.error ?? e?.message}`,
      );
    },
    async subscribe(topic, fn, match) {
      await session.subscribe(topic, (args: Any, kwargs: Any, details: Any) => fn(args ?? [], kwargs ?? {}, { topic: details.topic, publisher: details.publisher, publication: details.publication }), match ? { match } : undefined);
    },
    async publish(topic, args, kwargs, options) {
      const pub = await session.publish(topic, args, kwargs, options);
      return pub?.id;
    },
    close: () =>
      new Promise<void>((resolve) => {
        connection.onclose = () => {
          resolve();
          return true;
        };
        connection.close();
        setTimeout(resolve, 2000).unref();
      }),
  };
}

async function wampyPeer(url: string, format: Format): Promise<Foreign> {
  const { Wampy } = (await import('wampy')) as Any;
  const serializer =
    format === 'json' ? undefined : format === 'msgpack' ? new ((await import('wampy/MsgpackSerializer.js')) as Any).MsgpackSerializer() : new ((await import('wampy/CborSerializer.js')) as Any).CborSerializer();
  const w: Any = new Wampy(url, { realm: 'realm1', ws: WsWebSocket, autoReconnect: false, ...(serializer ? { serializer } : {}) });
  await within(w.connect(), 5000, 'wampy join');
  const toNorm = (r: Any): Norm => ({ args: r?.argsList ?? [], kwargs: r?.argsDict ?? {} });
  return {
    id: Number(w.getSessionId()),
    binary: format !== 'json',
    excludeMeFalse: false,
    progressiveCallee: false,
    async register(uri, fn, match) {
      await w.register(
        uri,
        (e: Any) =>
          fn(e.argsList ?? [], e.argsDict ?? {}, {
            procedure: e.details?.procedure,
            progress: e.details?.receive_progress ? (a, k) => e.result_handler({ argsList: a, argsDict: k, options: { progress: true } }) : undefined,
          }),
        match ? { match } : undefined,
      );
    },
    result: (args, kwargs) => ({ argsList: args, argsDict: kwargs }),
    error: (uri, args, kwargs) => ({ error: uri, argsList: args, argsDict: kwargs }),
    async call(uri, args, kwargs, onProgress) {
      try {
        return toNorm(await w.call(uri, { argsList: args, argsDict: kwargs }, onProgress ? { progress_callback: (r: Any) => onProgress(toNorm(r)) } : undefined));
      } catch (e: Any) {
        throw { uri: e.errorUri, args: e.argsList, kwargs: e.argsDict };
      }
    },
    async callAndCancel(uri, ms) {
      const p = w.call(uri);
      const reqId = w.getOpStatus().reqId;
      setTimeout(() => w.cancel(reqId, { mode: 'killnowait' }), ms);
      return p.then(
        () => 'resolved',
        (e: Any) => `rejected: ${e?.error ?? e?.message}`,
      );
    },
    async subscribe(topic, fn, match) {
      await w.subscribe(topic, (e: Any) => fn(e.argsList ?? [], e.argsDict ?? {}, e.details ?? {}), match ? { match } : undefined);
    },
    async publish(topic, args, kwargs, options) {
      const r = await w.publish(topic, { argsList: args, argsDict: kwargs }, options);
      // wampy's MessagePack decoder gives 64-bit integers as BigInt.
      return r?.publicationId === undefined ? undefined : Number(r.publicationId);
    },
    close: () => within(w.disconnect(), 3000, 'wampy leave').then(() => undefined, () => undefined),
  };
}

const PEERS: [string, (url: string, f: Format) => Promise<Foreign>][] = [
  ['Autobahn|JS', autobahnPeer],
  ['wampy', wampyPeer],
];

// ---------------------------------------------------------------------------

describe('interop matrix: Autobahn|JS and wampy × our client on our router', () => {
  let router: Router;
  let url: string;
  const closers: (() => Promise<unknown>)[] = [];
  const userErrors: unknown[] = [];

  before(async () => {
    router = new Router({ realms: [{ name: 'realm1' }] });
    const { port } = await router.listen({ port: 0, static: false });
    url = `ws://127.0.0.1:${port}/ws`;
  });

  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
    await router.close();
  });

  for (const [peerName, makePeer] of PEERS) {
    for (const format of FORMATS) {
      describe(`${peerName}, wamp.2.${format}`, () => {
        let them: Foreign;
        let ours: Session;
        const tag = `${peerName === 'wampy' ? 'wy' : 'ab'}_${format}`;
        let p: { args: WampList; kwargs: WampDict };

        before(async () => {
          const transport = await connectWebSocket(url, { WebSocket: NodeWebSocket, serializers: [serializers[format]], timeout: 5000 });
          assert.equal(transport.info.protocol, `wamp.2.${format}`);
          ours = await Session.join(transport, 'realm1', { timeout: 5000, onUserError: (e) => userErrors.push(e) });
          closers.push(() => within(ours.leave(), 3000));
          them = await makePeer(url, format);
          closers.push(() => them.close());
          p = payload(them.binary);
        });

        test('our caller → their callee: nested, unicode, binary, ±2^53 round-trip', T, async () => {
          const seen: Norm[] = [];
          await them.register(`them.${tag}.echo`, (args, kwargs) => {
            seen.push({ args, kwargs });
            return them.result(args, kwargs);
          });
          const r = await within(ours.call(`them.${tag}.echo`, p.args, p.kwargs));
          assert.deepEqual(norm([r.args, r.kwargs]), norm([p.args, p.kwargs]));
          assert.deepEqual(norm([seen[0]!.args, seen[0]!.kwargs]), norm([p.args, p.kwargs]), 'what their handler got');
          if (them.binary) assert.ok(r.args[2] instanceof Uint8Array);
        });

        test('their caller → our callee: the same payload', T, async () => {
          const seen: Norm[] = [];
          await ours.register(`ours.${tag}.echo`, (args, kwargs) => {
            seen.push({ args, kwargs });
            return new InvocationResult(args, kwargs);
          });
          const r = await within(them.call(`ours.${tag}.echo`, p.args, p.kwargs));
          assert.deepEqual(norm([r.args, r.kwargs]), norm([p.args, p.kwargs]));
          assert.deepEqual(norm([seen[0]!.args, seen[0]!.kwargs]), norm([p.args, p.kwargs]));
          if (them.binary) assert.ok(seen[0]!.args[2] instanceof Uint8Array && seen[0]!.kwargs.bin instanceof Uint8Array);
        });

        test('application errors with URI, args and kwargs, both ways', T, async () => {
          await them.register(`them.${tag}.fail`, () => {
            throw them.error('com.example.their_error', ['bad', 1], { code: 7, nested: { a: [1, 2] } });
          });
          const e = await ours.call(`them.${tag}.fail`).then(
            () => assert.fail('no error'),
            (err: unknown) => err,
          );
          assert.ok(e instanceof ApplicationError, String(e));
          assert.deepEqual([e.uri, e.args, e.kwargs], ['com.example.their_error', ['bad', 1], { code: 7, nested: { a: [1, 2] } }]);
          await ours.register(`ours.${tag}.fail`, () => {
            throw new ApplicationError('com.example.ours_error', ['bad', 2], { code: 8, nested: { b: 'c' } });
          });
          await assert.rejects(them.call(`ours.${tag}.fail`, [], {}), (err: unknown) => {
            assert.deepEqual(err, { uri: 'com.example.ours_error', args: ['bad', 2], kwargs: { code: 8, nested: { b: 'c' } } });
            return true;
          });
        });

        test('progressive results both ways', T, async () => {
          await them.register(`them.${tag}.progress`, (args, _kw, d) => {
            // wampy's callee announces no progressive_call_results: the dealer does not ask it for progress.
            assert.equal(typeof d.progress, them.progressiveCallee ? 'function' : 'undefined');
            for (let i = 0; i < (args[0] as number); i++) d.progress?.([i], { step: `t${i}` });
            return them.result(['done'], { final: true });
          });
          const pc = ours.callProgressive(`them.${tag}.progress`, [3]);
          const got: unknown[] = [];
          await within(
            (async () => {
              for await (const r of pc) got.push([r.args, r.kwargs]);
            })(),
          );
          assert.deepEqual(got, them.progressiveCallee ? [0, 1, 2].map((i) => [[i], { step: `t${i}` }]) : []);
          assert.deepEqual([(await pc.result).args, (await pc.result).kwargs], [['done'], { final: true }]);

          await ours.register(`ours.${tag}.progress`, async (args, _kw, d) => {
            for (let i = 0; i < (args[0] as number); i++) await d.sendProgress!([i], { step: `o${i}` });
            return new InvocationResult(['done'], { final: true });
          });
          const progress: Norm[] = [];
          const final = await within(them.call(`ours.${tag}.progress`, [3], {}, (r) => progress.push(r)));
          assert.deepEqual(progress, [0, 1, 2].map((i) => ({ args: [i], kwargs: { step: `o${i}` } })));
          assert.deepEqual(final, { args: ['done'], kwargs: { final: true } });
        });

        test('call cancel: theirs → our callee is interrupted; ours → their callee (no call_canceling) rejects locally', T, async () => {
          const interrupted: string[] = [];
          await ours.register(`ours.${tag}.forever`, (_a, _k, d) =>
            new Promise<void>((resolve) => {
              d.signal.addEventListener('abort', () => {
                interrupted.push((d.signal.reason as WampSessionError).uri);
                resolve();
              });
            }),
          );
          const outcome = await within(them.callAndCancel(`ours.${tag}.forever`, 150));
          assert.match(outcome, /^rejected/);
          await until(() => interrupted.length, (n) => n >= 1);
          assert.deepEqual(interrupted, ['wamp.error.canceled']);

          let finish!: () => void;
          const running = new Promise<void>((r) => (finish = r));
          let ended = false;
          await them.register(`them.${tag}.slow`, async () => {
            await running;
            ended = true;
            return them.result(['late'], {});
          });
          const ac = new AbortController();
          const call = ours.call(`them.${tag}.slow`, [], {}, { signal: ac.signal });
          await new Promise((r) => setTimeout(r, 100));
          ac.abort();
          await assert.rejects(call, (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_CANCELED');
          finish();
          await until(() => ended, (v) => v);
          assert.equal(ended, true, 'their handler ran to its end (no INTERRUPT support)');
          assert.deepEqual((await within(ours.call(`them.${tag}.echo`, ['still'], { ok: 1 }))).args, ['still']);
        });

        test('pattern-based registrations both ways (details.procedure)', T, async () => {
          await them.register(`them.${tag}.pre`, (_a, _k, d) => them.result(['prefix', d.procedure], {}), 'prefix');
          await them.register(`them.${tag}..wild`, (_a, _k, d) => them.result(['wildcard', d.procedure], {}), 'wildcard');
          assert.deepEqual((await within(ours.call(`them.${tag}.pre.x.y`))).args, ['prefix', `them.${tag}.pre.x.y`]);
          assert.deepEqual((await within(ours.call(`them.${tag}.q.wild`))).args, ['wildcard', `them.${tag}.q.wild`]);
          await ours.register(`ours.${tag}.pre`, (_a, _k, d) => new InvocationResult(['prefix', d.procedure], { x: 1 }), { match: 'prefix' });
          await ours.register(`ours.${tag}..wild`, (_a, _k, d) => new InvocationResult(['wildcard', d.procedure], { x: 1 }), { match: 'wildcard' });
          assert.deepEqual((await within(them.call(`ours.${tag}.pre.a.b`, [], {}))).args, ['prefix', `ours.${tag}.pre.a.b`]);
          assert.deepEqual((await within(them.call(`ours.${tag}.z.wild`, [], {}))).args, ['wildcard', `ours.${tag}.z.wild`]);
        });

        test('PubSub both ways with exact, prefix and wildcard subscriptions; acknowledge', T, async () => {
          const theirs: [string, Norm, WampDict][] = [];
          await them.subscribe(`ours.${tag}.news`, (a, k, d) => theirs.push(['exact', { args: a, kwargs: k }, d]));
          await them.subscribe(`ours.${tag}.pfx`, (a, k, d) => theirs.push(['prefix', { args: a, kwargs: k }, d]), 'prefix');
          await them.subscribe(`ours.${tag}..wild`, (a, k, d) => theirs.push(['wildcard', { args: a, kwargs: k }, d]), 'wildcard');
          const ids: number[] = [];
          for (const topic of [`ours.${tag}.news`, `ours.${tag}.pfx.a.b`, `ours.${tag}.c.wild`]) {
            ids.push((await within(ours.publish(topic, p.args, p.kwargs, { acknowledge: true, disclose_me: true }))).id);
          }
          await until(() => theirs.length, (n) => n >= 3);
          theirs.sort((a, b) => a[0].localeCompare(b[0]));
          assert.deepEqual(theirs.map((t) => t[0]), ['exact', 'prefix', 'wildcard']);
          for (const [, got, details] of theirs) {
            assert.deepEqual(norm([got.args, got.kwargs]), norm([p.args, p.kwargs]));
            // wampy's MessagePack decoder gives 64-bit integers (our session ID) as BigInt: same value.
            assert.equal(norm(details.publisher), ours.id, 'publisher disclosed');
          }
          assert.equal(theirs[1]![2].topic, `ours.${tag}.pfx.a.b`);
          assert.equal(theirs[2]![2].topic, `ours.${tag}.c.wild`);

          const mine: [string, Norm, EventDetails][] = [];
          await ours.subscribe(`them.${tag}.news`, (a, k, d) => mine.push(['exact', { args: a, kwargs: k }, d]));
          await ours.subscribe(`them.${tag}.pfx`, (a, k, d) => mine.push(['prefix', { args: a, kwargs: k }, d]), { match: 'prefix' });
          await ours.subscribe(`them.${tag}..wild`, (a, k, d) => mine.push(['wildcard', { args: a, kwargs: k }, d]), { match: 'wildcard' });
          const pubIds: (number | undefined)[] = [];
          for (const topic of [`them.${tag}.news`, `them.${tag}.pfx.a.b`, `them.${tag}.c.wild`]) {
            pubIds.push(await within(them.publish(topic, p.args, p.kwargs, { acknowledge: true })));
          }
          assert.ok(pubIds.every((id) => typeof id === 'number' && id >= 1), `acknowledged: ${pubIds.join(', ')}`);
          await until(() => mine.length, (n) => n >= 3);
          mine.sort((a, b) => a[0].localeCompare(b[0]));
          assert.deepEqual(mine.map((m) => [m[0], m[2].topic, m[2].publication]), [
            ['exact', `them.${tag}.news`, pubIds[0]],
            ['prefix', `them.${tag}.pfx.a.b`, pubIds[1]],
            ['wildcard', `them.${tag}.c.wild`, pubIds[2]],
          ]);
          for (const [, got] of mine) assert.deepEqual(norm([got.args, got.kwargs]), norm([p.args, p.kwargs]));
        });

        test('publisher exclusion: exclude_me both values, exclude by session ID, both ways', T, async () => {
          const topic = `shared.${tag}.excl`;
          const mine: unknown[] = [];
          const theirs: unknown[] = [];
          await ours.subscribe(topic, (a) => mine.push(a[0]));
          await them.subscribe(topic, (a) => theirs.push(a[0]));
          await within(ours.publish(topic, ['o1'], {}, { acknowledge: true }));
          await within(ours.publish(topic, ['o2'], {}, { acknowledge: true, exclude_me: false }));
          await within(ours.publish(topic, ['o3'], {}, { acknowledge: true, exclude_me: false, exclude: [them.id] }));
          await within(them.publish(topic, ['t1'], {}, { acknowledge: true }));
          await within(them.publish(topic, ['t2'], {}, { acknowledge: true, exclude_me: false }));
          await within(them.publish(topic, ['t3'], {}, { acknowledge: true, exclude_me: false, exclude: [ours.id] }));
          const theirCount = them.excludeMeFalse ? 4 : 2;
          await until(() => mine.length + theirs.length, (n) => n >= 4 + theirCount);
          await new Promise((r) => setTimeout(r, 100)); // nothing more arrives
          assert.deepEqual(mine.sort(), ['o2', 'o3', 't1', 't2']);
          // wampy drops exclude_me: false, so it never hears itself.
          assert.deepEqual(theirs.sort(), them.excludeMeFalse ? ['o1', 'o2', 't2', 't3'] : ['o1', 'o2']);
        });
      });
    }
  }

  test('no handler of ours failed', () => {
    assert.deepEqual(userErrors, []);
  });
});

/**
 * The caller role against a scripted router: CALL/RESULT/ERROR, options on
 * the wire, request ids, progressive call results (callback and async
 * iterable, bounded), progressive call invocations (openCall), canceling by
 * AbortSignal in each mode, timeouts, limits, payload passthru.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../../src/wamp/messages.js';
import { MAX_WAMP_ID } from '../../../src/wamp/uri.js';
import { ApplicationError, WampSessionError, type CallResult } from '../../../src/wamp/session.js';
import { allRouterFeatures, joined } from './session-fixture.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function rejectsWith(p: Promise<unknown>, code: string, uri?: string): Promise<WampSessionError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected a rejection with ${code}`),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof WampSessionError, `expected WampSessionError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (uri !== undefined) assert.equal(caught.uri, uri);
  return caught;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Router roles without some dealer features. */
function dealerWithout(...missing: string[]): Record<string, unknown> {
  const roles = allRouterFeatures() as { dealer: { features: Record<string, unknown> } };
  for (const f of missing) delete roles.dealer.features[f];
  return roles;
}

describe('call', () => {
  test('CALL carries procedure, args, kwargs; RESULT resolves with args, kwargs, details', async () => {
    const { session, router } = await joined();
    const p = session.call('com.example.add', [1, 2], { round: true });
    const call = await router.expect(MessageType.CALL);
    assert.equal(call.procedure, 'com.example.add');
    assert.deepEqual([call.args, call.kwargs, call.options], [[1, 2], { round: true }, {}]);
    router.send({ type: MessageType.RESULT, request: call.request, details: { x: 1 }, args: [3], kwargs: { exact: true } });
    assert.deepEqual(await p, { args: [3], kwargs: { exact: true }, details: { x: 1 }, progress: false });
  });

  test('an empty RESULT gives empty args and kwargs; no args means no Arguments on the wire', async () => {
    const { session, router } = await joined();
    const p = session.call('com.example.noop');
    const call = await router.expect(MessageType.CALL);
    assert.equal('args' in call, false);
    router.send({ type: MessageType.RESULT, request: call.request, details: {} });
    assert.deepEqual(await p, { args: [], kwargs: {}, details: {}, progress: false });
  });

  test('ERROR rejects with an ApplicationError carrying uri, args, kwargs and details', async () => {
    const { session, router } = await joined();
    const p = session.call('com.example.fail');
    const call = await router.expect(MessageType.CALL);
    router.send({
      type: MessageType.ERROR,
      requestType: MessageType.CALL,
      request: call.request,
      details: { callee: 5 },
      error: 'com.example.invalid',
      args: ['bad input'],
      kwargs: { field: 'x' },
    });
    const err = await p.then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationError);
    assert.deepEqual([err.uri, err.args, err.kwargs, err.details], ['com.example.invalid', ['bad input'], { field: 'x' }, { callee: 5 }]);
  });

  test('request ids are session-scoped and sequential across request types, from 1', async () => {
    const { session, router } = await joined();
    void session.call('com.example.a');
    void session.subscribe('com.example.t', () => {});
    void session.publish('com.example.t');
    void session.register('com.example.p', () => {});
    void session.call('com.example.b');
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await router.next());
    assert.deepEqual(
      sent.map((m) => [m.type, (m as { request: number }).request]),
      [
        [MessageType.CALL, 1],
        [MessageType.SUBSCRIBE, 2],
        [MessageType.PUBLISH, 3],
        [MessageType.REGISTER, 4],
        [MessageType.CALL, 5],
      ],
    );
  });

  test('request ids wrap from 2^53 to 1', async () => {
    const { session, router } = await joined();
    (session as unknown as { core: { lastId: number } }).core.lastId = MAX_WAMP_ID - 1;
    void session.call('com.example.a');
    void session.call('com.example.b');
    void session.call('com.example.c');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await router.expect(MessageType.CALL)).request);
    assert.deepEqual(ids, [MAX_WAMP_ID, 1, 2]);
  });

  test('wire options: disclose_me, timeout, rkey and x_ keys pass; local keys stay local', async () => {
    const { session, router } = await joined();
    const ac = new AbortController();
    void session.call('com.example.a', [], {}, {
      disclose_me: true,
      timeout: 5000,
      rkey: 'shard-1',
      x_trace: 'abc',
      x_nested: { a: [1] },
      signal: ac.signal,
      cancelMode: 'kill',
      onProgress: () => {},
    });
    const call = await router.expect(MessageType.CALL);
    assert.deepEqual(call.options, {
      disclose_me: true,
      timeout: 5000,
      rkey: 'shard-1',
      x_trace: 'abc',
      x_nested: { a: [1] },
      receive_progress: true,
    });
    router.send({ type: MessageType.RESULT, request: call.request, details: {} });
  });

  test('an invalid procedure URI or options reject at once and use no request id', async () => {
    const { session, router } = await joined();
    await rejectsWith(session.call('com..bad'), 'WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_uri');
    await rejectsWith(session.call('com.example.a', [], {}, { timeout: -1 }), 'WAMP_ERR_INVALID_ARGUMENT');
    await rejectsWith(session.call('com.example.a', 'x' as unknown as []), 'WAMP_ERR_INVALID_ARGUMENT');
    void session.call('com.example.a');
    assert.equal((await router.expect(MessageType.CALL)).request, 1);
  });

  test('a value the serializer cannot carry rejects WAMP_ERR_SERIALIZATION and the id is reused', async () => {
    const { session, router } = await joined();
    const err = await rejectsWith(session.call('com.example.a', [2n ** 64n]), 'WAMP_ERR_SERIALIZATION', 'wamp.error.invalid_payload');
    assert.equal((err.cause as { code?: string }).code, 'WAMP_ERR_SERIALIZATION');
    void session.call('com.example.a', [1]);
    assert.equal((await router.expect(MessageType.CALL)).request, 1, 'no gap in request ids');
    assert.equal(session.isOpen, true);
  });

  test('maxPendingCalls: calls beyond the limit reject WAMP_ERR_TOO_MANY_PENDING until one settles', async () => {
    const { session, router } = await joined({ maxPendingCalls: 2 });
    const a = session.call('com.example.a');
    void session.call('com.example.b');
    await rejectsWith(session.call('com.example.c'), 'WAMP_ERR_TOO_MANY_PENDING', 'wamp.error.unavailable');
    const first = await router.expect(MessageType.CALL);
    await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: first.request, details: {} });
    await a;
    void session.call('com.example.d');
    assert.equal((await router.expect(MessageType.CALL)).procedure, 'com.example.d');
  });
});

describe('progressive call results', () => {
  test('onProgress: receive_progress is set, progressive RESULTs are delivered in order, then the final', async () => {
    const { session, router } = await joined();
    const seen: CallResult[] = [];
    const p = session.call('com.example.stream', [], {}, { onProgress: (r) => seen.push(r) });
    const call = await router.expect(MessageType.CALL);
    assert.equal(call.options.receive_progress, true);
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [1] });
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [], kwargs: { two: 2 } });
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true } });
    router.send({ type: MessageType.RESULT, request: call.request, details: {}, args: ['done'] });
    const final = await p;
    assert.deepEqual(
      seen.map((r) => [r.args, r.kwargs, r.progress]),
      [
        [[1], {}, true],
        [[], { two: 2 }, true],
        [[], {}, true],
      ],
    );
    assert.deepEqual([final.args, final.progress], [['done'], false]);
  });

  test('an onProgress callback that throws goes to onUserError; the call goes on', async () => {
    const errors: unknown[] = [];
    const { session, router } = await joined({ onUserError: (e, ctx) => errors.push([String(e), ctx]) });
    const p = session.call('com.example.stream', [], {}, {
      onProgress: () => {
        throw new Error('consumer bug');
      },
    });
    const call = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [1] });
    router.send({ type: MessageType.RESULT, request: call.request, details: {}, args: [2] });
    assert.deepEqual((await p).args, [2]);
    assert.deepEqual(errors, [['Error: consumer bug', { kind: 'progress', uri: 'com.example.stream' }]]);
  });

  test('progressive RESULT for a call that did not ask for them is a protocol violation', async () => {
    const { session, router } = await joined();
    const p = session.call('com.example.x');
    const call = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true } });
    await rejectsWith(p, 'WAMP_ERR_PROTOCOL_VIOLATION');
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
  });

  test('callProgressive: iterate the progressive results, await result for the final one', async () => {
    const { session, router } = await joined();
    const pc = session.callProgressive('com.example.stream', ['q']);
    const call = await router.expect(MessageType.CALL);
    assert.equal(call.options.receive_progress, true);
    for (let i = 0; i < 5; i++) router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [i] });
    const got: unknown[] = [];
    const reading = (async () => {
      for await (const r of pc) got.push(r.args[0]);
    })();
    await tick();
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [5] });
    router.send({ type: MessageType.RESULT, request: call.request, details: {}, args: ['end'] });
    await reading;
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual((await pc.result).args, ['end']);
  });

  test('callProgressive: toReadableStream() reads the same results; canceling the stream cancels the call', async () => {
    const { session, router } = await joined();
    const pc = session.callProgressive('com.example.stream');
    const call = await router.expect(MessageType.CALL);
    for (let i = 0; i < 3; i++) router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [i] });
    router.send({ type: MessageType.RESULT, request: call.request, details: {}, args: ['end'] });
    const got: unknown[] = [];
    for await (const r of pc.toReadableStream()) got.push(r.args[0]);
    assert.deepEqual(got, [0, 1, 2]);
    assert.deepEqual((await pc.result).args, ['end']);

    const pc2 = session.callProgressive('com.example.stream');
    const call2 = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: call2.request, details: { progress: true }, args: [1] });
    const reader = pc2.toReadableStream().getReader();
    assert.deepEqual((await reader.read()).value?.args, [1]);
    await reader.cancel();
    assert.equal((await router.expect(MessageType.CANCEL)).request, call2.request);
    await rejectsWith(pc2.result, 'WAMP_ERR_CANCELED');
  });

  test('callProgressive: an ERROR ends the iteration with the ApplicationError', async () => {
    const { session, router } = await joined();
    const pc = session.callProgressive('com.example.stream');
    const call = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [1] });
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: 'com.example.broke' });
    const got: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of pc) got.push(r.args[0]);
      })(),
      (e: unknown) => e instanceof ApplicationError && e.uri === 'com.example.broke',
    );
    assert.deepEqual(got, [1]);
    await assert.rejects(pc.result, ApplicationError);
  });

  test('callProgressive: leaving the loop early cancels the call (CANCEL killnowait)', async () => {
    const { session, router } = await joined();
    const pc = session.callProgressive('com.example.stream');
    const call = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [1] });
    for await (const r of pc) {
      assert.deepEqual(r.args, [1]);
      break;
    }
    const cancel = await router.expect(MessageType.CANCEL);
    assert.deepEqual([cancel.request, cancel.options], [call.request, { mode: 'killnowait' }]);
    await rejectsWith(pc.result, 'WAMP_ERR_CANCELED', 'wamp.error.canceled');
    // The dealer's ERROR for the canceled call is expected and dropped.
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: 'wamp.error.canceled' });
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('callProgressive: a reader too far behind overflows the bounded buffer; the call is canceled', async () => {
    const { session, router } = await joined({ maxBufferedResults: 3 });
    const pc = session.callProgressive('com.example.firehose');
    const call = await router.expect(MessageType.CALL);
    for (let i = 0; i < 4; i++) router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [i] });
    assert.equal((await router.expect(MessageType.CANCEL)).options.mode, 'killnowait');
    const got: unknown[] = [];
    let error: unknown;
    try {
      for await (const r of pc) got.push(r.args[0]);
    } catch (e) {
      error = e;
    }
    assert.deepEqual(got, [0, 1, 2], 'what was buffered is still delivered');
    assert.ok(error instanceof WampSessionError && error.code === 'WAMP_ERR_BUFFER_OVERFLOW');
    await rejectsWith(pc.result, 'WAMP_ERR_BUFFER_OVERFLOW');
    // Further progressive results and the final answer are dropped, no violation.
    router.send({ type: MessageType.RESULT, request: call.request, details: { progress: true }, args: [9] });
    router.send({ type: MessageType.RESULT, request: call.request, details: {} });
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('callProgressive: cancel() and setup errors reject result without unhandled rejections', async () => {
    const { session, router } = await joined();
    const bad = session.callProgressive('bad uri');
    await rejectsWith(bad.result, 'WAMP_ERR_INVALID_ARGUMENT');
    const pc = session.callProgressive('com.example.x');
    await router.expect(MessageType.CALL);
    pc.cancel('skip');
    assert.equal((await router.expect(MessageType.CANCEL)).options.mode, 'skip');
    await rejectsWith(pc.result, 'WAMP_ERR_CANCELED');
  });
});

describe('canceling and timeouts', () => {
  for (const mode of ['skip', 'killnowait'] as const) {
    test(`AbortSignal, mode ${mode}: CANCEL sent, rejects WAMP_ERR_CANCELED at once; the late ERROR is dropped`, async () => {
      const { session, router } = await joined();
      const ac = new AbortController();
      const p = session.call('com.example.slow', [], {}, { signal: ac.signal, cancelMode: mode });
      const call = await router.expect(MessageType.CALL);
      ac.abort(new Error('user gave up'));
      const cancel = await router.expect(MessageType.CANCEL);
      assert.deepEqual([cancel.request, cancel.options], [call.request, { mode }]);
      const err = await rejectsWith(p, 'WAMP_ERR_CANCELED', 'wamp.error.canceled');
      assert.equal((err.cause as Error).message, 'user gave up');
      router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: 'wamp.error.canceled' });
      await router.expectNothing();
      assert.equal(session.isOpen, true);
    });
  }

  test('AbortSignal, mode kill: the call settles with what the dealer answers', async () => {
    const { session, router } = await joined();
    const ac = new AbortController();
    const p = session.call('com.example.slow', [], {}, { signal: ac.signal, cancelMode: 'kill' });
    const call = await router.expect(MessageType.CALL);
    ac.abort();
    assert.equal((await router.expect(MessageType.CANCEL)).options.mode, 'kill');
    let settled = false;
    void p.then(
      () => (settled = true),
      () => (settled = true),
    );
    await tick();
    assert.equal(settled, false, 'waits for the dealer');
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: 'wamp.error.canceled' });
    await assert.rejects(p, (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.canceled');
  });

  test('a dealer without call_canceling gets no CANCEL; the call rejects locally; its late RESULT is dropped', async () => {
    const { session, router } = await joined({}, { roles: dealerWithout('call_canceling') });
    const ac = new AbortController();
    const p = session.call('com.example.slow', [], {}, { signal: ac.signal, cancelMode: 'kill' });
    const call = await router.expect(MessageType.CALL);
    ac.abort();
    await rejectsWith(p, 'WAMP_ERR_CANCELED');
    await router.expectNothing();
    router.send({ type: MessageType.RESULT, request: call.request, details: {}, args: [1] });
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('an already aborted signal sends nothing', async () => {
    const { session, router } = await joined();
    await rejectsWith(session.call('com.example.x', [], {}, { signal: AbortSignal.abort() }), 'WAMP_ERR_CANCELED');
    await router.expectNothing();
  });

  test('timeout: CALL.Options.timeout and a local timer (dealer without call_timeout): WAMP_ERR_TIMEOUT + CANCEL', async () => {
    const { session, router } = await joined();
    const started = Date.now();
    const p = session.call('com.example.slow', [], {}, { timeout: 30 });
    const call = await router.expect(MessageType.CALL);
    assert.equal(call.options.timeout, 30);
    await rejectsWith(p, 'WAMP_ERR_TIMEOUT', 'wamp.error.timeout');
    assert.ok(Date.now() - started >= 25);
    assert.deepEqual((await router.expect(MessageType.CANCEL)).options, { mode: 'killnowait' });
  });

  test('timeout with a dealer that enforces it (call_timeout): its answer wins within the grace', async () => {
    const roles = allRouterFeatures() as { dealer: { features: Record<string, unknown> } };
    roles.dealer.features.call_timeout = true;
    const { session, router } = await joined({ timeoutGrace: 500 }, { roles });
    const p = session.call('com.example.slow', [], {}, { timeout: 10 });
    const call = await router.expect(MessageType.CALL);
    await new Promise((r) => setTimeout(r, 30));
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: call.request, details: {}, error: 'wamp.error.timeout' });
    await assert.rejects(p, (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.timeout');
    await router.expectNothing();
  });

  test('a RESULT in time clears the timer and the signal listener', async () => {
    const { session, router } = await joined();
    const ac = new AbortController();
    const p = session.call('com.example.quick', [], {}, { timeout: 40, signal: ac.signal });
    const call = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.RESULT, request: call.request, details: {}, args: [1] });
    await p;
    ac.abort();
    await new Promise((r) => setTimeout(r, 60));
    await router.expectNothing();
  });
});

describe('progressive call invocations (openCall)', () => {
  test('chunks share one request id; the first carries the options, later ones only progress; end() returns the result', async () => {
    const { session, router } = await joined();
    const oc = session.openCall('com.example.upload', { disclose_me: true, x_a: 1 });
    assert.equal(await oc.send(['chunk1']), true);
    assert.equal(await oc.send([], { part: 2 }), true);
    const resultP = oc.end(['last']);
    const c1 = await router.expect(MessageType.CALL);
    const c2 = await router.expect(MessageType.CALL);
    const c3 = await router.expect(MessageType.CALL);
    assert.deepEqual(c1.options, { disclose_me: true, x_a: 1, progress: true });
    assert.deepEqual([c1.args, c2.options, c2.kwargs, c3.options, c3.args], [['chunk1'], { progress: true }, { part: 2 }, {}, ['last']]);
    assert.equal(new Set([c1.request, c2.request, c3.request]).size, 1);
    assert.equal(c1.procedure, 'com.example.upload');
    router.send({ type: MessageType.RESULT, request: c1.request, details: {}, args: ['stored'] });
    assert.deepEqual((await resultP).args, ['stored']);
    assert.equal(oc.done, true);
    await assert.rejects(oc.send([1]), WampSessionError, 'send() after end()');
  });

  test('end() without send() is an ordinary call', async () => {
    const { session, router } = await joined();
    const oc = session.openCall('com.example.upload', { timeout: 1000 });
    const p = oc.end([1]);
    const c = await router.expect(MessageType.CALL);
    assert.deepEqual(c.options, { timeout: 1000 });
    router.send({ type: MessageType.RESULT, request: c.request, details: {} });
    await p;
  });

  test('the callee answering early ends the call: further send() resolve false', async () => {
    const { session, router } = await joined();
    const oc = session.openCall('com.example.upload');
    await oc.send([1]);
    const c = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: c.request, details: {}, error: 'com.example.too_big' });
    await assert.rejects(oc.result, ApplicationError);
    assert.equal(await oc.send([2]), false);
    await router.expectNothing();
  });

  test('a dealer without progressive_call_invocations: send() rejects WAMP_ERR_FEATURE_NOT_SUPPORTED, nothing sent', async () => {
    const { session, router } = await joined({}, { roles: dealerWithout('progressive_call_invocations') });
    const oc = session.openCall('com.example.upload');
    await rejectsWith(oc.send([1]), 'WAMP_ERR_FEATURE_NOT_SUPPORTED', 'wamp.error.feature_not_supported');
    await rejectsWith(oc.result, 'WAMP_ERR_FEATURE_NOT_SUPPORTED');
    await router.expectNothing();
  });

  test('a first send() that cannot go out (session closed, bad value) settles result; a bad argument does not', async () => {
    const { session, router } = await joined();
    const oc = session.openCall('com.example.upload');
    await rejectsWith(oc.send('x' as unknown as []), 'WAMP_ERR_INVALID_ARGUMENT');
    assert.equal(oc.done, false);
    await rejectsWith(oc.send([2n ** 64n]), 'WAMP_ERR_SERIALIZATION');
    await rejectsWith(oc.result, 'WAMP_ERR_SERIALIZATION');
    const oc2 = session.openCall('com.example.upload');
    router.transport.drop();
    await session.closed;
    await rejectsWith(oc2.send([1]), 'WAMP_ERR_SESSION_CLOSED');
    await rejectsWith(oc2.result, 'WAMP_ERR_SESSION_CLOSED');
  });

  test('send() waits while the transport is above its high-water mark (backpressure)', async () => {
    const { session, router } = await joined({ writeHighWaterMark: 100 });
    const oc = session.openCall('com.example.upload');
    router.transport.buffered = 1000;
    let done = false;
    const sending = oc.send([1]).then((v) => {
      done = true;
      return v;
    });
    await tick();
    assert.equal(done, false);
    router.transport.buffered = 0;
    router.transport.drain();
    assert.equal(await sending, true);
    oc.cancel();
    await rejectsWith(oc.result, 'WAMP_ERR_CANCELED');
  });

  test('with onProgress, progressive results come back while chunks go out', async () => {
    const { session, router } = await joined();
    const seen: unknown[] = [];
    const oc = session.openCall('com.example.echo', { onProgress: (r) => seen.push(r.args[0]) });
    await oc.send(['a']);
    const c = await router.expect(MessageType.CALL);
    assert.equal(c.options.receive_progress, true);
    router.send({ type: MessageType.RESULT, request: c.request, details: { progress: true }, args: ['A'] });
    const p = oc.end(['b']);
    router.send({ type: MessageType.RESULT, request: c.request, details: {}, args: ['B'] });
    assert.deepEqual((await p).args, ['B']);
    assert.deepEqual(seen, ['A']);
  });
});

describe('payload passthru (caller)', () => {
  test('CALL with ppt_* options and a binary payload; RESULT payload comes back', async () => {
    const { session, router } = await joined();
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const p = session.call('com.example.e2e', undefined, undefined, {
      ppt_scheme: 'x_custom',
      ppt_serializer: 'cbor',
      ppt_cipher: 'xsalsa20poly1305',
      ppt_keyid: 'k1',
      payload: bytes,
    });
    const call = await router.expect(MessageType.CALL);
    assert.deepEqual(call.options, { ppt_scheme: 'x_custom', ppt_serializer: 'cbor', ppt_cipher: 'xsalsa20poly1305', ppt_keyid: 'k1' });
    assert.deepEqual(call.payload, bytes);
    assert.equal('args' in call, false);
    router.send({ type: MessageType.RESULT, request: call.request, details: { ppt_scheme: 'x_custom' }, payload: new Uint8Array([9]) });
    const r = await p;
    assert.deepEqual([r.payload, r.args, r.kwargs], [new Uint8Array([9]), [], {}]);
  });

  test('passthru needs ppt_scheme, excludes args, and a dealer that announces it', async () => {
    const { session } = await joined({}, { roles: dealerWithout('payload_passthru_mode') });
    await rejectsWith(session.call('com.example.e2e', undefined, undefined, { payload: new Uint8Array(1) }), 'WAMP_ERR_INVALID_ARGUMENT');
    await rejectsWith(
      session.call('com.example.e2e', [1], undefined, { ppt_scheme: 'x', payload: new Uint8Array(1) }),
      'WAMP_ERR_INVALID_ARGUMENT',
    );
    await rejectsWith(
      session.call('com.example.e2e', undefined, undefined, { ppt_scheme: 'x', payload: new Uint8Array(1) }),
      'WAMP_ERR_FEATURE_NOT_SUPPORTED',
    );
  });
});

test('no unhandled rejections in this file', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(unhandled, []);
});

test('a fractional timeout goes on the wire rounded up to whole ms', async () => {
  const { Router } = await import('../../../src/router/router.js');
  const { createLocalTransportPair } = await import('../../../src/wamp/transport.js');
  const { Session } = await import('../../../src/wamp/session.js');
  const router = new Router({ realms: [{ name: 'realm1' }] });
  const [a, b] = createLocalTransportPair();
  const [c, d] = createLocalTransportPair();
  router.attach(b);
  router.attach(d);
  const callee = await Session.join(a, 'realm1');
  const caller = await Session.join(c, 'realm1');
  await callee.register('com.example.t', () => 'ok');
  const r = await caller.call('com.example.t', [], {}, { timeout: 1500.2 });
  assert.equal(r.args[0], 'ok', 'the router accepted the CALL (a fractional timeout would be a protocol violation)');
  await caller.leave();
  await callee.leave();
  await router.close();
});

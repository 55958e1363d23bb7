/**
 * The callee role against a scripted router: REGISTER/UNREGISTER, INVOCATION
 * → YIELD/ERROR for every kind of handler outcome (value, InvocationResult,
 * nothing, async, ApplicationError, other throws without leaking),
 * progressive results (sendProgress), progressive invocations (input),
 * INTERRUPT as an AbortSignal, callee-side timeouts, limits, revocation,
 * pattern-based and shared registration options, payload passthru.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, type InvocationMessage } from '../../../src/wamp/messages.js';
import {
  ApplicationError,
  InvocationResult,
  WampSessionError,
  type InvocationChunk,
  type InvocationDetails,
  type Registration,
  type Session,
} from '../../../src/wamp/session.js';
import { joined, type ScriptedRouter } from './session-fixture.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Registers `procedure` and answers REGISTERED with `registration`. */
async function registered(
  session: Session,
  router: ScriptedRouter,
  procedure: string,
  handler: Parameters<Session['register']>[1],
  options: Parameters<Session['register']>[2] = {},
  registration = 100,
): Promise<Registration> {
  const p = session.register(procedure, handler, options);
  const reg = await router.expect(MessageType.REGISTER);
  router.send({ type: MessageType.REGISTERED, request: reg.request, registration });
  return p;
}

function invoke(router: ScriptedRouter, request: number, registration: number, rest: Partial<InvocationMessage> = {}): void {
  router.send({ type: MessageType.INVOCATION, request, registration, details: {}, ...rest });
}

describe('register', () => {
  test('REGISTER carries procedure and options (match, invoke, x_); REGISTERED gives a Registration', async () => {
    const { session, router } = await joined();
    const p = session.register('com.example.', () => 1, {
      match: 'prefix',
      invoke: 'roundrobin',
      forward_timeout: true,
      x_weight: 3,
      onRevoke: () => {},
    });
    const reg = await router.expect(MessageType.REGISTER);
    assert.equal(reg.procedure, 'com.example.');
    assert.deepEqual(reg.options, { match: 'prefix', invoke: 'roundrobin', forward_timeout: true, x_weight: 3 });
    router.send({ type: MessageType.REGISTERED, request: reg.request, registration: 77 });
    const r = await p;
    assert.deepEqual([r.id, r.procedure, r.active], [77, 'com.example.', true]);
  });

  test('wildcard patterns may have empty components; exact URIs may not', async () => {
    const { session, router } = await joined();
    void session.register('com..update', () => {}, { match: 'wildcard' });
    assert.equal((await router.expect(MessageType.REGISTER)).procedure, 'com..update');
    await assert.rejects(session.register('com..update', () => {}), (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_INVALID_ARGUMENT');
    await assert.rejects(session.register('com.x', 'nope' as never), WampSessionError);
  });

  test('an ERROR for REGISTER rejects with the ApplicationError (procedure_already_exists)', async () => {
    const { session, router } = await joined();
    const p = session.register('com.example.p', () => {});
    const reg = await router.expect(MessageType.REGISTER);
    router.send({ type: MessageType.ERROR, requestType: MessageType.REGISTER, request: reg.request, details: {}, error: 'wamp.error.procedure_already_exists' });
    await assert.rejects(p, (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.procedure_already_exists');
  });

  test('unregister: UNREGISTER, then inactive; invocations after that get no_such_registration', async () => {
    const { session, router } = await joined();
    const r = await registered(session, router, 'com.example.p', () => 1);
    const p = r.unregister();
    assert.equal(r.unregister(), p, 'one UNREGISTER for concurrent unregister() calls');
    const un = await router.expect(MessageType.UNREGISTER);
    assert.equal(un.registration, 100);
    router.send({ type: MessageType.UNREGISTERED, request: un.request });
    await p;
    assert.equal(r.active, false);
    await r.unregister();
    await router.expectNothing();
    invoke(router, 5, 100);
    const err = await router.expect(MessageType.ERROR);
    assert.deepEqual([err.requestType, err.request, err.error], [MessageType.INVOCATION, 5, 'wamp.error.no_such_registration']);
  });

  test('unregister answered with no_such_registration resolves; another ERROR rejects', async () => {
    const { session, router } = await joined();
    const a = await registered(session, router, 'com.example.a', () => 1, {}, 1);
    const b = await registered(session, router, 'com.example.b', () => 1, {}, 2);
    const pa = a.unregister();
    const ua = await router.expect(MessageType.UNREGISTER);
    router.send({ type: MessageType.ERROR, requestType: MessageType.UNREGISTER, request: ua.request, details: {}, error: 'wamp.error.no_such_registration' });
    await pa;
    const pb = session.unregister(b);
    const ub = await router.expect(MessageType.UNREGISTER);
    router.send({ type: MessageType.ERROR, requestType: MessageType.UNREGISTER, request: ub.request, details: {}, error: 'wamp.error.not_authorized' });
    await assert.rejects(pb, ApplicationError);
  });

  test('revocation (UNREGISTERED 0 with details): inactive and onRevoke hears the reason', async () => {
    const { session, router } = await joined();
    const reasons: unknown[] = [];
    const r = await registered(session, router, 'com.example.p', () => 1, { onRevoke: (reason) => reasons.push(reason) });
    router.sendWire([67, 0, { registration: 100, reason: 'wamp.error.unregistered_by_router' }]);
    assert.equal(r.active, false);
    assert.deepEqual(reasons, ['wamp.error.unregistered_by_router']);
    router.sendWire([67, 0, { registration: 12345 }]); // unknown: ignored
    assert.equal(session.isOpen, true);
  });

  test('registrations become inactive when the session ends', async () => {
    const { session, router } = await joined();
    const r = await registered(session, router, 'com.example.p', () => 1);
    router.transport.drop();
    await session.closed;
    assert.equal(r.active, false);
    await r.unregister();
  });
});

describe('invocations', () => {
  test('the handler gets args, kwargs and details; a returned value is YIELDed as [value]', async () => {
    const { session, router } = await joined();
    let seen: [unknown[], Record<string, unknown>, InvocationDetails] | undefined;
    await registered(session, router, 'com.example.add', (args, kwargs, details) => {
      seen = [args, kwargs, details];
      return (args[0] as number) + (args[1] as number);
    });
    invoke(router, 11, 100, { args: [2, 3], kwargs: { k: 1 }, details: { caller: 9, caller_authid: 'joe', x_custom: true } });
    const y = await router.expect(MessageType.YIELD);
    assert.deepEqual([y.request, y.options, y.args], [11, {}, [5]]);
    assert.ok(seen);
    assert.deepEqual([seen[0], seen[1]], [[2, 3], { k: 1 }]);
    const d = seen[2];
    assert.deepEqual([d.procedure, d.registration, d.caller, d.caller_authid, d.x_custom], ['com.example.add', 100, 9, 'joe', true]);
    assert.ok(d.signal instanceof AbortSignal && !d.signal.aborted);
    assert.equal(d.sendProgress, undefined);
    assert.equal(d.input, undefined);
  });

  test('InvocationResult controls args, kwargs and options; undefined sends no arguments; async works', async () => {
    const { session, router } = await joined();
    await registered(session, router, 'com.example.r', () => new InvocationResult(['a'], { b: 2 }, { x_meta: 1 }), {}, 1);
    await registered(session, router, 'com.example.v', () => undefined, {}, 2);
    await registered(session, router, 'com.example.async', async (args) => {
      await tick();
      return { doubled: (args[0] as number) * 2 };
    }, {}, 3);
    invoke(router, 1, 1);
    const y1 = await router.expect(MessageType.YIELD);
    assert.deepEqual([y1.args, y1.kwargs, y1.options], [['a'], { b: 2 }, { x_meta: 1 }]);
    invoke(router, 2, 2);
    const y2 = await router.expect(MessageType.YIELD);
    assert.equal('args' in y2, false);
    invoke(router, 3, 3, { args: [21] });
    assert.deepEqual((await router.expect(MessageType.YIELD)).args, [{ doubled: 42 }]);
  });

  test('pattern registrations: details.procedure is the procedure actually called', async () => {
    const { session, router } = await joined();
    let procedure = '';
    await registered(session, router, 'com.example.', (_a, _k, d) => {
      procedure = d.procedure;
    }, { match: 'prefix' });
    invoke(router, 1, 100, { details: { procedure: 'com.example.deep.name' } });
    await router.expect(MessageType.YIELD);
    assert.equal(procedure, 'com.example.deep.name');
  });

  test('a thrown ApplicationError reaches the caller with its uri, args and kwargs', async () => {
    const { session, router } = await joined();
    const errors: unknown[] = [];
    await registered(session, router, 'com.example.check', () => {
      throw new ApplicationError('com.example.invalid', ['year', 1830], { min: 1900 });
    });
    await registered(session, router, 'com.example.acheck', async () => {
      throw new ApplicationError('com.example.async_invalid');
    }, {}, 101);
    void errors;
    invoke(router, 1, 100);
    const e = await router.expect(MessageType.ERROR);
    assert.deepEqual([e.requestType, e.request, e.error, e.args, e.kwargs], [MessageType.INVOCATION, 1, 'com.example.invalid', ['year', 1830], { min: 1900 }]);
    invoke(router, 2, 101);
    assert.equal((await router.expect(MessageType.ERROR)).error, 'com.example.async_invalid');
  });

  test('any other throw: wamp.error.runtime_error with nothing about our internals; onUserError hears it', async () => {
    const errors: [unknown, unknown][] = [];
    const { session, router } = await joined({ onUserError: (e, ctx) => errors.push([e, ctx]) });
    await registered(session, router, 'com.example.buggy', () => {
      throw new TypeError('cannot read x of undefined at /srv/app/secret.js:12');
    });
    await registered(session, router, 'com.example.rejects', () => Promise.reject(new Error('db password wrong')), {}, 101);
    await registered(session, router, 'com.example.throws_string', () => {
      throw 'a string';
    }, {}, 102);
    for (const [req, reg] of [
      [1, 100],
      [2, 101],
      [3, 102],
    ]) {
      invoke(router, req!, reg!);
      const e = await router.expect(MessageType.ERROR);
      assert.deepEqual([e.request, e.error, e.details], [req, 'wamp.error.runtime_error', {}]);
      assert.equal('args' in e, false, 'no message, no stack on the wire');
    }
    assert.equal(errors.length, 3);
    assert.deepEqual(errors[0]![1], { kind: 'invocation', uri: 'com.example.buggy' });
    assert.ok(errors[0]![0] instanceof TypeError);
  });

  test('discloseErrors: the message of a thrown error goes to the caller', async () => {
    const { session, router } = await joined({ discloseErrors: true });
    await registered(session, router, 'com.example.buggy', () => {
      throw new Error('visible');
    });
    invoke(router, 1, 100);
    assert.deepEqual((await router.expect(MessageType.ERROR)).args, ['visible']);
  });

  test('a result that cannot be serialized: runtime_error to the caller, the error to onUserError', async () => {
    const errors: unknown[] = [];
    const { session, router } = await joined({ onUserError: (e) => errors.push(e) });
    await registered(session, router, 'com.example.big', () => 2n ** 64n);
    invoke(router, 1, 100);
    assert.equal((await router.expect(MessageType.ERROR)).error, 'wamp.error.runtime_error');
    assert.ok(errors[0] instanceof WampSessionError && errors[0].code === 'WAMP_ERR_SERIALIZATION');
    assert.equal(session.isOpen, true);
  });

  test('INVOCATION for an unknown registration: ERROR wamp.error.no_such_registration', async () => {
    const { router } = await joined();
    invoke(router, 3, 999);
    const e = await router.expect(MessageType.ERROR);
    assert.deepEqual([e.request, e.error], [3, 'wamp.error.no_such_registration']);
  });

  test('maxInvocations: more concurrent invocations get wamp.error.unavailable', async () => {
    const { session, router } = await joined({ maxInvocations: 2 });
    const release: (() => void)[] = [];
    await registered(session, router, 'com.example.slow', () => new Promise<void>((r) => release.push(r)));
    invoke(router, 1, 100);
    invoke(router, 2, 100);
    invoke(router, 3, 100);
    const e = await router.expect(MessageType.ERROR);
    assert.deepEqual([e.request, e.error], [3, 'wamp.error.unavailable']);
    release.forEach((r) => r());
    assert.equal((await router.expect(MessageType.YIELD)).request, 1);
    assert.equal((await router.expect(MessageType.YIELD)).request, 2);
  });

  test('a repeated INVOCATION id of a running ordinary invocation is a protocol violation', async () => {
    const { session, router } = await joined();
    await registered(session, router, 'com.example.slow', () => new Promise(() => {}));
    invoke(router, 1, 100);
    invoke(router, 1, 100);
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
    await session.closed;
  });
});

describe('progressive results (callee)', () => {
  test('sendProgress YIELDs progress:true, the return value is the final YIELD', async () => {
    const { session, router } = await joined();
    await registered(session, router, 'com.example.count', async (args, _kw, d) => {
      assert.equal(d.receive_progress, true);
      for (let i = 0; i < (args[0] as number); i++) await d.sendProgress!([i], { i });
      return 'done';
    });
    invoke(router, 7, 100, { args: [3], details: { receive_progress: true } });
    for (let i = 0; i < 3; i++) {
      const y = await router.expect(MessageType.YIELD);
      assert.deepEqual([y.request, y.options, y.args, y.kwargs], [7, { progress: true }, [i], { i }]);
    }
    const last = await router.expect(MessageType.YIELD);
    assert.deepEqual([last.options, last.args], [{}, ['done']]);
  });

  test('sendProgress waits for the transport to drain (backpressure); is a no-op once the invocation is over', async () => {
    const { session, router } = await joined({ writeHighWaterMark: 10 });
    let d!: InvocationDetails;
    let finish!: () => void;
    await registered(session, router, 'com.example.s', (_a, _k, details) => {
      d = details;
      return new Promise<void>((r) => (finish = r));
    });
    invoke(router, 1, 100, { details: { receive_progress: true } });
    router.transport.buffered = 1000;
    let sent = false;
    const p = d.sendProgress!([1]).then(() => (sent = true));
    await router.expect(MessageType.YIELD);
    await tick();
    assert.equal(sent, false);
    router.transport.buffered = 0;
    await p; // the poll notices without a drain event
    finish();
    await router.expect(MessageType.YIELD);
    await d.sendProgress!([2]);
    await router.expectNothing();
  });

  test('sendProgress throws synchronously for values that cannot be serialized', async () => {
    const { session, router } = await joined();
    let thrown: unknown;
    await registered(session, router, 'com.example.s', (_a, _k, d) => {
      try {
        void d.sendProgress!([2n ** 64n]);
      } catch (e) {
        thrown = e;
      }
      return 1;
    });
    invoke(router, 1, 100, { details: { receive_progress: true } });
    assert.deepEqual((await router.expect(MessageType.YIELD)).args, [1]);
    assert.ok(thrown instanceof WampSessionError && thrown.code === 'WAMP_ERR_SERIALIZATION');
  });
});

describe('interrupts and timeouts (callee)', () => {
  test('INTERRUPT mode kill: the signal aborts with WAMP_ERR_CANCELED, ERROR wamp.error.canceled, the late result is dropped', async () => {
    const { session, router } = await joined();
    let d!: InvocationDetails;
    let finish!: (v: unknown) => void;
    await registered(session, router, 'com.example.long', (_a, _k, details) => {
      d = details;
      return new Promise((r) => (finish = r));
    });
    invoke(router, 4, 100);
    router.send({ type: MessageType.INTERRUPT, request: 4, options: { mode: 'kill' } });
    // First read after the INTERRUPT: the signal is made then, already aborted; the same one on every read.
    assert.equal(d.signal.aborted, true);
    assert.equal(d.signal, d.signal);
    assert.ok(d.signal.reason instanceof WampSessionError && d.signal.reason.code === 'WAMP_ERR_CANCELED');
    const e = await router.expect(MessageType.ERROR);
    assert.deepEqual([e.request, e.error], [4, 'wamp.error.canceled']);
    finish('too late');
    await router.expectNothing();
  });

  test('INTERRUPT mode killnowait: the signal aborts, nothing is sent; a handler rejecting afterwards is not reported', async () => {
    const errors: unknown[] = [];
    const { session, router } = await joined({ onUserError: (e) => errors.push(e) });
    await registered(session, router, 'com.example.long', (_a, _k, d) =>
      new Promise((_r, reject) => d.signal.addEventListener('abort', () => reject(d.signal.reason))),
    );
    invoke(router, 4, 100);
    router.send({ type: MessageType.INTERRUPT, request: 4, options: { mode: 'killnowait', reason: 'wamp.error.timeout' } });
    await router.expectNothing();
    assert.deepEqual(errors, []);
  });

  test('an INTERRUPT for an invocation already answered is ignored', async () => {
    const { session, router } = await joined();
    await registered(session, router, 'com.example.quick', () => 1);
    invoke(router, 4, 100);
    await router.expect(MessageType.YIELD);
    router.send({ type: MessageType.INTERRUPT, request: 4, options: { mode: 'kill' } });
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('a timeout forwarded in INVOCATION.Details: ERROR wamp.error.timeout, signal aborted with WAMP_ERR_TIMEOUT', async () => {
    const { session, router } = await joined();
    let d!: InvocationDetails;
    await registered(session, router, 'com.example.long', (_a, _k, details) => {
      d = details;
      return new Promise(() => {});
    });
    invoke(router, 4, 100, { details: { timeout: 20 } });
    const e = await router.expect(MessageType.ERROR);
    assert.deepEqual([e.request, e.error], [4, 'wamp.error.timeout']);
    assert.ok(d.signal.reason instanceof WampSessionError && d.signal.reason.code === 'WAMP_ERR_TIMEOUT');
  });

  test('running invocations are aborted when the session ends', async () => {
    const { session, router } = await joined();
    let d!: InvocationDetails;
    await registered(session, router, 'com.example.long', (_a, _k, details) => {
      d = details;
      return new Promise(() => {});
    });
    invoke(router, 4, 100);
    router.transport.drop();
    await session.closed;
    assert.equal(d.signal.aborted, true);
    assert.equal((d.signal.reason as WampSessionError).code, 'WAMP_ERR_SESSION_CLOSED');
  });
});

describe('progressive call invocations (callee)', () => {
  test('the first chunk is the handler args; later INVOCATIONs with the same id arrive on details.input', async () => {
    const { session, router } = await joined();
    const chunks: InvocationChunk[] = [];
    await registered(session, router, 'com.example.upload', async (args, _k, d) => {
      assert.deepEqual(args, ['first']);
      assert.equal(d.progress, true);
      for await (const c of d.input!) chunks.push(c);
      return chunks.length;
    });
    invoke(router, 8, 100, { args: ['first'], details: { progress: true } });
    invoke(router, 8, 100, { args: ['second'], details: { progress: true } });
    invoke(router, 8, 100, { kwargs: { n: 3 }, args: [], details: { progress: true } });
    invoke(router, 8, 100, { args: ['last'], details: {} });
    const y = await router.expect(MessageType.YIELD);
    assert.deepEqual([y.request, y.args], [8, [3]]);
    assert.deepEqual(
      chunks.map((c) => [c.args, c.kwargs, c.progress]),
      [
        [['second'], {}, true],
        [[], { n: 3 }, true],
        [['last'], {}, false],
      ],
    );
    // A chunk arriving after our answer is dropped silently (spec: "ignore and discard").
    invoke(router, 8, 100, { args: ['late'], details: { progress: true } });
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('the callee may answer before the final chunk; chunks after that are dropped', async () => {
    const { session, router } = await joined();
    await registered(session, router, 'com.example.upload', () => {
      throw new ApplicationError('com.example.refused');
    });
    invoke(router, 8, 100, { args: [1], details: { progress: true } });
    assert.equal((await router.expect(MessageType.ERROR)).error, 'com.example.refused');
    invoke(router, 8, 100, { args: [2], details: {} });
    await router.expectNothing();
  });

  test('an input chunk after the final one is a protocol violation', async () => {
    const { session, router } = await joined();
    await registered(session, router, 'com.example.upload', () => new Promise(() => {}));
    invoke(router, 8, 100, { details: { progress: true } });
    invoke(router, 8, 100, { details: {} });
    invoke(router, 8, 100, { details: { progress: true } });
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
  });

  test('input overflow (reader too slow): the invocation is canceled, input throws WAMP_ERR_BUFFER_OVERFLOW', async () => {
    const { session, router } = await joined({ maxBufferedResults: 2 });
    let d!: InvocationDetails;
    await registered(session, router, 'com.example.upload', (_a, _k, details) => {
      d = details;
      return new Promise(() => {});
    });
    invoke(router, 8, 100, { details: { progress: true } });
    for (let i = 0; i < 3; i++) invoke(router, 8, 100, { args: [i], details: { progress: true } });
    assert.equal((await router.expect(MessageType.ERROR)).error, 'wamp.error.canceled');
    assert.equal((d.signal.reason as WampSessionError).code, 'WAMP_ERR_BUFFER_OVERFLOW');
    const got: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of d.input!) got.push(c.args[0]);
      })(),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_BUFFER_OVERFLOW',
    );
    assert.deepEqual(got, [0, 1]);
  });
});

describe('payload passthru (callee)', () => {
  test('INVOCATION payload arrives in details.payload; an InvocationResult payload goes back as Payload|binary', async () => {
    const { session, router } = await joined();
    let got: Uint8Array | undefined;
    await registered(session, router, 'com.example.e2e', (args, kwargs, d) => {
      assert.deepEqual([args, kwargs], [[], {}]);
      got = d.payload;
      return new InvocationResult([], {}, { ppt_scheme: 'x_s', ppt_serializer: 'native', payload: new Uint8Array([7, 8]) });
    });
    invoke(router, 1, 100, { details: { ppt_scheme: 'x_s' }, payload: new Uint8Array([1, 2]) });
    const y = await router.expect(MessageType.YIELD);
    assert.deepEqual(got, new Uint8Array([1, 2]));
    assert.deepEqual([y.options, y.payload], [{ ppt_scheme: 'x_s', ppt_serializer: 'native' }, new Uint8Array([7, 8])]);
  });
});

test('no unhandled rejections in this file', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(unhandled, []);
});

/**
 * Publisher and subscriber roles, and the meta API / testament wrappers,
 * against a scripted router: PUBLISH options on the wire (exclusion,
 * identification, black/white listing, x_), acknowledged publish, backpressure,
 * SUBSCRIBE/EVENT/UNSUBSCRIBE with shared router subscriptions, handler
 * errors, revocation, passthru; wamp.session.* / wamp.registration.* /
 * wamp.subscription.* / testaments.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../../src/wamp/messages.js';
import { ApplicationError, WampSessionError, type EventDetails, type Session } from '../../../src/wamp/session.js';
import { allRouterFeatures, joined, type ScriptedRouter } from './session-fixture.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function subscribed(
  session: Session,
  router: ScriptedRouter,
  topic: string,
  handler: Parameters<Session['subscribe']>[1],
  options: Parameters<Session['subscribe']>[2] = {},
  subscription = 200,
): Promise<Awaited<ReturnType<Session['subscribe']>>> {
  const p = session.subscribe(topic, handler, options);
  const s = await router.expect(MessageType.SUBSCRIBE);
  router.send({ type: MessageType.SUBSCRIBED, request: s.request, subscription });
  return p;
}

describe('publish', () => {
  test('PUBLISH carries topic, payload and every publisher option (x_ too); resolves undefined', async () => {
    const { session, router } = await joined();
    const r = await session.publish('com.example.news', ['hi'], { lang: 'en' }, {
      exclude_me: false,
      disclose_me: true,
      exclude: [1, 2],
      exclude_authid: ['eve'],
      exclude_authrole: ['guest'],
      eligible: [3],
      eligible_authid: ['bob'],
      eligible_authrole: ['user'],
      retain: true,
      x_priority: 5,
    });
    assert.equal(r, undefined);
    const pub = await router.expect(MessageType.PUBLISH);
    assert.deepEqual([pub.topic, pub.args, pub.kwargs], ['com.example.news', ['hi'], { lang: 'en' }]);
    assert.deepEqual(pub.options, {
      exclude_me: false,
      disclose_me: true,
      exclude: [1, 2],
      exclude_authid: ['eve'],
      exclude_authrole: ['guest'],
      eligible: [3],
      eligible_authid: ['bob'],
      eligible_authrole: ['user'],
      retain: true,
      x_priority: 5,
    });
  });

  test('acknowledge: resolves with the publication id; an ERROR rejects with the ApplicationError', async () => {
    const { session, router } = await joined();
    const p = session.publish('com.example.t', [], {}, { acknowledge: true });
    const pub = await router.expect(MessageType.PUBLISH);
    assert.deepEqual(pub.options, { acknowledge: true });
    router.send({ type: MessageType.PUBLISHED, request: pub.request, publication: 555 });
    assert.deepEqual(await p, { id: 555 });
    const q = session.publish('com.example.t', [], {}, { acknowledge: true });
    const pub2 = await router.expect(MessageType.PUBLISH);
    router.send({ type: MessageType.ERROR, requestType: MessageType.PUBLISH, request: pub2.request, details: {}, error: 'wamp.error.not_authorized' });
    await assert.rejects(q, (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.not_authorized');
  });

  test('an unacknowledged publish waits while the transport is above its high-water mark', async () => {
    const { session, router } = await joined({ writeHighWaterMark: 10 });
    router.transport.buffered = 100;
    let done = false;
    const p = session.publish('com.example.t', [1]).then(() => (done = true));
    await router.expect(MessageType.PUBLISH);
    await tick();
    assert.equal(done, false);
    router.transport.buffered = 0;
    router.transport.drain();
    await p;
  });

  test('an invalid topic, a bad payload or maxPendingRequests reject without sending', async () => {
    const { session, router } = await joined({ maxPendingRequests: 1 });
    await assert.rejects(session.publish('bad topic'), (e: unknown) => e instanceof WampSessionError && e.uri === 'wamp.error.invalid_uri');
    await assert.rejects(session.publish('com.x', [2n ** 64n]), (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_SERIALIZATION');
    void session.publish('com.x', [], {}, { acknowledge: true });
    await router.expect(MessageType.PUBLISH);
    await assert.rejects(
      session.publish('com.x', [], {}, { acknowledge: true }),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_TOO_MANY_PENDING',
    );
    void session.publish('com.x'); // unacknowledged publishes are not pending requests
    assert.equal((await router.expect(MessageType.PUBLISH)).request, 2, 'ids stay gapless after the failures');
  });

  test('passthru publish needs a broker that announces payload_passthru_mode', async () => {
    const { session, router } = await joined();
    await session.publish('com.example.mqtt', undefined, undefined, { ppt_scheme: 'mqtt', payload: new Uint8Array([1]) });
    const pub = await router.expect(MessageType.PUBLISH);
    assert.deepEqual([pub.options, pub.payload], [{ ppt_scheme: 'mqtt' }, new Uint8Array([1])]);
    const roles = allRouterFeatures() as { broker: { features: Record<string, unknown> } };
    delete roles.broker.features.payload_passthru_mode;
    const other = await joined({}, { roles });
    await assert.rejects(
      other.session.publish('com.example.mqtt', undefined, undefined, { ppt_scheme: 'mqtt', payload: new Uint8Array([1]) }),
      (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_FEATURE_NOT_SUPPORTED',
    );
  });
});

describe('subscribe', () => {
  test('SUBSCRIBE with options; EVENTs reach the handler with args, kwargs and filled-in details', async () => {
    const { session, router } = await joined();
    const events: [unknown[], Record<string, unknown>, EventDetails][] = [];
    const p = session.subscribe('com.example.', (a, k, d) => events.push([a, k, d]), { match: 'prefix', get_retained: true, x_q: 1 });
    const s = await router.expect(MessageType.SUBSCRIBE);
    assert.deepEqual([s.topic, s.options], ['com.example.', { match: 'prefix', get_retained: true, x_q: 1 }]);
    router.send({ type: MessageType.SUBSCRIBED, request: s.request, subscription: 200 });
    const sub = await p;
    assert.deepEqual([sub.id, sub.topic, sub.active], [200, 'com.example.', true]);
    router.send({
      type: MessageType.EVENT,
      subscription: 200,
      publication: 9,
      details: { topic: 'com.example.a.b', publisher: 5, publisher_authid: 'pub' },
      args: [1],
      kwargs: { k: 2 },
    });
    router.send({ type: MessageType.EVENT, subscription: 200, publication: 10, details: {} });
    assert.equal(events.length, 2);
    assert.deepEqual(events[0]![0], [1]);
    assert.deepEqual(events[0]![1], { k: 2 });
    assert.deepEqual(events[0]![2], { topic: 'com.example.a.b', publisher: 5, publisher_authid: 'pub', publication: 9, subscription: 200 });
    assert.deepEqual(events[1], [[], {}, { topic: 'com.example.', publication: 10, subscription: 200 }]);
  });

  test('handlers sharing a router subscription: UNSUBSCRIBE only when the last one goes', async () => {
    const { session, router } = await joined();
    const seen: string[] = [];
    const a = await subscribed(session, router, 'com.example.t', () => seen.push('a'));
    const b = await subscribed(session, router, 'com.example.t', () => seen.push('b'));
    assert.equal(a.id, b.id);
    router.send({ type: MessageType.EVENT, subscription: 200, publication: 1, details: {} });
    assert.deepEqual(seen, ['a', 'b']);
    await a.unsubscribe();
    await router.expectNothing();
    router.send({ type: MessageType.EVENT, subscription: 200, publication: 2, details: {} });
    assert.deepEqual(seen, ['a', 'b', 'b']);
    const p = session.unsubscribe(b);
    const un = await router.expect(MessageType.UNSUBSCRIBE);
    assert.equal(un.subscription, 200);
    router.send({ type: MessageType.UNSUBSCRIBED, request: un.request });
    await p;
    assert.equal(b.active, false);
    // Events already in flight for the old subscription are dropped.
    router.send({ type: MessageType.EVENT, subscription: 200, publication: 3, details: {} });
    assert.deepEqual(seen, ['a', 'b', 'b']);
    await b.unsubscribe();
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('subscribing to a topic whose UNSUBSCRIBE is in flight waits for UNSUBSCRIBED first', async () => {
    const { session, router } = await joined();
    const a = await subscribed(session, router, 'com.example.t', () => {});
    const unsub = a.unsubscribe();
    const un = await router.expect(MessageType.UNSUBSCRIBE);
    const again = session.subscribe('com.example.t', () => {});
    await router.expectNothing(); // not yet: the broker would hand back the old subscription
    router.send({ type: MessageType.UNSUBSCRIBED, request: un.request });
    await unsub;
    const s = await router.expect(MessageType.SUBSCRIBE);
    router.send({ type: MessageType.SUBSCRIBED, request: s.request, subscription: 201 });
    assert.equal((await again).id, 201);
    // Other topics do not wait.
    const b = await subscribed(session, router, 'com.example.u', () => {}, {}, 300);
    void b.unsubscribe();
    await router.expect(MessageType.UNSUBSCRIBE);
    void session.subscribe('com.example.u', () => {}, { match: 'prefix' });
    assert.equal((await router.expect(MessageType.SUBSCRIBE)).topic, 'com.example.u');
  });

  test('a handler that throws or rejects goes to onUserError; the other handlers still run', async () => {
    const errors: unknown[] = [];
    const { session, router } = await joined({ onUserError: (e, ctx) => errors.push([String(e), ctx]) });
    const seen: string[] = [];
    await subscribed(session, router, 'com.example.t', () => {
      throw new Error('sync');
    });
    await subscribed(session, router, 'com.example.t', async () => {
      throw new Error('async');
    });
    await subscribed(session, router, 'com.example.t', () => seen.push('ok'));
    router.send({ type: MessageType.EVENT, subscription: 200, publication: 1, details: { topic: 'com.example.t' } });
    await tick();
    assert.deepEqual(seen, ['ok']);
    assert.deepEqual(errors, [
      ['Error: sync', { kind: 'event', uri: 'com.example.t' }],
      ['Error: async', { kind: 'event', uri: 'com.example.t' }],
    ]);
  });

  test('without onUserError, handler errors go to console.error (never silent)', async () => {
    const { session, router } = await joined({ onUserError: undefined });
    await subscribed(session, router, 'com.example.t', () => {
      throw new Error('loud');
    });
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...a: unknown[]) => logged.push(a);
    try {
      router.send({ type: MessageType.EVENT, subscription: 200, publication: 1, details: {} });
    } finally {
      console.error = original;
    }
    assert.equal(logged.length, 1);
    assert.match(String(logged[0]![0]), /event handler for com\.example\.t threw/);
  });

  test('EVENTs for unknown subscriptions are ignored', async () => {
    const { session, router } = await joined();
    router.send({ type: MessageType.EVENT, subscription: 31337, publication: 1, details: {} });
    await router.expectNothing();
    assert.equal(session.isOpen, true);
  });

  test('SUBSCRIBE ERROR rejects with the ApplicationError; invalid topics reject locally', async () => {
    const { session, router } = await joined();
    const p = session.subscribe('com.example.t', () => {});
    const s = await router.expect(MessageType.SUBSCRIBE);
    router.send({ type: MessageType.ERROR, requestType: MessageType.SUBSCRIBE, request: s.request, details: {}, error: 'wamp.error.not_authorized' });
    await assert.rejects(p, ApplicationError);
    await assert.rejects(session.subscribe('com.example.', () => {}), WampSessionError);
    await assert.rejects(session.subscribe('com.t', 1 as never), WampSessionError);
  });

  test('UNSUBSCRIBE ERROR: no_such_subscription resolves, others reject', async () => {
    const { session, router } = await joined();
    const a = await subscribed(session, router, 'com.example.a', () => {}, {}, 1);
    const b = await subscribed(session, router, 'com.example.b', () => {}, {}, 2);
    const pa = a.unsubscribe();
    const ua = await router.expect(MessageType.UNSUBSCRIBE);
    router.send({ type: MessageType.ERROR, requestType: MessageType.UNSUBSCRIBE, request: ua.request, details: {}, error: 'wamp.error.no_such_subscription' });
    await pa;
    const pb = b.unsubscribe();
    const ub = await router.expect(MessageType.UNSUBSCRIBE);
    router.send({ type: MessageType.ERROR, requestType: MessageType.UNSUBSCRIBE, request: ub.request, details: {}, error: 'wamp.error.x' });
    await assert.rejects(pb, ApplicationError);
  });

  test('revocation (UNSUBSCRIBED 0 with details): every handler inactive, onRevoke hears the reason', async () => {
    const { session, router } = await joined();
    const reasons: unknown[] = [];
    const s = await subscribed(session, router, 'com.example.t', () => {}, { onRevoke: (r) => reasons.push(r) });
    router.sendWire([35, 0, { subscription: 200, reason: 'wamp.error.gone' }]);
    assert.equal(s.active, false);
    assert.deepEqual(reasons, ['wamp.error.gone']);
  });

  test('passthru EVENT: details.payload carries the bytes', async () => {
    const { session, router } = await joined();
    let d: EventDetails | undefined;
    await subscribed(session, router, 'com.example.t', (_a, _k, details) => (d = details));
    router.send({ type: MessageType.EVENT, subscription: 200, publication: 1, details: { ppt_scheme: 'mqtt' }, payload: new Uint8Array([4]) });
    assert.deepEqual(d?.payload, new Uint8Array([4]));
  });
});

describe('meta API and testaments', () => {
  async function answer(router: ScriptedRouter, procedure: string, args: unknown[], expectArgs?: unknown[], expectKwargs?: unknown) {
    const c = await router.expect(MessageType.CALL);
    assert.equal(c.procedure, procedure);
    if (expectArgs) assert.deepEqual(c.args ?? [], expectArgs);
    if (expectKwargs) assert.deepEqual(c.kwargs ?? {}, expectKwargs);
    router.send({ type: MessageType.RESULT, request: c.request, details: {}, args });
  }

  test('session, registration and subscription meta procedures: arguments and typed results', async () => {
    const { session, router } = await joined();
    const m = session.meta;
    const cases: [Promise<unknown>, string, unknown[], unknown[], unknown][] = [
      [m.sessionCount(), 'wamp.session.count', [3], [], 3],
      [m.sessionCount(['admin']), 'wamp.session.count', [1], [['admin']], 1],
      [m.sessionList(), 'wamp.session.list', [[1, 2]], [], [1, 2]],
      [m.sessionGet(7), 'wamp.session.get', [{ session: 7, authid: 'a' }], [7], { session: 7, authid: 'a' }],
      [m.registrationList(), 'wamp.registration.list', [{ exact: [1], prefix: [] }], [], { exact: [1], prefix: [], wildcard: [] }],
      [m.registrationLookup('com.x', { match: 'prefix' }), 'wamp.registration.lookup', [5], ['com.x', { match: 'prefix' }], 5],
      [m.registrationLookup('com.y'), 'wamp.registration.lookup', [null], ['com.y'], null],
      [m.registrationMatch('com.x'), 'wamp.registration.match', [], ['com.x'], null],
      [m.registrationGet(5), 'wamp.registration.get', [{ id: 5, uri: 'com.x', match: 'exact' }], [5], { id: 5, uri: 'com.x', match: 'exact' }],
      [m.registrationListCallees(5), 'wamp.registration.list_callees', [[9]], [5], [9]],
      [m.registrationCountCallees(5), 'wamp.registration.count_callees', [1], [5], 1],
      [m.subscriptionList(), 'wamp.subscription.list', [{ exact: [], prefix: [], wildcard: [4] }], [], { exact: [], prefix: [], wildcard: [4] }],
      [m.subscriptionLookup('com.t'), 'wamp.subscription.lookup', [4], ['com.t'], 4],
      [m.subscriptionMatch('com.t'), 'wamp.subscription.match', [[4, 6]], ['com.t'], [4, 6]],
      [m.subscriptionMatch('com.u'), 'wamp.subscription.match', [null], ['com.u'], null],
      [m.subscriptionGet(4), 'wamp.subscription.get', [{ id: 4, uri: 'com.t' }], [4], { id: 4, uri: 'com.t' }],
      [m.subscriptionListSubscribers(4), 'wamp.subscription.list_subscribers', [[1]], [4], [1]],
      [m.subscriptionCountSubscribers(4), 'wamp.subscription.count_subscribers', [2], [4], 2],
    ];
    for (const [p, proc, result, args, expected] of cases) {
      await answer(router, proc, result, args);
      assert.deepEqual(await p, expected, proc);
    }
  });

  test('results of the wrong shape reject WAMP_ERR_INVALID_RESULT', async () => {
    const { session, router } = await joined();
    const bad: [Promise<unknown>, string, unknown[]][] = [
      [session.meta.sessionCount(), 'wamp.session.count', ['three']],
      [session.meta.sessionList(), 'wamp.session.list', [[1, 'x']]],
      [session.meta.sessionGet(1), 'wamp.session.get', [{ authid: 'x' }]],
      [session.meta.registrationGet(1), 'wamp.registration.get', [[]]],
      [session.meta.subscriptionList(), 'wamp.subscription.list', [{ exact: 'no' }]],
      [session.meta.registrationMatch('com.x'), 'wamp.registration.match', ['id']],
      [session.meta.registrationCountCallees(1), 'wamp.registration.count_callees', []],
    ];
    for (const [p, proc, result] of bad) {
      await answer(router, proc, result);
      await assert.rejects(p, (e: unknown) => e instanceof WampSessionError && e.code === 'WAMP_ERR_INVALID_RESULT', proc);
    }
  });

  test('a router without the meta API: the ApplicationError passes through', async () => {
    const { session, router } = await joined();
    const p = session.meta.sessionCount();
    const c = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: c.request, details: {}, error: 'wamp.error.no_such_procedure' });
    await assert.rejects(p, (e: unknown) => e instanceof ApplicationError && e.uri === 'wamp.error.no_such_procedure');
  });

  test('testaments: add_testament(topic, args, kwargs, publish_options, scope) and flush_testaments(scope)', async () => {
    const { session, router } = await joined();
    const a = session.addTestament('com.example.gone', ['bye'], { who: 'me' }, {
      publishOptions: { exclude_me: false, payload: new Uint8Array(1) },
      scope: 'detached',
    });
    await answer(router, 'wamp.session.add_testament', [], ['com.example.gone', ['bye'], { who: 'me' }], {
      publish_options: { exclude_me: false },
      scope: 'detached',
    });
    await a;
    const b = session.addTestament('com.example.gone');
    await answer(router, 'wamp.session.add_testament', [], ['com.example.gone', [], {}], {});
    await b;
    const f = session.flushTestaments('destroyed');
    await answer(router, 'wamp.session.flush_testaments', [], [], { scope: 'destroyed' });
    await f;
    const g = session.flushTestaments();
    await answer(router, 'wamp.session.flush_testaments', [], [], {});
    await g;
  });
});

test('no unhandled rejections in this file', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(unhandled, []);
});

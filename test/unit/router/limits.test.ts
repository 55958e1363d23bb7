/**
 * Per-session limits: pending calls, concurrent invocations, subscriptions,
 * registrations, testaments, queued input, and the slow-consumer policy.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import { ALL_ROLES, FakeTransport, TestClient } from './client.js';

const errorOf = (m: WampMessage): string => (m.type === MessageType.ERROR ? m.error : `not ERROR: ${JSON.stringify(m)}`);

/** Joins a FakeTransport (a client whose outgoing buffer the test controls). */
async function fakeJoin(router: Router): Promise<{ t: FakeTransport; session: number }> {
  const t = new FakeTransport();
  router.attach(t);
  const welcome = t.nextSent();
  t.inject({ type: MessageType.HELLO, realm: 'realm1', details: { roles: ALL_ROLES } });
  const w = await welcome;
  assert.equal(w.type, MessageType.WELCOME);
  return { t, session: w.type === MessageType.WELCOME ? w.session : 0 };
}

describe('limits', () => {
  test('maxPendingCalls: the call beyond the limit fails with autostrada.error.limit_exceeded', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { maxPendingCalls: 2 } });
    const caller = await TestClient.connect(router);
    const callee = await TestClient.connect(router);
    await callee.reg('com.slow');
    caller.sendCall('com.slow');
    caller.sendCall('com.slow');
    const third = await caller.call('com.slow');
    assert.equal(errorOf(third), 'autostrada.error.limit_exceeded');
    assert.deepEqual(third.type === MessageType.ERROR && third.args, ['max_pending_calls']);
    await router.close();
  });

  test('maxConcurrentInvocations: a busy callee is skipped (roundrobin) or the call fails (single)', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { maxConcurrentInvocations: 1 } });
    const caller = await TestClient.connect(router);
    const busy = await TestClient.connect(router);
    await busy.reg('com.single');
    caller.sendCall('com.single');
    await busy.nextOf(MessageType.INVOCATION);
    const r = await caller.call('com.single');
    assert.deepEqual([errorOf(r), r.type === MessageType.ERROR && r.args], ['autostrada.error.limit_exceeded', ['max_concurrent_invocations']]);
    const a = await TestClient.connect(router);
    const b = await TestClient.connect(router);
    await a.reg('com.rr', { invoke: 'roundrobin' });
    b.serve(await b.reg('com.rr', { invoke: 'roundrobin' }), () => ['b']);
    caller.sendCall('com.rr'); // → a, which never answers
    await a.nextOf(MessageType.INVOCATION);
    assert.deepEqual(await caller.result('com.rr'), ['b']);
    assert.deepEqual(await caller.result('com.rr'), ['b']); // a is still busy: b again
    await router.close();
  });

  test('maxSubscriptions, maxRegistrations, maxTestaments', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { maxSubscriptions: 1, maxRegistrations: 1, maxTestaments: 1 } });
    const c = await TestClient.connect(router);
    await c.sub('a.b');
    await c.sub('a.b'); // the same subscription again is no new one
    assert.equal(errorOf(await c.subscribe('a.c')), 'autostrada.error.limit_exceeded');
    await c.reg('p.a');
    assert.equal(errorOf(await c.register('p.b')), 'autostrada.error.limit_exceeded');
    await c.result('wamp.session.add_testament', ['t.x', [], {}]);
    assert.equal(errorOf(await c.call('wamp.session.add_testament', ['t.x', [], {}])), 'autostrada.error.limit_exceeded');
    await router.close();
  });

  test('maxQueuedMessages: input piling up behind a slow authorizer aborts the session', async () => {
    const router = new Router({
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', authorizer: 'com.authorize' }] }],
      limits: { maxQueuedMessages: 3 },
    });
    const svc = await TestClient.connect(router, { attach: { trusted: true } });
    await svc.reg('com.authorize'); // never answers
    const c = await TestClient.connect(router);
    for (let i = 0; i < 5; i++) c.send({ type: MessageType.SUBSCRIBE, request: c.id(), options: {}, topic: 'a.b' });
    const abort = await c.nextOf(MessageType.ABORT);
    assert.deepEqual([abort.reason, abort.details.message], ['autostrada.error.limit_exceeded', 'max_queued_messages']);
    await c.closed;
    await router.close();
  });
});

describe('slow consumers', () => {
  test('events to a session over eventDropBytes are dropped and counted; others still get theirs', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { eventDropBytes: 100, maxBufferedBytes: 1000 } });
    const slow = await fakeJoin(router);
    const fast = await TestClient.connect(router);
    const pub = await TestClient.connect(router);
    const subReq = 1;
    const subscribed = slow.t.nextSent();
    slow.t.inject({ type: MessageType.SUBSCRIBE, request: subReq, options: {}, topic: 'feed' });
    assert.equal((await subscribed).type, MessageType.SUBSCRIBED);
    await fast.sub('feed');
    slow.t.bufferedAmount = 150; // the socket stopped draining
    for (let i = 0; i < 20; i++) pub.publish('feed', [i]);
    for (let i = 0; i < 20; i++) assert.deepEqual((await fast.nextOf(MessageType.EVENT)).args, [i]);
    assert.equal(slow.t.sent.filter((m) => m.type === MessageType.EVENT).length, 0);
    const info = (await pub.result('wamp.session.get', [slow.session]))![0] as { x_dropped_events: number };
    assert.equal(info.x_dropped_events, 20);
    // Drained: events flow again.
    slow.t.bufferedAmount = 0;
    const next = slow.t.nextSent();
    pub.publish('feed', ['again']);
    const ev = await next;
    assert.deepEqual(ev.type === MessageType.EVENT && ev.args, ['again']);
    await router.close();
  });

  test('a session whose buffer passes maxBufferedBytes is killed: on_leave, transport closed 1008, callers get canceled', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { eventDropBytes: 10_000, maxBufferedBytes: 1000 } });
    const watcher = await TestClient.connect(router);
    await watcher.sub('wamp.session.on_leave');
    const slow = await fakeJoin(router);
    slow.t.growth = 400; // every message sent adds 400 bytes that never drain
    const regd = slow.t.nextSent();
    slow.t.inject({ type: MessageType.REGISTER, request: 1, options: {}, procedure: 'com.slow' });
    assert.equal((await regd).type, MessageType.REGISTERED);
    const caller = await TestClient.connect(router);
    const r1 = caller.sendCall('com.slow', ['x'.repeat(10)]);
    const r2 = caller.sendCall('com.slow');
    const leave = await watcher.nextOf(MessageType.EVENT);
    assert.equal(leave.args![0], slow.session);
    assert.equal(errorOf(await caller.reply(r1)), 'wamp.error.canceled');
    assert.equal(errorOf(await caller.reply(r2)), 'wamp.error.canceled');
    assert.equal(slow.t.closeCode, 1008);
    assert.equal(errorOf(await caller.call('com.slow')), 'wamp.error.no_such_procedure');
    assert.deepEqual(await caller.result('wamp.session.count'), [2]);
    await router.close();
  });
});

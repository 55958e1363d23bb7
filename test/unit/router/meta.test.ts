/**
 * Meta API: session, registration and subscription procedures and events,
 * testaments; realm isolation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import type { WampDict } from '../../../src/wamp/uri.js';
import { TestClient } from './client.js';

const errorOf = (m: WampMessage): string => (m.type === MessageType.ERROR ? m.error : `not ERROR: ${JSON.stringify(m)}`);

async function events(c: TestClient, topics: string[]): Promise<Map<number, string>> {
  const ids = new Map<number, string>();
  for (const t of topics) ids.set(await c.sub(t), t);
  return ids;
}

describe('meta: sessions', () => {
  test('count, list (with authrole filter), get, and on_join/on_leave events', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const watcher = await TestClient.connect(router);
    const subs = await events(watcher, ['wamp.session.on_join', 'wamp.session.on_leave']);
    const c = await TestClient.connect(router);
    const join = await watcher.nextOf(MessageType.EVENT);
    assert.equal(subs.get(join.subscription), 'wamp.session.on_join');
    const d = join.args![0] as WampDict;
    assert.deepEqual([d.session, d.authrole, d.authmethod, d.authprovider], [c.session, 'anonymous', 'anonymous', 'static']);
    assert.equal((d.transport as WampDict).type, 'local');
    assert.deepEqual(await watcher.result('wamp.session.count'), [2]);
    assert.deepEqual(await watcher.result('wamp.session.count', [['nobody']]), [0]);
    assert.deepEqual(((await watcher.result('wamp.session.list'))![0] as number[]).sort(), [watcher.session, c.session].sort());
    const got = (await watcher.result('wamp.session.get', [c.session]))![0] as WampDict;
    assert.deepEqual([got.session, got.authid, got.x_dropped_events], [c.session, c.welcome.authid, 0]);
    assert.equal(errorOf(await watcher.call('wamp.session.get', [123])), 'wamp.error.no_such_session');
    c.close();
    const leave = await watcher.nextOf(MessageType.EVENT);
    assert.equal(subs.get(leave.subscription), 'wamp.session.on_leave');
    assert.deepEqual(leave.args, [c.session, c.welcome.authid, 'anonymous']);
    await router.close();
  });

  test('kill: GOODBYE with reason and message; not oneself; kill_by_authid / kill_by_authrole / kill_all', async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: { anonymous: { type: 'static', role: 'guest' }, ticket: { type: 'static', principals: { joe: { ticket: 't', role: 'user' } } } },
    });
    const admin = await TestClient.connect(router);
    const victim = await TestClient.connect(router);
    assert.equal(errorOf(await admin.call('wamp.session.kill', [admin.session])), 'wamp.error.no_such_session');
    assert.equal(errorOf(await admin.call('wamp.session.kill', [victim.session], { reason: 'not a uri!' })), 'wamp.error.invalid_uri');
    assert.deepEqual(await admin.result('wamp.session.kill', [victim.session], { reason: 'com.example.bye', message: 'go' }), []);
    const bye = await victim.nextOf(MessageType.GOODBYE);
    assert.deepEqual([bye.reason, bye.details], ['com.example.bye', { message: 'go' }]);
    await victim.closed;
    const joe1 = await TestClient.connect(router, { details: { authmethods: ['ticket'], authid: 'joe' }, onChallenge: () => 't' });
    const joe2 = await TestClient.connect(router, { details: { authmethods: ['ticket'], authid: 'joe' }, onChallenge: () => 't' });
    const killed = (await admin.result('wamp.session.kill_by_authid', ['joe']))![0] as number[];
    assert.deepEqual(killed.sort(), [joe1.session, joe2.session].sort());
    assert.equal((await joe1.nextOf(MessageType.GOODBYE)).reason, 'wamp.close.killed');
    const g1 = await TestClient.connect(router);
    await TestClient.connect(router);
    assert.deepEqual(await admin.result('wamp.session.kill_by_authrole', ['guest']), [2]); // not admin itself
    await g1.closed;
    await TestClient.connect(router);
    assert.deepEqual(await admin.result('wamp.session.kill_all'), [1]);
    assert.deepEqual(await admin.result('wamp.session.count'), [1]);
    await router.close();
  });

  test('meta procedures and events never cross realms', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }, { name: 'realm2' }] });
    const a = await TestClient.connect(router);
    await a.sub('wamp.session.on_join');
    const b = await TestClient.connect(router, { realm: 'realm2' });
    await b.reg('com.secret');
    assert.deepEqual(await a.result('wamp.session.count'), [1]);
    assert.equal(errorOf(await a.call('wamp.session.get', [b.session])), 'wamp.error.no_such_session');
    assert.equal(errorOf(await a.call('wamp.session.kill', [b.session])), 'wamp.error.no_such_session');
    assert.deepEqual(await a.result('wamp.registration.match', ['com.secret']), [null]);
    assert.equal(errorOf(await a.call('com.secret')), 'wamp.error.no_such_procedure');
    assert.ok(await a.none((m) => m.type === MessageType.EVENT));
    assert.equal(errorOf(await a.call('wamp.no.such.meta')), 'wamp.error.no_such_procedure');
    await router.close();
  });
});

describe('meta: registrations', () => {
  test('list, lookup, match, get, list_callees, count_callees, and the four events in order', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const w = await TestClient.connect(router);
    const subs = await events(w, ['wamp.registration.on_create', 'wamp.registration.on_register', 'wamp.registration.on_unregister', 'wamp.registration.on_delete']);
    const callee = await TestClient.connect(router);
    const id = await callee.reg('com.example', { match: 'prefix' });
    const create = await w.nextOf(MessageType.EVENT);
    const reg = await w.nextOf(MessageType.EVENT);
    assert.equal(subs.get(create.subscription), 'wamp.registration.on_create');
    const details = create.args![1] as WampDict;
    assert.deepEqual([create.args![0], details.id, details.uri, details.match, details.invoke], [callee.session, id, 'com.example', 'prefix', 'single']);
    assert.equal(typeof details.created, 'string');
    assert.deepEqual([subs.get(reg.subscription), reg.args], ['wamp.registration.on_register', [callee.session, id]]);
    assert.deepEqual(await w.result('wamp.registration.list'), [{ exact: [], prefix: [id], wildcard: [] }]);
    assert.deepEqual(await w.result('wamp.registration.lookup', ['com.example', { match: 'prefix' }]), [id]);
    assert.deepEqual(await w.result('wamp.registration.lookup', ['com.example']), [null]);
    assert.deepEqual(await w.result('wamp.registration.match', ['com.example.x']), [id]);
    assert.equal(((await w.result('wamp.registration.get', [id]))![0] as WampDict).uri, 'com.example');
    assert.deepEqual(await w.result('wamp.registration.list_callees', [id]), [[callee.session]]);
    assert.deepEqual(await w.result('wamp.registration.count_callees', [id]), [1]);
    assert.equal(errorOf(await w.call('wamp.registration.get', [424242])), 'wamp.error.no_such_registration');
    callee.close(); // the callee leaving removes its registration
    const un = await w.nextOf(MessageType.EVENT);
    const del = await w.nextOf(MessageType.EVENT);
    assert.deepEqual([subs.get(un.subscription), un.args], ['wamp.registration.on_unregister', [callee.session, id]]);
    assert.deepEqual([subs.get(del.subscription), del.args], ['wamp.registration.on_delete', [callee.session, id]]);
    await router.close();
  });
});

describe('meta: subscriptions', () => {
  test('list, lookup, match, get, list/count_subscribers, and events', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const w = await TestClient.connect(router);
    const subs = await events(w, ['wamp.subscription.on_create', 'wamp.subscription.on_subscribe', 'wamp.subscription.on_unsubscribe', 'wamp.subscription.on_delete']);
    const s = await TestClient.connect(router);
    const id = await s.sub('com..x', { match: 'wildcard' });
    // (The watcher's own meta subscriptions made on_create/on_subscribe events too: skip those.)
    const bySession = (topic: string) => (m: WampMessage): boolean =>
      m.type === MessageType.EVENT && subs.get(m.subscription) === topic && m.args![0] === s.session;
    const create = (await w.next(bySession('wamp.subscription.on_create'))) as Extract<WampMessage, { type: 36 }>;
    assert.deepEqual([(create.args![1] as WampDict).uri, (create.args![1] as WampDict).match], ['com..x', 'wildcard']);
    const on = (await w.next(bySession('wamp.subscription.on_subscribe'))) as Extract<WampMessage, { type: 36 }>;
    assert.deepEqual(on.args, [s.session, id]);
    const list = (await w.result('wamp.subscription.list'))![0] as Record<string, number[]>;
    assert.deepEqual(list.wildcard, [id]);
    assert.equal(list.exact!.length, 4); // the watcher's own meta subscriptions
    assert.deepEqual(await w.result('wamp.subscription.lookup', ['com..x', { match: 'wildcard' }]), [id]);
    assert.deepEqual(await w.result('wamp.subscription.match', ['com.a.x']), [[id]]);
    assert.deepEqual(await w.result('wamp.subscription.match', ['org.a']), [null]);
    assert.deepEqual(await w.result('wamp.subscription.list_subscribers', [id]), [[s.session]]);
    assert.deepEqual(await w.result('wamp.subscription.count_subscribers', [id]), [1]);
    assert.equal(errorOf(await w.call('wamp.subscription.get', [99999])), 'wamp.error.no_such_subscription');
    const req = s.id();
    s.send({ type: MessageType.UNSUBSCRIBE, request: req, subscription: id });
    assert.deepEqual((await w.next(bySession('wamp.subscription.on_unsubscribe'))).type, MessageType.EVENT);
    assert.deepEqual((await w.next(bySession('wamp.subscription.on_delete'))).type, MessageType.EVENT);
    await router.close();
  });
});

describe('meta: testaments', () => {
  test('add_testament: published on disconnect, detached scope first, in order; flush_testaments removes', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const w = await TestClient.connect(router);
    await w.sub('com.app.gone');
    const c = await TestClient.connect(router);
    assert.deepEqual(await c.result('wamp.session.add_testament', ['com.app.gone', ['destroyed-1'], { who: 'c' }]), []);
    await c.result('wamp.session.add_testament', ['com.app.gone', ['detached-1'], {}], { scope: 'detached' });
    await c.result('wamp.session.add_testament', ['com.app.gone', ['destroyed-2'], {}], { scope: 'destroyed' });
    await c.result('wamp.session.add_testament', ['com.app.gone', ['flushed'], {}], { scope: 'detached' });
    assert.equal(errorOf(await c.call('wamp.session.add_testament', ['com.app.gone', [], {}], { scope: 'never' })), 'wamp.error.invalid_argument');
    assert.equal(errorOf(await c.call('wamp.session.add_testament', ['not a uri', [], {}])), 'wamp.error.invalid_uri');
    assert.deepEqual(await c.result('wamp.session.flush_testaments', [], { scope: 'detached' }), [2]);
    await c.result('wamp.session.add_testament', ['com.app.gone', ['detached-2'], {}], { scope: 'detached' });
    c.close();
    const got: unknown[] = [];
    for (let i = 0; i < 3; i++) got.push((await w.nextOf(MessageType.EVENT)).args![0]);
    assert.deepEqual(got, ['detached-2', 'destroyed-1', 'destroyed-2']);
    assert.ok(await w.none((m) => m.type === MessageType.EVENT));
    await router.close();
  });

  test('a testament is also published when the session is killed or says GOODBYE', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const w = await TestClient.connect(router);
    await w.sub('com.app.gone');
    const c = await TestClient.connect(router);
    await c.result('wamp.session.add_testament', ['com.app.gone', ['bye'], {}]);
    await c.goodbye();
    assert.deepEqual((await w.nextOf(MessageType.EVENT)).args, ['bye']);
    await router.close();
  });
});

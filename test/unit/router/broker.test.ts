/**
 * Broker: subscribe/publish, pattern subscriptions, publisher identification
 * and exclusion, black/white listing, acknowledgement, retention, revocation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type EventMessage, type WampMessage } from '../../../src/wamp/messages.js';
import { TestClient } from './client.js';

const isEvent = (m: WampMessage): m is EventMessage => m.type === MessageType.EVENT;
const errorOf = (m: WampMessage): string => (m.type === MessageType.ERROR ? m.error : `not ERROR: ${JSON.stringify(m)}`);

async function realm(n: number, config: ConstructorParameters<typeof Router>[0] = {}): Promise<{ router: Router; c: TestClient[] }> {
  const router = new Router({ realms: [{ name: 'realm1' }], ...config });
  const c: TestClient[] = [];
  for (let i = 0; i < n; i++) c.push(await TestClient.connect(router));
  return { router, c };
}

describe('broker: basic PubSub', () => {
  test('PUBLISH → EVENT to subscribers, not to the publisher; same subscription ID for the same topic', async () => {
    const { router, c: [pub, s1, s2] } = await realm(3);
    const id1 = await s1!.sub('com.example.topic');
    const id2 = await s2!.sub('com.example.topic');
    assert.equal(id1, id2);
    await pub!.sub('com.example.topic');
    pub!.publish('com.example.topic', [1], { a: 2 });
    for (const s of [s1!, s2!]) {
      const ev = await s.nextOf(MessageType.EVENT);
      assert.deepEqual([ev.subscription, ev.args, ev.kwargs, ev.details], [id1, [1], { a: 2 }, {}]);
    }
    assert.ok(await pub!.none(isEvent));
    await router.close();
  });

  test('acknowledge → PUBLISHED with a publication ID equal to EVENT.Publication', async () => {
    const { router, c: [pub, sub] } = await realm(2);
    await sub!.sub('com.example.t');
    const req = pub!.publish('com.example.t', [], undefined, { acknowledge: true });
    const ack = await pub!.nextOf(MessageType.PUBLISHED, req);
    const ev = await sub!.nextOf(MessageType.EVENT);
    assert.equal(ack.publication, ev.publication);
    await router.close();
  });

  test('publishing to reserved wamp.* topics is refused (acknowledged) ', async () => {
    const { router, c: [pub] } = await realm(1);
    const req = pub!.publish('wamp.session.on_join', [], undefined, { acknowledge: true });
    assert.equal(errorOf(await pub!.nextOf(MessageType.ERROR, req)), 'wamp.error.invalid_uri');
    await router.close();
  });

  test('unsubscribe; unknown subscription → no_such_subscription', async () => {
    const { router, c: [pub, sub] } = await realm(2);
    const id = await sub!.sub('com.example.t');
    const req = sub!.id();
    sub!.send({ type: MessageType.UNSUBSCRIBE, request: req, subscription: id });
    await sub!.nextOf(MessageType.UNSUBSCRIBED, req);
    pub!.publish('com.example.t');
    assert.ok(await sub!.none(isEvent));
    const req2 = sub!.id();
    sub!.send({ type: MessageType.UNSUBSCRIBE, request: req2, subscription: id });
    assert.equal(errorOf(await sub!.nextOf(MessageType.ERROR, req2)), 'wamp.error.no_such_subscription');
    await router.close();
  });
});

describe('broker: pattern-based subscriptions', () => {
  test('prefix and wildcard subscriptions get EVENT.Details.topic; every matching subscription delivers', async () => {
    const { router, c: [pub, sub] } = await realm(2);
    const exact = await sub!.sub('com.example.a.b');
    const prefix = await sub!.sub('com.example', { match: 'prefix' });
    const wild = await sub!.sub('com..a.b', { match: 'wildcard' });
    pub!.publish('com.example.a.b', ['x']);
    const got = [await sub!.nextOf(MessageType.EVENT), await sub!.nextOf(MessageType.EVENT), await sub!.nextOf(MessageType.EVENT)];
    const bySub = new Map(got.map((e) => [e.subscription, e]));
    assert.deepEqual(bySub.get(exact)!.details, {});
    assert.equal(bySub.get(prefix)!.details.topic, 'com.example.a.b');
    assert.equal(bySub.get(wild)!.details.topic, 'com.example.a.b');
    pub!.publish('com.other.a.b');
    assert.equal((await sub!.nextOf(MessageType.EVENT)).subscription, wild);
    pub!.publish('com.example.zzz');
    assert.equal((await sub!.nextOf(MessageType.EVENT)).subscription, prefix);
    pub!.publish('org.x');
    assert.ok(await sub!.none(isEvent));
    await router.close();
  });
});

describe('broker: publisher identification and exclusion', () => {
  test('disclose_me → publisher, publisher_authid, publisher_authrole; exclude_me:false delivers to the publisher', async () => {
    const { router, c: [pub, sub] } = await realm(2);
    await sub!.sub('t.x');
    await pub!.sub('t.x');
    pub!.publish('t.x', [], undefined, { disclose_me: true, exclude_me: false });
    const ev = await sub!.nextOf(MessageType.EVENT);
    assert.deepEqual([ev.details.publisher, ev.details.publisher_authrole], [pub!.session, 'anonymous']);
    assert.equal(typeof ev.details.publisher_authid, 'string');
    assert.equal((await pub!.nextOf(MessageType.EVENT)).details.publisher, pub!.session);
    pub!.publish('t.x');
    assert.equal((await sub!.nextOf(MessageType.EVENT)).details.publisher, undefined);
    await router.close();
  });

  test("publisher disclosure policy: 'deny' → option_disallowed.disclose_me; 'force' → always", async () => {
    const d = await realm(2, { realms: [{ name: 'realm1', disclose: { publisher: 'deny' } }] });
    const req = d.c[0]!.publish('t.x', [], undefined, { disclose_me: true });
    assert.equal(errorOf(await d.c[0]!.nextOf(MessageType.ERROR, req)), 'wamp.error.option_disallowed.disclose_me');
    await d.router.close();
    const f = await realm(2, { realms: [{ name: 'realm1', disclose: { publisher: 'force' } }] });
    await f.c[1]!.sub('t.x');
    f.c[0]!.publish('t.x');
    assert.equal((await f.c[1]!.nextOf(MessageType.EVENT)).details.publisher, f.c[0]!.session);
    await f.router.close();
  });
});

describe('broker: subscriber black- and whitelisting', () => {
  test('eligible/exclude by session, authid and authrole, combined as the spec says', async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: {
        anonymous: { type: 'static' },
        ticket: {
          type: 'static',
          principals: { alice: { ticket: 'a', role: 'admin' }, bob: { ticket: 'b', role: 'user' }, carol: { ticket: 'c', role: 'user' } },
        },
      },
    });
    const join = (authid: string): Promise<TestClient> =>
      TestClient.connect(router, { details: { authmethods: ['ticket'], authid }, onChallenge: () => authid[0]! });
    const pub = await TestClient.connect(router);
    const [alice, bob, carol] = [await join('alice'), await join('bob'), await join('carol')];
    for (const s of [alice, bob, carol]) await s.sub('t.x');
    const receivers = async (options: Record<string, unknown>): Promise<string[]> => {
      pub.publish('t.x', [], undefined, options);
      const out: string[] = [];
      for (const [name, s] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
        if (!(await s.none(isEvent, 30))) out.push(name);
      }
      return out;
    };
    assert.deepEqual(await receivers({ eligible: [alice.session, bob.session] }), ['alice', 'bob']);
    assert.deepEqual(await receivers({ exclude: [bob.session] }), ['alice', 'carol']);
    assert.deepEqual(await receivers({ eligible_authrole: ['user'] }), ['bob', 'carol']);
    assert.deepEqual(await receivers({ exclude_authid: ['carol'] }), ['alice', 'bob']);
    assert.deepEqual(await receivers({ eligible_authid: ['alice', 'bob'], exclude_authrole: ['admin'] }), ['bob']);
    assert.deepEqual(await receivers({ eligible: [alice.session, bob.session, carol.session], exclude: [alice.session] }), ['bob', 'carol']);
    // Malformed lists: the acknowledged publish fails, nobody receives.
    const req = pub.publish('t.x', [], undefined, { eligible: ['not-an-id'], acknowledge: true });
    assert.equal(errorOf(await pub.nextOf(MessageType.ERROR, req)), 'wamp.error.invalid_argument');
    assert.ok(await alice.none(isEvent));
    await router.close();
  });
});

describe('broker: event retention', () => {
  test('retain:true + get_retained → the latest retained event, marked retained; others do not get it', async () => {
    const { router, c: [pub, late, plain] } = await realm(3);
    pub!.publish('sensor.temp', [20], undefined, { retain: true });
    pub!.publish('sensor.temp', [21], undefined, { retain: true, acknowledge: true });
    await pub!.nextOf(MessageType.PUBLISHED);
    pub!.publish('sensor.temp', [99]); // not retained
    const id = await late!.sub('sensor.temp', { get_retained: true });
    const ev = await late!.nextOf(MessageType.EVENT);
    assert.deepEqual([ev.subscription, ev.args, ev.details.retained], [id, [21], true]);
    await plain!.sub('sensor.temp');
    assert.ok(await plain!.none(isEvent));
    // Pattern subscription sees retained events of matching topics, with the topic.
    const p = await TestClient.connect(router);
    await p.sub('sensor', { match: 'prefix', get_retained: true });
    const pe = await p.nextOf(MessageType.EVENT);
    assert.deepEqual([pe.details.topic, pe.args], ['sensor.temp', [21]]);
    await router.close();
  });

  test('a retained event is not given to a subscriber it was not eligible for', async () => {
    const { router, c: [pub, a, b] } = await realm(3);
    pub!.publish('t.r', [1], undefined, { retain: true, eligible: [a!.session] });
    await new Promise((r) => setTimeout(r, 10));
    await a!.sub('t.r', { get_retained: true });
    assert.deepEqual((await a!.nextOf(MessageType.EVENT)).args, [1]);
    await b!.sub('t.r', { get_retained: true });
    assert.ok(await b!.none(isEvent));
    await router.close();
  });
});

describe('broker: subscription revocation', () => {
  test('wamp.subscription.remove_subscriber → UNSUBSCRIBED(0, {subscription, reason}) and no more events', async () => {
    const { router, c: [admin, sub] } = await realm(2);
    const id = await sub!.sub('t.x');
    assert.deepEqual(await admin!.result('wamp.subscription.remove_subscriber', [id, sub!.session], { reason: 'no longer authorized' }), []);
    const m = await sub!.nextOf(MessageType.UNSUBSCRIBED);
    assert.deepEqual([m.request, m.details], [0, { subscription: id, reason: 'no longer authorized' }]);
    admin!.publish('t.x');
    assert.ok(await sub!.none(isEvent));
    await router.close();
  });

  test('wamp.registration.remove_callee → UNREGISTERED(0, {registration, reason})', async () => {
    const { router, c: [admin, callee] } = await realm(2);
    const id = await callee!.reg('com.p');
    await admin!.result('wamp.registration.remove_callee', [id, callee!.session], { reason: 'moved' });
    const m = await callee!.nextOf(MessageType.UNREGISTERED);
    assert.deepEqual([m.request, m.details], [0, { registration: id, reason: 'moved' }]);
    assert.equal(errorOf(await admin!.call('com.p')), 'wamp.error.no_such_procedure');
    await router.close();
  });
});

/**
 * Router sessions: HELLO/WELCOME, realms, authentication (anonymous, ticket,
 * dynamic), GOODBYE, protocol violations, router shutdown.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import { protocolViolation } from '../../../src/wamp/errors.js';
import { ALL_ROLES, FakeTransport, TestClient } from './client.js';
import { Peer } from '../../../src/router/peer.js';

const abortOf = (m: WampMessage): string => (m.type === MessageType.ABORT ? m.reason : `not ABORT: ${JSON.stringify(m)}`);

describe('router: joining', () => {
  test('HELLO → WELCOME with identity and exactly the implemented router features', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const c = await TestClient.connect(router);
    assert.ok(c.session >= 1 && c.session <= 2 ** 53);
    assert.equal(c.welcome.realm, 'realm1');
    assert.equal(c.welcome.authrole, 'anonymous');
    assert.equal(c.welcome.authmethod, 'anonymous');
    assert.equal(c.welcome.authprovider, 'static');
    assert.equal(typeof c.welcome.authid, 'string');
    const roles = c.welcome.roles as Record<string, { features: Record<string, boolean> }>;
    assert.deepEqual(Object.keys(roles).sort(), ['broker', 'dealer']);
    assert.equal(roles.dealer!.features.progressive_call_invocations, true);
    assert.equal(roles.broker!.features.event_retention, true);
    await router.close();
    await c.closed;
  });

  test('unknown realm → ABORT wamp.error.no_such_realm; auto-created realms work', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const c = TestClient.raw(router);
    assert.equal(abortOf(await c.hello('nope')), 'wamp.error.no_such_realm');
    await c.closed;
    const auto = new Router({ autoCreateRealms: true });
    const d = await TestClient.connect(auto, { realm: 'made.up' });
    assert.deepEqual(auto.realmNames, ['made.up']);
    await Promise.all([router.close(), auto.close()]);
    await d.closed;
  });

  test('HELLO without roles is a protocol violation', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const c = TestClient.raw(router);
    c.send({ type: MessageType.HELLO, realm: 'realm1', details: {} });
    const m = await c.nextOf(MessageType.ABORT);
    assert.equal(m.reason, 'wamp.error.protocol_violation');
    assert.equal((await c.closed).code, 1002);
    await router.close();
  });

  test('no matching authmethod → ABORT wamp.error.no_matching_auth_method', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const c = TestClient.raw(router);
    assert.equal(abortOf(await c.hello('realm1', { authmethods: ['wampcra'], authid: 'x' })), 'wamp.error.no_matching_auth_method');
    await router.close();
  });

  test('ticket (static): right ticket → WELCOME with the principal role; wrong or unknown → not_authorized', async () => {
    const router = new Router({
      realms: [{ name: 'realm1', roles: [{ name: 'user', permissions: [] }] }],
      auth: { ticket: { type: 'static', principals: { joe: { ticket: 'secret!!!', role: 'user' } } } },
    });
    const ok = await TestClient.connect(router, {
      details: { authmethods: ['ticket'], authid: 'joe' },
      onChallenge: (method, extra) => {
        assert.equal(method, 'ticket');
        assert.deepEqual(extra, {});
        return 'secret!!!';
      },
    });
    assert.equal(ok.welcome.authid, 'joe');
    assert.equal(ok.welcome.authrole, 'user');
    assert.equal(ok.welcome.authmethod, 'ticket');
    for (const [authid, ticket] of [['joe', 'wrong'], ['nobody', 'secret!!!']] as const) {
      const bad = TestClient.raw(router);
      assert.equal(abortOf(await bad.hello('realm1', { authmethods: ['ticket'], authid }, () => ticket)), 'wamp.error.not_authorized');
      await bad.closed;
    }
    const noAuthid = TestClient.raw(router);
    assert.equal(abortOf(await noAuthid.hello('realm1', { authmethods: ['ticket'] })), 'wamp.error.not_authorized');
    await router.close();
  });

  test('authenticated role missing from the realm → ABORT wamp.error.no_such_role', async () => {
    const router = new Router({
      realms: [{ name: 'realm1', roles: [{ name: 'user' }] }],
      auth: { anonymous: { type: 'static', role: 'guest' } },
    });
    const c = TestClient.raw(router);
    assert.equal(abortOf(await c.hello('realm1')), 'wamp.error.no_such_role');
    await router.close();
  });

  test('dynamic authenticator: a trusted in-process session decides (role, error URI, failure)', async () => {
    const router = new Router({
      realms: [{ name: 'realm1', roles: [{ name: 'user' }] }, { name: 'auth' }],
      auth: { ticket: { type: 'dynamic', authenticator: 'com.example.authenticate', authenticatorRealm: 'auth' } },
      limits: { internalCallTimeout: 300 },
    });
    const authenticator = await TestClient.connect(router, { realm: 'auth', attach: { trusted: true } });
    assert.equal(authenticator.welcome.authrole, 'trusted');
    const reg = await authenticator.reg('com.example.authenticate');
    const seen: unknown[][] = [];
    authenticator.serve(reg, (args) => {
      seen.push(args);
      const [, authid, details] = args as [string, string, { ticket: string }];
      if (authid === 'boom') throw new Error('unreachable');
      if (details.ticket === 'good') return [{ role: 'user', extra: { greeting: 'hi' } }];
      return ['nobody'];
    });
    const ok = await TestClient.connect(router, {
      details: { authmethods: ['ticket'], authid: 'joe' },
      onChallenge: () => 'good',
    });
    assert.equal(ok.welcome.authrole, 'user');
    assert.equal(ok.welcome.authprovider, 'dynamic');
    assert.deepEqual(ok.welcome.authextra, { greeting: 'hi' });
    const [realm, authid, details] = seen[0] as [string, string, Record<string, unknown>];
    assert.equal(realm, 'realm1');
    assert.equal(authid, 'joe');
    assert.equal(details.ticket, 'good');
    assert.equal(details.authmethod, 'ticket');
    assert.equal(details.session, ok.session);
    // A role the realm lacks.
    const bad = TestClient.raw(router);
    assert.equal(abortOf(await bad.hello('realm1', { authmethods: ['ticket'], authid: 'joe' }, () => 'bad')), 'wamp.error.no_such_role');
    await router.close();
  });

  test('dynamic authenticator errors: its error URI aborts; a missing or silent one → authentication_failed', async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: { ticket: { type: 'dynamic', authenticator: 'com.example.authenticate' } },
      limits: { internalCallTimeout: 200 },
    });
    const c0 = TestClient.raw(router);
    assert.equal(abortOf(await c0.hello('realm1', { authmethods: ['ticket'], authid: 'a' }, () => 't')), 'wamp.error.authentication_failed');
    const authenticator = await TestClient.connect(router, { attach: { trusted: true } });
    const reg = await authenticator.reg('com.example.authenticate');
    let mode = 'error';
    const answer = (m: WampMessage): void => {
      if (m.type !== MessageType.INVOCATION || m.registration !== reg) return;
      if (mode === 'error') {
        authenticator.send({ type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: m.request, details: {}, error: 'com.example.denied', args: ['go away'] });
      }
      // mode 'silent': no answer → the router's internal call times out.
    };
    const pump = async (): Promise<void> => answer(await authenticator.nextOf(MessageType.INVOCATION));
    let p = pump();
    const c1 = TestClient.raw(router);
    const a1 = await c1.hello('realm1', { authmethods: ['ticket'], authid: 'a' }, () => 't');
    assert.equal(abortOf(a1), 'com.example.denied');
    assert.equal((a1 as unknown as { details: { message: string } }).details.message, 'go away');
    await p;
    mode = 'silent';
    p = pump();
    const c2 = TestClient.raw(router);
    assert.equal(abortOf(await c2.hello('realm1', { authmethods: ['ticket'], authid: 'a' }, () => 't')), 'wamp.error.authentication_failed');
    await p;
    // The silent invocation was interrupted (killnowait) when the router's call timed out.
    const intr = await authenticator.nextOf(MessageType.INTERRUPT);
    assert.equal(intr.options.mode, 'killnowait');
    await router.close();
  });
});

describe('router: protocol violations', () => {
  const cases: [string, WampMessage][] = [
    ['WELCOME from a client', { type: MessageType.WELCOME, session: 1, details: {} }],
    ['INVOCATION from a client', { type: MessageType.INVOCATION, request: 1, registration: 1, details: {} }],
    ['RESULT from a client', { type: MessageType.RESULT, request: 1, details: {} }],
    ['EVENT from a client', { type: MessageType.EVENT, subscription: 1, publication: 1, details: {} }],
    ['CHALLENGE from a client', { type: MessageType.CHALLENGE, authMethod: 'x', extra: {} }],
    ['a second HELLO', { type: MessageType.HELLO, realm: 'realm1', details: { roles: ALL_ROLES } }],
    ['ERROR for a CALL from a client', { type: MessageType.ERROR, requestType: MessageType.CALL, request: 1, details: {}, error: 'a.b' }],
    ['YIELD for an invocation never issued', { type: MessageType.YIELD, request: 99, options: {} }],
    ['AUTHENTICATE after WELCOME', { type: MessageType.AUTHENTICATE, signature: 'x', extra: {} }],
  ];
  for (const [name, msg] of cases) {
    test(`${name} → ABORT protocol_violation, transport closed, others unaffected`, async () => {
      const router = new Router({ realms: [{ name: 'realm1' }] });
      const other = await TestClient.connect(router);
      const reg = await other.reg('com.example.ping');
      other.serve(reg, () => ['pong']);
      const bad = await TestClient.connect(router);
      await bad.reg('com.example.mine');
      bad.send(msg);
      const abort = await bad.nextOf(MessageType.ABORT);
      assert.equal(abort.reason, 'wamp.error.protocol_violation');
      assert.equal(typeof abort.details.message, 'string');
      await bad.closed;
      // The offender's registration is gone; the other session still works.
      const check = await TestClient.connect(router);
      assert.deepEqual(await check.result('com.example.ping'), ['pong']);
      const gone = await check.call('com.example.mine');
      assert.equal(gone.type === MessageType.ERROR && gone.error, 'wamp.error.no_such_procedure');
      await router.close();
    });
  }

  test('messages before HELLO, and GOODBYE before WELCOME → ABORT protocol_violation', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    for (const msg of [
      { type: MessageType.CALL, request: 1, options: {}, procedure: 'a.b' },
      { type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.close_realm' },
    ] as WampMessage[]) {
      const c = TestClient.raw(router);
      c.send(msg);
      assert.equal((await c.nextOf(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
      await c.closed;
    }
    await router.close();
  });

  test('undecodable input (onProtocolError) → ABORT protocol_violation and close 1002', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const t = new FakeTransport();
    router.attach(t);
    t.inject({ type: MessageType.HELLO, realm: 'realm1', details: { roles: ALL_ROLES } });
    assert.equal((await t.nextSent()).type, MessageType.WELCOME);
    const abort = t.nextSent();
    t.handler!.onProtocolError(protocolViolation('CALL.Request must be an ID'));
    const m = await abort;
    assert.equal(m.type === MessageType.ABORT && m.reason, 'wamp.error.protocol_violation');
    assert.equal(m.type === MessageType.ABORT && m.details.message, 'CALL.Request must be an ID');
    assert.equal(t.closeCode, 1002);
    await router.close();
    assert.equal(router.sessionCount, 0);
  });

  test('no HELLO in time → ABORT and close', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { helloTimeout: 50 } });
    const c = TestClient.raw(router);
    assert.equal((await c.nextOf(MessageType.ABORT)).reason, 'autostrada.error.handshake_timeout');
    await c.closed;
    await router.close();
  });
});

describe('router: closing', () => {
  test('GOODBYE → GOODBYE goodbye_and_out; the transport can join again', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const c = await TestClient.connect(router);
    const first = c.session;
    const bye = await c.goodbye();
    assert.equal(bye.type === MessageType.GOODBYE && bye.reason, 'wamp.close.goodbye_and_out');
    const again = await c.hello('realm1');
    assert.equal(again.type, MessageType.WELCOME);
    assert.notEqual(c.session, first);
    assert.equal(router.sessionCount, 1);
    c.close();
    await c.closed;
    await router.close();
  });

  test('router.close() sends GOODBYE system_shutdown to every session and resolves once closed', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }, { name: 'realm2' }] });
    const a = await TestClient.connect(router);
    const b = await TestClient.connect(router, { realm: 'realm2' });
    const pending = TestClient.raw(router);
    const closing = router.close();
    const ga = await a.nextOf(MessageType.GOODBYE);
    assert.equal(ga.reason, 'wamp.close.system_shutdown');
    const gb = await b.nextOf(MessageType.GOODBYE);
    assert.equal(gb.reason, 'wamp.close.system_shutdown');
    await closing;
    await Promise.all([a.closed, b.closed, pending.closed]);
    assert.equal(router.sessionCount, 0);
    // New transports after close are refused.
    const late = TestClient.raw(router);
    await late.closed;
  });

  test('a session that ignores the shutdown GOODBYE is closed after goodbyeTimeout', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }], limits: { goodbyeTimeout: 50 } });
    const a = await TestClient.connect(router);
    a.autoGoodbye = false;
    const t0 = Date.now();
    await router.close();
    await a.closed;
    assert.ok(Date.now() - t0 >= 40);
  });
});

describe('Peer: client features from HELLO.Details.roles', () => {
  test('announced roles and the spec features set to true; anything else reads as false', () => {
    const link = { send: () => true, sendEvent: () => true, writable: true, kill: () => {} };
    const info = { session: 1, authid: 'a', authrole: 'r', authmethod: 'anonymous', authprovider: 'static', transport: { type: 'local', serializer: 'json', protocol: 'wamp.2.json' } };
    const peer = new Peer(
      info,
      {
        callee: { features: { call_canceling: true, progressive_call_results: true, call_timeout: 'yes', made_up: true } },
        caller: {},
        subscriber: { features: { subscription_revocation: true } },
        publisher: 'not a dict',
      },
      link,
    );
    assert.equal(peer.hasRole('callee'), true);
    assert.equal(peer.hasRole('caller'), true);
    assert.equal(peer.hasRole('subscriber'), true);
    assert.equal(peer.hasRole('publisher'), false);
    assert.equal(peer.has('callee', 'call_canceling'), true);
    assert.equal(peer.calleeCancels, true);
    assert.equal(peer.has('callee', 'progressive_call_results'), true);
    assert.equal(peer.has('callee', 'call_timeout'), false, 'only `true` counts');
    assert.equal(peer.has('callee', 'made_up'), false, 'not a spec feature');
    assert.equal(peer.has('caller', 'progressive_call_results'), false);
    assert.equal(peer.has('subscriber', 'subscription_revocation'), true);
    assert.equal(peer.has('publisher', 'publisher_exclusion'), false);
    const alsoCancels = new Peer(info, { callee: { features: { call_cancelling: true } } }, link);
    assert.equal(alsoCancels.calleeCancels, true);
  });
});

/**
 * Session lifecycle against a scripted router: HELLO/WELCOME, authentication
 * (authenticators, the onChallenge hook, failures), ABORT, timeouts, leaving
 * (GOODBYE both ways), transport loss, and protocol violations by the router
 * in every state (basic profile, "Sessions", "Protocol Errors").
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../../src/wamp/messages.js';
import type { ClientAuthenticator } from '../../../src/wamp/auth/types.js';
import { ApplicationError, Session, WampSessionError, type LeaveInfo } from '../../../src/wamp/session.js';
import { ScriptedRouter, defaultRoles, joined } from './session-fixture.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** Asserts a promise rejects with a WampSessionError of `code` (and `uri`, if given). */
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

function authenticator(method: string, overrides: Partial<ClientAuthenticator> = {}): ClientAuthenticator & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    method,
    seen,
    onChallenge(extra, channel) {
      seen.push({ extra, channel });
      return `sig-for-${String(extra.challenge)}`;
    },
    ...overrides,
  };
}

describe('joining', () => {
  test('HELLO announces realm, agent and exactly the implemented roles; WELCOME sets the session up', async () => {
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'com.example.realm');
    const hello = await router.expect(MessageType.HELLO);
    assert.equal(hello.realm, 'com.example.realm');
    assert.equal(hello.details.agent, 'autostrada');
    assert.deepEqual(hello.details.roles, defaultRoles());
    assert.equal('authmethods' in hello.details, false, 'anonymous: no authmethods');
    assert.equal('authid' in hello.details, false);
    router.send({
      type: MessageType.WELCOME,
      session: 9007199254740992,
      details: {
        realm: 'com.example.realm',
        authid: 'joe',
        authrole: 'user',
        authmethod: 'anonymous',
        authprovider: 'static',
        authextra: { x: 1 },
        roles: { broker: { features: { publisher_exclusion: true } }, dealer: {} },
      },
    });
    const session = await joining;
    assert.equal(session.id, 9007199254740992);
    assert.equal(session.realm, 'com.example.realm');
    assert.equal(session.authid, 'joe');
    assert.equal(session.authrole, 'user');
    assert.equal(session.authmethod, 'anonymous');
    assert.equal(session.authprovider, 'static');
    assert.deepEqual(session.authextra, { x: 1 });
    assert.deepEqual(session.features, { broker: { publisher_exclusion: true }, dealer: {} });
    assert.equal(session.supports('broker', 'publisher_exclusion'), true);
    assert.equal(session.supports('dealer', 'call_canceling'), false);
    assert.equal(session.isOpen, true);
  });

  test('roles, agent and extra HELLO details can be overridden; x_ keys pass', async () => {
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'realm1', {
      roles: { subscriber: {} },
      agent: 'my-app/1.0',
      details: { x_custom: [1, 2], resumable: false },
    });
    const hello = await router.expect(MessageType.HELLO);
    assert.deepEqual(hello.details, { agent: 'my-app/1.0', roles: { subscriber: {} }, x_custom: [1, 2], resumable: false });
    router.welcome();
    await joining;
  });

  test('authenticators: authmethods, authid, merged authextra; CHALLENGE answered; WELCOME verified', async () => {
    const welcomed: unknown[] = [];
    const ticket = authenticator('ticket', { authid: 'alice' });
    const cs = authenticator('cryptosign', {
      authextra: { pubkey: 'aa' },
      onChallenge: () => ({ signature: 'signed', extra: { channel_binding: null } }),
      onWelcome: (d) => {
        welcomed.push(d);
      },
    });
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'realm1', {
      authenticators: [cs, ticket],
      authrole: 'admin',
      authextra: { extra: true },
    });
    const hello = await router.expect(MessageType.HELLO);
    assert.deepEqual(hello.details.authmethods, ['cryptosign', 'ticket']);
    assert.equal(hello.details.authid, 'alice');
    assert.equal(hello.details.authrole, 'admin');
    assert.deepEqual(hello.details.authextra, { pubkey: 'aa', extra: true });
    router.send({ type: MessageType.CHALLENGE, authMethod: 'cryptosign', extra: { challenge: 'ff' } });
    const auth = await router.expect(MessageType.AUTHENTICATE);
    assert.equal(auth.signature, 'signed');
    assert.deepEqual(auth.extra, { channel_binding: null });
    router.welcome(1, { authmethod: 'cryptosign', authid: 'alice' });
    const session = await joining;
    assert.equal(welcomed.length, 1);
    assert.equal(session.authid, 'alice');
  });

  test('a string answer becomes AUTHENTICATE.Signature with empty Extra; async answers work', async () => {
    const router = new ScriptedRouter();
    const t = authenticator('ticket', { onChallenge: async () => 'secret-ticket' });
    const joining = Session.join(router.transport, 'realm1', { authenticators: [t], authid: 'bob' });
    assert.equal((await router.expect(MessageType.HELLO)).details.authid, 'bob');
    router.send({ type: MessageType.CHALLENGE, authMethod: 'ticket', extra: {} });
    const auth = await router.expect(MessageType.AUTHENTICATE);
    assert.equal(auth.signature, 'secret-ticket');
    assert.deepEqual(auth.extra, {});
    router.welcome();
    await joining;
  });

  test('the onChallenge hook answers methods no authenticator handles', async () => {
    const router = new ScriptedRouter();
    const calls: unknown[] = [];
    const joining = Session.join(router.transport, 'realm1', {
      authmethods: ['x-custom'],
      onChallenge: (method, extra) => {
        calls.push([method, extra]);
        return { signature: 'custom', extra: { n: 1 } };
      },
    });
    assert.deepEqual((await router.expect(MessageType.HELLO)).details.authmethods, ['x-custom']);
    router.send({ type: MessageType.CHALLENGE, authMethod: 'x-custom', extra: { nonce: 'abc' } });
    const auth = await router.expect(MessageType.AUTHENTICATE);
    assert.deepEqual([auth.signature, auth.extra], ['custom', { n: 1 }]);
    assert.deepEqual(calls, [['x-custom', { nonce: 'abc' }]]);
    router.welcome();
    await joining;
  });

  test('a CHALLENGE nobody answers: ABORT wamp.error.cannot_authenticate, WAMP_ERR_AUTHENTICATION', async () => {
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'realm1', { authmethods: ['wampcra'] });
    await router.expect(MessageType.HELLO);
    router.send({ type: MessageType.CHALLENGE, authMethod: 'wampcra', extra: {} });
    await rejectsWith(joining, 'WAMP_ERR_AUTHENTICATION', 'wamp.error.cannot_authenticate');
    const abort = await router.expect(MessageType.ABORT);
    assert.equal(abort.reason, 'wamp.error.cannot_authenticate');
    assert.deepEqual(router.transport.closedWith?.code, 1000);
  });

  test('an authenticator that throws (sync or async) fails the join without leaking its message', async () => {
    for (const onChallenge of [
      () => {
        throw new Error('private key missing at /secret/path');
      },
      () => Promise.reject(new Error('private key missing at /secret/path')),
    ]) {
      const router = new ScriptedRouter();
      const joining = Session.join(router.transport, 'realm1', { authenticators: [authenticator('cryptosign', { onChallenge })] });
      await router.expect(MessageType.HELLO);
      router.send({ type: MessageType.CHALLENGE, authMethod: 'cryptosign', extra: {} });
      const err = await rejectsWith(joining, 'WAMP_ERR_AUTHENTICATION', 'wamp.error.cannot_authenticate');
      assert.ok(err.cause instanceof Error);
      const abort = await router.expect(MessageType.ABORT);
      assert.doesNotMatch(JSON.stringify(abort.details), /secret/);
    }
  });

  test('onWelcome throwing (router failed verification): ABORT wamp.error.authentication_failed', async () => {
    const router = new ScriptedRouter();
    const scram = authenticator('scram', {
      onWelcome: () => {
        throw new Error('bad server signature');
      },
    });
    const joining = Session.join(router.transport, 'realm1', { authenticators: [scram] });
    await router.expect(MessageType.HELLO);
    router.send({ type: MessageType.CHALLENGE, authMethod: 'scram', extra: { challenge: 1 } });
    await router.expect(MessageType.AUTHENTICATE);
    router.welcome(1, { authmethod: 'scram' });
    await rejectsWith(joining, 'WAMP_ERR_AUTHENTICATION', 'wamp.error.authentication_failed');
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.authentication_failed');
  });

  test('ABORT: rejects WAMP_ERR_JOIN_ABORTED carrying the reason URI, details and message', async () => {
    for (const reason of ['wamp.error.no_such_realm', 'wamp.error.authentication_failed', 'com.example.custom']) {
      const router = new ScriptedRouter();
      const left: LeaveInfo[] = [];
      const joining = Session.join(router.transport, 'nowhere', { onLeave: (i) => left.push(i) });
      await router.expect(MessageType.HELLO);
      router.send({ type: MessageType.ABORT, details: { message: 'no realm here' }, reason, args: ['a'], kwargs: { k: 1 } });
      const err = await rejectsWith(joining, 'WAMP_ERR_JOIN_ABORTED', reason);
      assert.deepEqual(err.details, { message: 'no realm here' });
      assert.deepEqual([err.args, err.kwargs], [['a'], { k: 1 }]);
      assert.match(err.message, /no realm here/);
      assert.equal(left.length, 1);
      assert.equal(left[0]!.initiator, 'router');
      assert.equal(left[0]!.reason, reason);
      await router.expectNothing(); // ABORT is never answered
    }
  });

  test('no WELCOME in time: ABORT wamp.error.timeout, WAMP_ERR_TIMEOUT, transport closed', async () => {
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'realm1', { timeout: 30 });
    await router.expect(MessageType.HELLO);
    await rejectsWith(joining, 'WAMP_ERR_TIMEOUT', 'wamp.error.timeout');
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.timeout');
    assert.ok(router.transport.closedWith);
  });

  test('an AbortSignal cancels joining (before and during)', async () => {
    const router = new ScriptedRouter();
    await rejectsWith(Session.join(router.transport, 'realm1', { signal: AbortSignal.abort() }), 'WAMP_ERR_CANCELED');
    await router.expectNothing();
    const router2 = new ScriptedRouter();
    const ac = new AbortController();
    const joining = Session.join(router2.transport, 'realm1', { signal: ac.signal });
    await router2.expect(MessageType.HELLO);
    ac.abort();
    await rejectsWith(joining, 'WAMP_ERR_CANCELED', 'wamp.error.canceled');
    assert.equal((await router2.expect(MessageType.ABORT)).reason, 'wamp.error.canceled');
  });

  test('the transport closing during the join rejects with wamp.close.transport_lost', async () => {
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'realm1');
    await router.expect(MessageType.HELLO);
    router.transport.drop();
    await rejectsWith(joining, 'WAMP_ERR_SESSION_CLOSED', 'wamp.close.transport_lost');
  });

  test('an invalid realm URI is refused before anything is sent', async () => {
    const router = new ScriptedRouter();
    await rejectsWith(Session.join(router.transport, 'bad realm'), 'WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_uri');
    await router.expectNothing();
  });

  for (const [name, wire] of [
    ['GOODBYE', [6, {}, 'wamp.close.normal']],
    ['ERROR', [8, 48, 1, {}, 'wamp.error.x']],
    ['RESULT', [50, 1, {}]],
    ['EVENT', [36, 1, 2, {}]],
    ['INVOCATION', [68, 1, 2, {}]],
    ['HELLO', [1, 'realm1', {}]],
  ] as const) {
    test(`${name} before WELCOME is a protocol violation (ABORT, WAMP_ERR_PROTOCOL_VIOLATION)`, async () => {
      const router = new ScriptedRouter();
      const joining = Session.join(router.transport, 'realm1');
      await router.expect(MessageType.HELLO);
      router.sendWire([...wire]);
      await rejectsWith(joining, 'WAMP_ERR_PROTOCOL_VIOLATION', 'wamp.error.protocol_violation');
      const abort = await router.expect(MessageType.ABORT);
      assert.equal(abort.reason, 'wamp.error.protocol_violation');
      assert.match(String(abort.details.message), new RegExp(name));
    });
  }

  test('WELCOME while a CHALLENGE is being answered, or a second CHALLENGE then, is a protocol violation', async () => {
    for (const second of [
      [2, 1, {}],
      [4, 'ticket', {}],
    ]) {
      const router = new ScriptedRouter();
      let answer!: (s: string) => void;
      const t = authenticator('ticket', { onChallenge: () => new Promise<string>((r) => (answer = r)) });
      const joining = Session.join(router.transport, 'realm1', { authenticators: [t] });
      await router.expect(MessageType.HELLO);
      router.send({ type: MessageType.CHALLENGE, authMethod: 'ticket', extra: {} });
      router.sendWire(second);
      await rejectsWith(joining, 'WAMP_ERR_PROTOCOL_VIOLATION');
      assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
      answer('late');
      await router.expectNothing(); // the late answer is not sent
    }
  });

  test('undecodable data during the join is a protocol violation', async () => {
    const router = new ScriptedRouter();
    const joining = Session.join(router.transport, 'realm1');
    await router.expect(MessageType.HELLO);
    router.transport.inject('{not json');
    await rejectsWith(joining, 'WAMP_ERR_PROTOCOL_VIOLATION');
  });

  test('a transport that is already open is refused', async () => {
    const router = new ScriptedRouter();
    router.transport.open({ onMessage() {}, onProtocolError() {}, onClose() {} });
    await rejectsWith(Session.join(router.transport, 'realm1'), 'WAMP_ERR_INVALID_ARGUMENT');
  });
});

describe('leaving', () => {
  test('leave(): GOODBYE with reason and message, resolves on the router GOODBYE, closes the transport', async () => {
    const { session, router } = await joined();
    const left: LeaveInfo[] = [];
    void session.closed.then((i) => left.push(i));
    const call = session.call('com.example.slow');
    await router.expect(MessageType.CALL);
    const leaving = session.leave('wamp.close.system_shutdown', 'bye now');
    const goodbye = await router.expect(MessageType.GOODBYE);
    assert.equal(goodbye.reason, 'wamp.close.system_shutdown');
    assert.deepEqual(goodbye.details, { message: 'bye now' });
    assert.equal(session.isOpen, false);
    await rejectsWith(call, 'WAMP_ERR_SESSION_CLOSED', 'wamp.close.system_shutdown');
    await rejectsWith(session.call('com.example.x'), 'WAMP_ERR_SESSION_CLOSED');
    router.send({ type: MessageType.GOODBYE, details: { m: 1 }, reason: 'wamp.close.goodbye_and_out' });
    const info = await leaving;
    assert.equal(info.reason, 'wamp.close.system_shutdown');
    assert.equal(info.initiator, 'local');
    assert.deepEqual(info.details, { m: 1 });
    assert.equal(info.error, undefined);
    assert.ok(router.transport.closedWith);
    assert.equal(left.length, 1);
    assert.equal(await session.leave(), info, 'leave() again returns the same info');
    await router.expectNothing();
  });

  test('leave() with no answer from the router ends after leaveTimeout', async () => {
    const { session, router } = await joined({ leaveTimeout: 20 });
    const info = await session.leave();
    assert.equal(info.reason, 'wamp.close.normal');
    assert.ok(info.error instanceof WampSessionError && info.error.code === 'WAMP_ERR_TIMEOUT');
    assert.ok(router.transport.closedWith);
  });

  test('messages arriving while leaving are ignored; the transport closing ends the leave', async () => {
    const { session, router } = await joined();
    const leaving = session.leave();
    await router.expect(MessageType.GOODBYE);
    router.send({ type: MessageType.EVENT, subscription: 5, publication: 6, details: {} });
    router.send({ type: MessageType.RESULT, request: 77, details: {} });
    router.transport.drop();
    const info = await leaving;
    assert.equal(info.initiator, 'local');
    assert.equal(info.transport?.code, 1006);
    await router.expectNothing();
  });

  test('router GOODBYE: we answer wamp.close.goodbye_and_out; closed and onLeave report the router reason', async () => {
    const hooked: LeaveInfo[] = [];
    const { session, router } = await joined({ onLeave: (i) => hooked.push(i) });
    const call = session.call('com.example.x');
    await router.expect(MessageType.CALL);
    router.send({ type: MessageType.GOODBYE, details: { message: 'maintenance' }, reason: 'wamp.close.system_shutdown' });
    const reply = await router.expect(MessageType.GOODBYE);
    assert.equal(reply.reason, 'wamp.close.goodbye_and_out');
    const info = await session.closed;
    assert.deepEqual([info.reason, info.message, info.initiator], ['wamp.close.system_shutdown', 'maintenance', 'router']);
    assert.deepEqual(hooked, [info]);
    await rejectsWith(call, 'WAMP_ERR_SESSION_CLOSED', 'wamp.close.system_shutdown');
  });

  test('router ABORT in an established session ends it without an answer', async () => {
    const { session, router } = await joined();
    router.send({ type: MessageType.ABORT, details: {}, reason: 'wamp.error.system_shutdown' });
    const info = await session.closed;
    assert.deepEqual([info.reason, info.initiator], ['wamp.error.system_shutdown', 'router']);
    await router.expectNothing();
  });

  test('transport loss: closed resolves with wamp.close.transport_lost; everything pending rejects', async () => {
    const { session, router } = await joined();
    const call = session.call('com.example.x');
    const sub = session.subscribe('com.example.t', () => {});
    const reg = session.register('com.example.p', () => 1);
    const pub = session.publish('com.example.t', [], {}, { acknowledge: true });
    router.transport.drop();
    for (const p of [call, sub, reg, pub]) await rejectsWith(p, 'WAMP_ERR_SESSION_CLOSED', 'wamp.close.transport_lost');
    const info = await session.closed;
    assert.deepEqual([info.reason, info.initiator, info.transport?.code], ['wamp.close.transport_lost', 'transport', 1006]);
    await rejectsWith(session.publish('com.example.t'), 'WAMP_ERR_SESSION_CLOSED');
    assert.equal((await session.leave()).reason, 'wamp.close.transport_lost');
  });

  test('an onLeave hook that throws goes to onUserError (kind hook)', async () => {
    const errors: unknown[] = [];
    const { session, router } = await joined({
      onLeave: () => {
        throw new Error('hook failed');
      },
      onUserError: (e, ctx) => errors.push([String(e), ctx.kind]),
    });
    router.transport.drop();
    await session.closed;
    assert.deepEqual(errors, [['Error: hook failed', 'hook']]);
  });
});

describe('protocol violations in an established session', () => {
  const cases: [string, unknown[]][] = [
    ['second WELCOME', [2, 5, {}]],
    ['CHALLENGE', [4, 'ticket', {}]],
    ['HELLO', [1, 'realm1', {}]],
    ['CALL (router-bound type)', [48, 1, {}, 'com.x']],
    ['YIELD (router-bound type)', [70, 1, {}]],
    ['RESULT for an unknown request', [50, 99, {}]],
    ['SUBSCRIBED for an unknown request', [33, 99, 5]],
    ['PUBLISHED for an unknown request', [17, 99, 5]],
    ['REGISTERED for an unknown request', [65, 99, 5]],
    ['UNREGISTERED for an unknown request', [67, 99]],
    ['UNSUBSCRIBED for an unknown request', [35, 99]],
    ['ERROR for an unknown request', [8, 48, 99, {}, 'wamp.error.x']],
    ['ERROR with REQUEST.Type INVOCATION', [8, 68, 1, {}, 'wamp.error.x']],
    ['unknown message type', [1000, 1]],
    ['wrong arity', [50]],
  ];
  for (const [name, wire] of cases) {
    test(`${name}: ABORT wamp.error.protocol_violation, pending requests reject`, async () => {
      const { session, router } = await joined();
      const call = session.call('com.example.pending');
      await router.expect(MessageType.CALL);
      router.sendWire(wire);
      const abort = await router.expect(MessageType.ABORT);
      assert.equal(abort.reason, 'wamp.error.protocol_violation');
      assert.equal(typeof abort.details.message, 'string');
      await rejectsWith(call, 'WAMP_ERR_PROTOCOL_VIOLATION', 'wamp.error.protocol_violation');
      const info = await session.closed;
      assert.equal(info.reason, 'wamp.error.protocol_violation');
      assert.equal(info.initiator, 'local');
      assert.ok(router.transport.closedWith);
      // Nothing is processed after the abort.
      router.sendWire([50, 1, {}]);
      await router.expectNothing();
    });
  }

  test('a reply whose type does not match the request (SUBSCRIBED for a CALL) is a violation', async () => {
    const { session, router } = await joined();
    const call = session.call('com.example.x');
    const c = await router.expect(MessageType.CALL);
    router.send({ type: MessageType.SUBSCRIBED, request: c.request, subscription: 3 });
    await rejectsWith(call, 'WAMP_ERR_PROTOCOL_VIOLATION');
  });

  test('ERROR whose REQUEST.Type does not match the request is a violation', async () => {
    const { session, router } = await joined();
    const sub = session.subscribe('com.example.t', () => {});
    const s = await router.expect(MessageType.SUBSCRIBE);
    router.send({ type: MessageType.ERROR, requestType: MessageType.CALL, request: s.request, details: {}, error: 'wamp.error.x' });
    await rejectsWith(sub, 'WAMP_ERR_PROTOCOL_VIOLATION');
  });

  test('undecodable bytes are a violation, not a crash', async () => {
    const { session, router } = await joined();
    router.transport.inject(new Uint8Array([0xff, 0xfe, 0x00]));
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
    assert.equal((await session.closed).error instanceof WampSessionError, true);
  });

  test('null payloads are read as absent when the transport accepts them (fox-wamp style)', async () => {
    const { session, router } = await joined();
    const call = session.call('com.example.x');
    const c = await router.expect(MessageType.CALL);
    router.sendWire([50, c.request, {}, null, null]);
    const r = await call;
    assert.deepEqual([r.args, r.kwargs], [[], {}]);
  });
});

describe('errors', () => {
  test('ApplicationError and WampSessionError carry code, uri and payload', () => {
    const a = new ApplicationError('com.example.e', ['why'], { k: 1 }, { details: { d: 1 } });
    assert.equal(a.message, 'com.example.e: why');
    assert.deepEqual([a.code, a.uri, a.args, a.kwargs, a.details], ['WAMP_ERR_APPLICATION', 'com.example.e', ['why'], { k: 1 }, { d: 1 }]);
    assert.equal(new ApplicationError('com.example.e').message, 'com.example.e');
    const s = new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', 'late', { cause: 1 });
    assert.deepEqual([s.code, s.uri, s.message, s.cause], ['WAMP_ERR_TIMEOUT', 'wamp.error.timeout', 'late', 1]);
  });
});

test('no unhandled rejections in this file', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(unhandled, []);
});

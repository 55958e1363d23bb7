/**
 * Dealer: RPC routing, shared and pattern registrations, caller
 * identification, progressive results and invocations, canceling, timeouts,
 * callers and callees leaving.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import type { WampDict } from '../../../src/wamp/uri.js';
import { ALL_ROLES, TestClient } from './client.js';

const errorOf = (m: WampMessage): string => (m.type === MessageType.ERROR ? m.error : `not ERROR: ${JSON.stringify(m)}`);

async function setup(config: ConstructorParameters<typeof Router>[0] = {}): Promise<{ router: Router; caller: TestClient; callee: TestClient }> {
  const router = new Router({ realms: [{ name: 'realm1' }], ...config });
  const caller = await TestClient.connect(router);
  const callee = await TestClient.connect(router);
  return { router, caller, callee };
}

describe('dealer: basic RPC', () => {
  test('CALL → INVOCATION → YIELD → RESULT, args and kwargs intact', async () => {
    const { router, caller, callee } = await setup();
    const reg = await callee.reg('com.example.add');
    const request = caller.sendCall('com.example.add', [2, 3], { k: 'v' });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    assert.equal(inv.registration, reg);
    assert.deepEqual(inv.args, [2, 3]);
    assert.deepEqual(inv.kwargs, { k: 'v' });
    assert.deepEqual(inv.details, {});
    callee.send({ type: MessageType.YIELD, request: inv.request, options: {}, args: [5], kwargs: { sum: true } });
    const res = await caller.reply(request);
    assert.equal(res.type, MessageType.RESULT);
    assert.deepEqual(res.type === MessageType.RESULT && [res.args, res.kwargs, res.details], [[5], { sum: true }, {}]);
    await router.close();
  });

  test('ERROR from the callee reaches the caller with URI and payload', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.fail');
    const request = caller.sendCall('com.example.fail');
    const inv = await callee.nextOf(MessageType.INVOCATION);
    callee.send({ type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: inv.request, details: {}, error: 'com.example.oops', args: ['bad'], kwargs: { code: 7 } });
    const err = await caller.reply(request);
    assert.equal(errorOf(err), 'com.example.oops');
    assert.deepEqual(err.type === MessageType.ERROR && [err.args, err.kwargs], [['bad'], { code: 7 }]);
    await router.close();
  });

  test('no registration → no_such_procedure; duplicate single registration → procedure_already_exists; unregister', async () => {
    const { router, caller, callee } = await setup();
    assert.equal(errorOf(await caller.call('com.example.none')), 'wamp.error.no_such_procedure');
    const reg = await callee.reg('com.example.p');
    assert.equal(errorOf(await caller.register('com.example.p')), 'wamp.error.procedure_already_exists');
    assert.equal(errorOf(await callee.register('com.example.p')), 'wamp.error.procedure_already_exists');
    const req = callee.id();
    callee.send({ type: MessageType.UNREGISTER, request: req, registration: reg });
    assert.equal((await callee.nextOf(MessageType.UNREGISTERED, req)).request, req);
    const req2 = callee.id();
    callee.send({ type: MessageType.UNREGISTER, request: req2, registration: reg });
    assert.equal(errorOf(await callee.nextOf(MessageType.ERROR, req2)), 'wamp.error.no_such_registration');
    assert.equal(errorOf(await caller.call('com.example.p')), 'wamp.error.no_such_procedure');
    await router.close();
  });

  test('reserved wamp.* procedures cannot be registered; bad invoke policy is invalid_argument', async () => {
    const { router, callee } = await setup();
    assert.equal(errorOf(await callee.register('wamp.session.count')), 'wamp.error.invalid_uri');
    assert.equal(errorOf(await callee.register('com.x', { invoke: 'sometimes' })), 'wamp.error.invalid_argument');
    await router.close();
  });

  test('a duplicate CALL request ID in flight is a protocol violation', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.slow');
    caller.send({ type: MessageType.CALL, request: 100, options: {}, procedure: 'com.example.slow' });
    await callee.nextOf(MessageType.INVOCATION);
    caller.send({ type: MessageType.CALL, request: 100, options: {}, procedure: 'com.example.slow' });
    assert.equal((await caller.nextOf(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
    // The callee is told to stop the orphaned invocation.
    assert.equal((await callee.nextOf(MessageType.INTERRUPT)).options.mode, 'killnowait');
    await router.close();
  });
});

describe('dealer: pattern-based registrations', () => {
  test("the spec's precedence examples (exact > longest prefix > most specific wildcard)", async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const callee = await TestClient.connect(router);
    const caller = await TestClient.connect(router);
    const regs: [string, WampDict][] = [
      ['a1.b2.c3.d4.e55', {}],
      ['a1.b2.c3', { match: 'prefix' }],
      ['a1.b2.c3.d4', { match: 'prefix' }],
      ['a1.b2..d4.e5', { match: 'wildcard' }],
      ['a1.b2.c33..e5', { match: 'wildcard' }],
      ['a1.b2..d4.e5..g7', { match: 'wildcard' }],
      ['a1.b2..d4..f6.g7', { match: 'wildcard' }],
      ['a1.b2.x33..e5', { match: 'wildcard' }],
    ];
    const ids: number[] = [];
    for (const [i, [uri, opts]] of regs.entries()) {
      const id = await callee.reg(uri, opts);
      ids.push(id);
      callee.serve(id, (_a, details) => [i + 1, details.procedure ?? null]);
    }
    const expect: [string, number][] = [
      ['a1.b2.c3.d4.e55', 1],
      ['a1.b2.c3.d98.e74', 2],
      ['a1.b2.c3.d4.e325', 3],
      ['a1.b2.c55.d4.e5', 4],
      // The spec's example expects RPC 5 here, but the same spec's prefix section
      // matches by string prefix ('com.myapp.myobject1-mysubobject1' matches
      // 'com.myapp.myobject1'), as Crossbar does, so 'a1.b2.c3' (prefix) wins.
      ['a1.b2.c33.d4.e5', 2],
      // The wildcard ranking the example meant: longer first literal run wins.
      ['a1.b2.x33.d4.e5', 8],
      ['a1.b2.c88.d4.e5.f6.g7', 6],
    ];
    for (const [uri, n] of expect) {
      const r = await caller.result(uri);
      assert.deepEqual(r, [n, n === 1 ? null : uri], uri);
    }
    assert.equal(errorOf(await caller.call('a2.b2.c2.d2.e2')), 'wamp.error.no_such_procedure');
    // Meta: match gives the same answer.
    assert.deepEqual(await caller.result('wamp.registration.match', ['a1.b2.x33.d4.e5']), [ids[7]]);
    await router.close();
  });
});

describe('dealer: shared registrations', () => {
  async function shared(invoke: string, n = 3): Promise<{ router: Router; caller: TestClient; order: () => Promise<number[]> }> {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const caller = await TestClient.connect(router);
    const callees: TestClient[] = [];
    for (let i = 0; i < n; i++) {
      const c = await TestClient.connect(router);
      const id = await c.reg('com.example.shared', { invoke });
      c.serve(id, () => [i]);
      callees.push(c);
    }
    const order = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let k = 0; k < 6; k++) out.push((await caller.result('com.example.shared'))![0] as number);
      return out;
    };
    return { router, caller, order };
  }

  test('roundrobin cycles in registration order', async () => {
    const { router, order } = await shared('roundrobin');
    assert.deepEqual(await order(), [0, 1, 2, 0, 1, 2]);
    await router.close();
  });
  test('first and last pick the first/last callee', async () => {
    const a = await shared('first');
    assert.deepEqual(await a.order(), [0, 0, 0, 0, 0, 0]);
    await a.router.close();
    const b = await shared('last');
    assert.deepEqual(await b.order(), [2, 2, 2, 2, 2, 2]);
    await b.router.close();
  });
  test('random picks among all callees', async () => {
    const { router, caller } = await shared('random');
    const seen = new Set<unknown>();
    for (let k = 0; k < 60 && seen.size < 3; k++) seen.add((await caller.result('com.example.shared'))![0]);
    assert.equal(seen.size, 3);
    await router.close();
  });
  test('a different invoke policy, or single, is refused; the callee list follows unregistration', async () => {
    const { router, caller } = await shared('roundrobin', 2);
    assert.equal(errorOf(await caller.register('com.example.shared', { invoke: 'first' })), 'wamp.error.procedure_already_exists');
    assert.equal(errorOf(await caller.register('com.example.shared')), 'wamp.error.procedure_already_exists');
    const regId = (await caller.result('wamp.registration.lookup', ['com.example.shared']))![0] as number;
    assert.deepEqual(await caller.result('wamp.registration.count_callees', [regId]), [2]);
    await router.close();
  });
});

describe('dealer: caller identification', () => {
  test('disclose_me and disclose_caller put caller, caller_authid, caller_authrole in INVOCATION.Details', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.who');
    caller.sendCall('com.example.who', [], undefined, { disclose_me: true });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    assert.equal(inv.details.caller, caller.session);
    assert.equal(inv.details.caller_authrole, 'anonymous');
    assert.equal(typeof inv.details.caller_authid, 'string');
    const other = await TestClient.connect(router);
    await other.reg('com.example.who2', { disclose_caller: true });
    caller.sendCall('com.example.who2');
    assert.equal((await other.nextOf(MessageType.INVOCATION)).details.caller, caller.session);
    caller.sendCall('com.example.who');
    assert.equal((await callee.nextOf(MessageType.INVOCATION)).details.caller, undefined);
    await router.close();
  });

  test("realm policy 'deny' refuses disclose_me with option_disallowed.disclose_me; 'force' always discloses", async () => {
    const deny = await setup({ realms: [{ name: 'realm1', disclose: { caller: 'deny' } }] });
    await deny.callee.reg('com.example.who', { disclose_caller: true });
    assert.equal(errorOf(await deny.caller.call('com.example.who', [], undefined, { disclose_me: true })), 'wamp.error.option_disallowed.disclose_me');
    deny.caller.sendCall('com.example.who');
    assert.equal((await deny.callee.nextOf(MessageType.INVOCATION)).details.caller, undefined);
    await deny.router.close();
    const force = await setup({ realms: [{ name: 'realm1', disclose: { caller: 'force' } }] });
    await force.callee.reg('com.example.who');
    force.caller.sendCall('com.example.who');
    assert.equal((await force.callee.nextOf(MessageType.INVOCATION)).details.caller, force.caller.session);
    await force.router.close();
  });
});

describe('dealer: progressive call results', () => {
  test('YIELD progress → RESULT progress, then the final RESULT', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.stream');
    const request = caller.sendCall('com.example.stream', [], undefined, { receive_progress: true });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    assert.equal(inv.details.receive_progress, true);
    for (const i of [1, 2]) callee.send({ type: MessageType.YIELD, request: inv.request, options: { progress: true }, args: [i] });
    callee.send({ type: MessageType.YIELD, request: inv.request, options: {}, args: ['done'] });
    const r1 = await caller.nextOf(MessageType.RESULT, request);
    const r2 = await caller.nextOf(MessageType.RESULT, request);
    const r3 = await caller.nextOf(MessageType.RESULT, request);
    assert.deepEqual([r1.details, r1.args, r2.details, r2.args, r3.details, r3.args], [{ progress: true }, [1], { progress: true }, [2], {}, ['done']]);
    await router.close();
  });

  test('a callee without call canceling still gets receive_progress (as Crossbar; Autobahn callees need it); unasked progress is dropped', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const caller = await TestClient.connect(router);
    const plain = await TestClient.connect(router, { details: { roles: { callee: { features: { progressive_call_results: true } } } } });
    await plain.reg('com.example.p');
    const r1 = caller.sendCall('com.example.p', [], undefined, { receive_progress: true });
    const inv1 = await plain.nextOf(MessageType.INVOCATION);
    assert.equal(inv1.details.receive_progress, true);
    plain.send({ type: MessageType.YIELD, request: inv1.request, options: { progress: true }, args: [1] });
    plain.send({ type: MessageType.YIELD, request: inv1.request, options: {}, args: [2] });
    assert.deepEqual((await caller.nextOf(MessageType.RESULT, r1)).details, { progress: true });
    assert.deepEqual((await caller.nextOf(MessageType.RESULT, r1)).args, [2]);
    // A caller that did not ask gets no progressive RESULT.
    const r2 = caller.sendCall('com.example.p');
    const inv2 = await plain.nextOf(MessageType.INVOCATION);
    assert.equal(inv2.details.receive_progress, undefined);
    plain.send({ type: MessageType.YIELD, request: inv2.request, options: { progress: true }, args: [1] });
    plain.send({ type: MessageType.YIELD, request: inv2.request, options: {}, args: [2] });
    const r = await caller.nextOf(MessageType.RESULT, r2);
    assert.deepEqual([r.details, r.args], [{}, [2]]);
    await router.close();
  });
});

describe('dealer: progressive call invocations', () => {
  test('CALL progress chunks become INVOCATIONs with the same request ID at the same callee', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const caller = await TestClient.connect(router);
    const callees = [await TestClient.connect(router), await TestClient.connect(router)];
    for (const c of callees) await c.reg('com.example.upload', { invoke: 'roundrobin' });
    const request = caller.id();
    caller.send({ type: MessageType.CALL, request, options: { progress: true, disclose_me: true }, procedure: 'com.example.upload', args: ['a'] });
    const i1 = await callees[0]!.nextOf(MessageType.INVOCATION);
    assert.deepEqual([i1.details.progress, i1.details.caller, i1.args], [true, caller.session, ['a']]);
    caller.send({ type: MessageType.CALL, request, options: { progress: true }, procedure: 'com.example.upload', args: ['b'] });
    caller.send({ type: MessageType.CALL, request, options: {}, procedure: 'com.example.upload', args: ['c'] });
    const i2 = await callees[0]!.nextOf(MessageType.INVOCATION);
    const i3 = await callees[0]!.nextOf(MessageType.INVOCATION);
    assert.deepEqual([i2.request, i2.details, i2.args], [i1.request, { progress: true }, ['b']]);
    assert.deepEqual([i3.request, i3.details, i3.args], [i1.request, {}, ['c']]);
    assert.ok(await callees[1]!.none((m) => m.type === MessageType.INVOCATION));
    callees[0]!.send({ type: MessageType.YIELD, request: i1.request, options: {}, args: ['abc'] });
    assert.deepEqual((await caller.nextOf(MessageType.RESULT, request)).args, ['abc']);
    // A late continuation of the finished call is discarded silently.
    caller.send({ type: MessageType.CALL, request, options: { progress: true }, procedure: 'com.example.upload', args: ['late'] });
    assert.ok(await callees[0]!.none((m) => m.type === MessageType.INVOCATION));
    assert.ok(await caller.none());
    await router.close();
  });

  test('progress from a caller that did not announce the feature → ABORT; callee without it → feature_not_supported', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const oldCaller = await TestClient.connect(router, { details: { roles: { caller: {} } } });
    const plainCallee = await TestClient.connect(router, { details: { roles: { callee: { features: { call_canceling: true } } } } });
    await plainCallee.reg('com.example.up');
    const caller = await TestClient.connect(router);
    assert.equal(errorOf(await caller.call('com.example.up', ['x'], undefined, { progress: true })), 'wamp.error.feature_not_supported');
    oldCaller.send({ type: MessageType.CALL, request: 1, options: { progress: true }, procedure: 'com.example.up' });
    assert.equal((await oldCaller.nextOf(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
    await router.close();
  });
});

describe('dealer: canceling', () => {
  async function pending(mode: string): Promise<{ router: Router; caller: TestClient; callee: TestClient; request: number; inv: number }> {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.slow');
    const request = caller.sendCall('com.example.slow');
    const inv = (await callee.nextOf(MessageType.INVOCATION)).request;
    caller.send({ type: MessageType.CANCEL, request, options: { mode } });
    return { router, caller, callee, request, inv };
  }

  test('skip: ERROR canceled now, no INTERRUPT, the late YIELD is dropped', async () => {
    const { router, caller, callee, request, inv } = await pending('skip');
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.canceled');
    assert.ok(await callee.none((m) => m.type === MessageType.INTERRUPT));
    callee.send({ type: MessageType.YIELD, request: inv, options: {}, args: ['late'] });
    assert.ok(await caller.none());
    await router.close();
  });

  test('kill: INTERRUPT, and the caller gets what the callee answers', async () => {
    const { router, caller, callee, request, inv } = await pending('kill');
    const intr = await callee.nextOf(MessageType.INTERRUPT);
    assert.deepEqual([intr.request, intr.options.mode], [inv, 'kill']);
    assert.ok(await caller.none());
    callee.send({ type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: inv, details: {}, error: 'wamp.error.canceled' });
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.canceled');
    await router.close();
  });

  test('killnowait: ERROR canceled now and INTERRUPT; the callee answer is ignored', async () => {
    const { router, caller, callee, request, inv } = await pending('killnowait');
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.canceled');
    assert.equal((await callee.nextOf(MessageType.INTERRUPT)).options.mode, 'killnowait');
    callee.send({ type: MessageType.YIELD, request: inv, options: {}, args: ['late'] });
    assert.ok(await caller.none());
    assert.equal(callee.closeInfo, null);
    await router.close();
  });

  test('a callee without call_canceling gets skip behaviour; CANCEL of an unknown call is ignored', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const caller = await TestClient.connect(router);
    const callee = await TestClient.connect(router, { details: { roles: { callee: {} } } });
    await callee.reg('com.example.slow');
    const request = caller.sendCall('com.example.slow');
    await callee.nextOf(MessageType.INVOCATION);
    caller.send({ type: MessageType.CANCEL, request, options: { mode: 'kill' } });
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.canceled');
    assert.ok(await callee.none((m) => m.type === MessageType.INTERRUPT));
    caller.send({ type: MessageType.CANCEL, request: 9999, options: {} });
    assert.ok(await caller.none());
    await router.close();
  });
});

describe('dealer: call timeout', () => {
  test('router-side timer: ERROR wamp.error.timeout and INTERRUPT killnowait', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.slow');
    const request = caller.sendCall('com.example.slow', [], undefined, { timeout: 40 });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    assert.equal(inv.details.timeout, undefined);
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.timeout');
    assert.equal((await callee.nextOf(MessageType.INTERRUPT)).options.mode, 'killnowait');
    await router.close();
  });

  test('progressive results restart the timer', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.stream');
    const request = caller.sendCall('com.example.stream', [], undefined, { timeout: 80, receive_progress: true });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 40));
      callee.send({ type: MessageType.YIELD, request: inv.request, options: { progress: true }, args: [i] });
    }
    callee.send({ type: MessageType.YIELD, request: inv.request, options: {}, args: ['end'] });
    assert.deepEqual((await caller.reply(request)).type, MessageType.RESULT);
    await router.close();
  });

  test('forward_timeout with a callee that supports call_timeout: the timeout goes in INVOCATION.Details', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const caller = await TestClient.connect(router);
    const roles = { callee: { features: { call_timeout: true, call_canceling: true } } };
    const callee = await TestClient.connect(router, { details: { roles } });
    await callee.reg('com.example.t', { forward_timeout: true });
    const request = caller.sendCall('com.example.t', [], undefined, { timeout: 30 });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    assert.equal(inv.details.timeout, 30);
    assert.ok(await caller.none(undefined, 80)); // no router timer
    callee.send({ type: MessageType.ERROR, requestType: MessageType.INVOCATION, request: inv.request, details: {}, error: 'wamp.error.timeout' });
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.timeout');
    await router.close();
  });
});

describe('dealer: sessions leaving mid-call', () => {
  test('callee disconnects: the caller gets wamp.error.canceled and the registration is gone', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.slow');
    const request = caller.sendCall('com.example.slow');
    await callee.nextOf(MessageType.INVOCATION);
    callee.close();
    assert.equal(errorOf(await caller.reply(request)), 'wamp.error.canceled');
    assert.equal(errorOf(await caller.call('com.example.slow')), 'wamp.error.no_such_procedure');
    await router.close();
  });

  test('caller disconnects: the callee gets INTERRUPT killnowait; its late YIELD is harmless', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.slow');
    caller.sendCall('com.example.slow', [], undefined, { receive_progress: true });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    caller.close();
    const intr = await callee.nextOf(MessageType.INTERRUPT);
    assert.deepEqual([intr.request, intr.options.mode], [inv.request, 'killnowait']);
    callee.send({ type: MessageType.YIELD, request: inv.request, options: {}, args: [] });
    const check = await TestClient.connect(router);
    assert.deepEqual(await check.result('wamp.session.count'), [2]);
    await router.close();
  });
});

describe('dealer: payload passthru', () => {
  test('binary payload and ppt_* options are forwarded both ways', async () => {
    const { router, caller, callee } = await setup();
    await callee.reg('com.example.e2e');
    const payload = new Uint8Array([1, 2, 3]);
    const request = caller.id();
    caller.send({ type: MessageType.CALL, request, options: { ppt_scheme: 'x_custom', ppt_serializer: 'cbor' }, procedure: 'com.example.e2e', payload });
    const inv = await callee.nextOf(MessageType.INVOCATION);
    assert.deepEqual([inv.details.ppt_scheme, inv.details.ppt_serializer, [...inv.payload!]], ['x_custom', 'cbor', [1, 2, 3]]);
    callee.send({ type: MessageType.YIELD, request: inv.request, options: { ppt_scheme: 'x_custom' }, payload: new Uint8Array([9]) });
    const r = await caller.reply(request);
    assert.deepEqual(r.type === MessageType.RESULT && [r.details.ppt_scheme, [...r.payload!]], ['x_custom', [9]]);
    await router.close();
  });
});

void ALL_ROLES;

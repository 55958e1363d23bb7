/**
 * Robustness: random well-formed messages of every type, in every session
 * state, never crash the router, never reach its internal-error hook, and
 * never disturb a bystander session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import { ALL_ROLES, TestClient } from './client.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('2000 random messages from 4 clients: no internal errors, the bystander keeps working', async () => {
  const errors: unknown[] = [];
  const router = new Router({ realms: [{ name: 'realm1' }], onError: (e) => errors.push(e), limits: { helloTimeout: 200 } });
  const bystander = await TestClient.connect(router);
  const reg = await bystander.reg('com.by.ping');
  bystander.serve(reg, () => ['pong']);
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const id = (): number => 1 + Math.floor(r() * 8);
  const uris = ['com.a', 'com.a.b', 'com', 'wamp.session.count', 'wamp.session.kill', 'com..b', 'wamp.registration.remove_callee'];
  const opts = (): Record<string, unknown> =>
    pick([{}, { match: 'prefix' }, { match: 'wildcard' }, { progress: true }, { receive_progress: true }, { timeout: 5 }, { mode: 'kill' }, { acknowledge: true, retain: true }, { invoke: 'roundrobin' }, { eligible: [1] }]);
  const gen = (): WampMessage => {
    switch (pick(['HELLO', 'AUTH', 'GOODBYE', 'ABORT', 'ERROR', 'PUBLISH', 'SUBSCRIBE', 'UNSUBSCRIBE', 'CALL', 'CANCEL', 'REGISTER', 'UNREGISTER', 'YIELD', 'EVENT', 'RESULT'])) {
      case 'HELLO': return { type: MessageType.HELLO, realm: pick(['realm1', 'nope']), details: { roles: ALL_ROLES } };
      case 'AUTH': return { type: MessageType.AUTHENTICATE, signature: 'x', extra: {} };
      case 'GOODBYE': return { type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.close_realm' };
      case 'ABORT': return { type: MessageType.ABORT, details: {}, reason: 'wamp.close.close_realm' };
      case 'ERROR': return { type: MessageType.ERROR, requestType: pick([MessageType.INVOCATION, MessageType.CALL]), request: id(), details: {}, error: 'com.err' };
      case 'PUBLISH': return { type: MessageType.PUBLISH, request: id(), options: opts(), topic: pick(uris), args: [1] };
      case 'SUBSCRIBE': return { type: MessageType.SUBSCRIBE, request: id(), options: opts(), topic: pick(uris) };
      case 'UNSUBSCRIBE': return { type: MessageType.UNSUBSCRIBE, request: id(), subscription: id() };
      case 'CALL': return { type: MessageType.CALL, request: id(), options: opts(), procedure: pick([...uris, 'com.by.ping']), args: [id(), id()] };
      case 'CANCEL': return { type: MessageType.CANCEL, request: id(), options: opts() };
      case 'REGISTER': return { type: MessageType.REGISTER, request: id(), options: opts(), procedure: pick(uris) };
      case 'UNREGISTER': return { type: MessageType.UNREGISTER, request: id(), registration: id() };
      case 'YIELD': return { type: MessageType.YIELD, request: id(), options: pick([{}, { progress: true }]) };
      case 'EVENT': return { type: MessageType.EVENT, subscription: id(), publication: id(), details: {} };
      default: return { type: MessageType.RESULT, request: id(), details: {} };
    }
  };
  let clients: TestClient[] = [];
  for (let round = 0; round < 20; round++) {
    clients = clients.filter((c) => c.closeInfo === null);
    while (clients.length < 4) {
      const c = TestClient.raw(router);
      c.send({ type: MessageType.HELLO, realm: 'realm1', details: { roles: ALL_ROLES } });
      clients.push(c);
    }
    for (let i = 0; i < 100; i++) pick(clients).send(gen());
    await new Promise((res) => setTimeout(res, 5));
    assert.deepEqual(await bystander.result('com.by.ping'), ['pong'], `round ${round}`);
  }
  assert.deepEqual(errors, []);
  await router.close();
  await Promise.all(clients.map((c) => c.closed));
});

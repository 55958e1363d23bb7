/**
 * Authorization: static per-role permissions on URI patterns, forced
 * disclosure, dynamic authorizers, and input order while an authorizer runs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import type { WampDict } from '../../../src/wamp/uri.js';
import { TestClient } from './client.js';

const errorOf = (m: WampMessage): string => (m.type === MessageType.ERROR ? m.error : `not ERROR: ${JSON.stringify(m)}`);

describe('authorization: static permissions', () => {
  test('exact > longest prefix > wildcard decide per action; denied → wamp.error.not_authorized', async () => {
    const router = new Router({
      realms: [
        {
          name: 'realm1',
          roles: [
            {
              name: 'anonymous',
              permissions: [
                { uri: 'com.', match: 'prefix', allow: { call: true, subscribe: true } },
                { uri: 'com.admin.', match: 'prefix', allow: {} },
                { uri: 'com.admin.public', allow: { call: true } },
                { uri: '..open', match: 'wildcard', allow: { register: true, publish: true, subscribe: true } },
              ],
            },
          ],
        },
      ],
    });
    const c = await TestClient.connect(router);
    assert.equal(errorOf(await c.register('com.x.p')), 'wamp.error.not_authorized');
    await c.reg('org.x.open');
    assert.equal(errorOf(await c.register('com.x.open')), 'wamp.error.not_authorized'); // prefix beats wildcard
    assert.equal(errorOf(await c.call('com.admin.secret')), 'wamp.error.not_authorized');
    assert.equal(errorOf(await c.call('com.admin.open')), 'wamp.error.not_authorized'); // longest prefix wins
    assert.equal(errorOf(await c.call('com.admin.public')), 'wamp.error.no_such_procedure'); // exact allows
    assert.equal(errorOf(await c.subscribe('com.admin.feed')), 'wamp.error.not_authorized');
    await c.sub('com.other.feed');
    const req = c.publish('com.other.feed', [], undefined, { acknowledge: true });
    assert.equal(errorOf(await c.nextOf(MessageType.ERROR, req)), 'wamp.error.not_authorized');
    const ok = c.publish('org.y.open', [], undefined, { acknowledge: true });
    assert.equal((await c.nextOf(MessageType.PUBLISHED, ok)).request, ok);
    // Meta procedures are authorized like any URI.
    assert.equal(errorOf(await c.call('wamp.session.count')), 'wamp.error.not_authorized');
    await router.close();
  });

  test('permission disclose.caller / disclose.publisher force disclosure', async () => {
    const router = new Router({
      realms: [
        {
          name: 'realm1',
          roles: [
            {
              name: 'anonymous',
              permissions: [
                { uri: '', match: 'prefix', allow: { call: true, register: true, publish: true, subscribe: true }, disclose: { caller: true, publisher: true } },
              ],
            },
          ],
        },
      ],
    });
    const a = await TestClient.connect(router);
    const b = await TestClient.connect(router);
    await b.reg('com.p');
    a.sendCall('com.p');
    assert.equal((await b.nextOf(MessageType.INVOCATION)).details.caller, a.session);
    await b.sub('com.t');
    a.publish('com.t');
    assert.equal((await b.nextOf(MessageType.EVENT)).details.publisher, a.session);
    await router.close();
  });
});

describe('authorization: dynamic authorizer', () => {
  test('called as (session, uri, action, options); bool or {allow}; failure → authorization_failed; order kept', async () => {
    const router = new Router({
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', authorizer: 'com.example.authorize' }] }],
      limits: { internalCallTimeout: 200 },
    });
    const svc = await TestClient.connect(router, { attach: { trusted: true } });
    const reg = await svc.reg('com.example.authorize');
    const seen: [WampDict, string, string][] = [];
    svc.serve(reg, ([session, uri, action]) => {
      seen.push([session as WampDict, uri as string, action as string]);
      if (uri === 'com.slow') return [true];
      return [uri !== 'com.denied' ? { allow: true } : false];
    });
    const c = await TestClient.connect(router);
    await c.sub('com.ok');
    assert.equal(errorOf(await c.subscribe('com.denied')), 'wamp.error.not_authorized');
    assert.deepEqual([seen[0]![0].session, seen[0]![1], seen[0]![2]], [c.session, 'com.ok', 'subscribe']);
    // Messages after one that waits for the authorizer are handled after it, in order.
    const r1 = c.id();
    const r2 = c.id();
    c.send({ type: MessageType.SUBSCRIBE, request: r1, options: {}, topic: 'com.slow' });
    c.send({ type: MessageType.SUBSCRIBE, request: r2, options: {}, topic: 'com.denied' });
    const first = await c.next((m) => (m as { request?: number }).request === r1 || (m as { request?: number }).request === r2);
    assert.equal((first as { request: number }).request, r1);
    await router.close();
  });

  test('an authorizer that is not there → wamp.error.authorization_failed', async () => {
    const router = new Router({
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', authorizer: 'com.example.missing' }] }],
    });
    const c = await TestClient.connect(router);
    assert.equal(errorOf(await c.subscribe('com.x')), 'wamp.error.authorization_failed');
    await router.close();
  });
});

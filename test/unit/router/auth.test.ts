/**
 * Router authentication with the challenge-response methods (WAMP-CRA,
 * Cryptosign, SCRAM in both dialects), static and dynamic, driven by our own
 * client authenticators (src/wamp/auth/client.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/router/router.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import { cryptosign, scram, ticket, wampcra } from '../../../src/wamp/auth/client.js';
import { generateKeyPair } from '../../../src/wamp/auth/cryptosign-key.js';
import { deriveScramCredential } from '../../../src/wamp/auth/server.js';
import { TestClient } from './client.js';

const abortOf = (m: WampMessage): string => (m.type === MessageType.ABORT ? m.reason : `not ABORT: ${JSON.stringify(m)}`);

describe('router auth: wampcra', () => {
  test('static, plain and salted secrets; wrong secret and unknown authid fail alike', async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: {
        wampcra: {
          type: 'static',
          principals: {
            peter: { secret: 'secret1', role: 'user' },
            salty: { secret: 'pw', role: 'admin', salt: 'salt123', iterations: 100, keylen: 32 },
          },
        },
      },
    });
    const a = await TestClient.connect(router, { auth: wampcra('secret1', { authid: 'peter' }) });
    assert.deepEqual([a.welcome.authid, a.welcome.authrole, a.welcome.authmethod], ['peter', 'user', 'wampcra']);
    const b = await TestClient.connect(router, { auth: wampcra('pw', { authid: 'salty' }) });
    assert.equal(b.welcome.authrole, 'admin');
    const wrong = TestClient.raw(router);
    const wr = await wrong.helloWith('realm1', wampcra('nope', { authid: 'peter' }));
    const unknown = TestClient.raw(router);
    const ur = await unknown.helloWith('realm1', wampcra('secret1', { authid: 'nobody' }));
    assert.equal(abortOf(wr), 'wamp.error.authentication_failed');
    assert.equal(abortOf(ur), abortOf(wr));
    await router.close();
  });

  test('dynamic: the authenticator returns the secret and role', async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: { wampcra: { type: 'dynamic', authenticator: 'auth.cra' } },
    });
    const svc = await TestClient.connect(router, { attach: { trusted: true } });
    svc.serve(await svc.reg('auth.cra'), ([, authid]) => [{ secret: `s-${String(authid)}`, role: 'dyn' }]);
    const c = await TestClient.connect(router, { auth: wampcra('s-joe', { authid: 'joe' }) });
    assert.deepEqual([c.welcome.authrole, c.welcome.authprovider], ['dyn', 'dynamic']);
    const bad = TestClient.raw(router);
    assert.equal(abortOf(await bad.helloWith('realm1', wampcra('s-other', { authid: 'joe' }))), 'wamp.error.authentication_failed');
    await router.close();
  });
});

describe('router auth: cryptosign', () => {
  test('static: by authid or by key alone; an unauthorized key fails; router authentication verifies', async () => {
    const key = generateKeyPair();
    const other = generateKeyPair();
    const routerKey = generateKeyPair();
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: { cryptosign: { type: 'static', principals: { alice: { authorized_keys: [key.publicKeyHex], role: 'user' } }, routerKey } },
    });
    const a = await TestClient.connect(router, { auth: cryptosign(key, { authid: 'alice' }) });
    assert.deepEqual([a.welcome.authid, a.welcome.authrole, a.welcome.authmethod], ['alice', 'user', 'cryptosign']);
    const b = await TestClient.connect(router, { auth: cryptosign(key) });
    assert.equal(b.welcome.authid, 'alice');
    const bad = TestClient.raw(router);
    assert.equal(abortOf(await bad.helloWith('realm1', cryptosign(other, { authid: 'alice' }))), 'wamp.error.authentication_failed');
    // Router authentication: the client checks the router's signature against trusted keys.
    const c = await TestClient.connect(router, { auth: cryptosign(key, { trustedRouterKeys: [routerKey.publicKeyHex] }) });
    assert.equal(c.welcome.authid, 'alice');
    await assert.rejects(TestClient.connect(router, { auth: cryptosign(key, { trustedRouterKeys: [other.publicKeyHex] }) }));
    await router.close();
  });

  test('dynamic: the authenticator gets the pubkey and returns it with a role', async () => {
    const key = generateKeyPair();
    const router = new Router({ realms: [{ name: 'realm1' }], auth: { cryptosign: { type: 'dynamic', authenticator: 'auth.cs' } } });
    const svc = await TestClient.connect(router, { attach: { trusted: true } });
    svc.serve(await svc.reg('auth.cs'), ([, , details]) => {
      const pubkey = (details as { authextra: { pubkey: string } }).authextra.pubkey;
      return [{ pubkey, role: 'device', authid: `dev-${pubkey.slice(0, 6)}` }];
    });
    const c = await TestClient.connect(router, { auth: cryptosign(key) });
    assert.deepEqual([c.welcome.authid, c.welcome.authrole], [`dev-${key.publicKeyHex.slice(0, 6)}`, 'device']);
    await router.close();
  });
});

describe('router auth: scram', () => {
  test('wamp-scram (spec) and scram (Autobahn dialect), static credentials; WELCOME carries the server signature', async () => {
    const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 1000 });
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: {
        'wamp-scram': { type: 'static', principals: { user: { ...cred, role: 'frontend' } } },
        scram: { type: 'static', principals: { user: { ...cred, role: 'frontend' } } },
      },
    });
    const a = await TestClient.connect(router, { auth: scram('pencil', 'user') });
    assert.deepEqual([a.welcome.authmethod, a.welcome.authrole], ['wamp-scram', 'frontend']);
    const b = await TestClient.connect(router, { auth: scram('pencil', 'user', { dialect: 'autobahn' }) });
    assert.equal(b.welcome.authmethod, 'scram');
    const wrong = TestClient.raw(router);
    assert.equal(abortOf(await wrong.helloWith('realm1', scram('pen', 'user'))), 'wamp.error.authentication_failed');
    const unknown = TestClient.raw(router);
    assert.equal(abortOf(await unknown.helloWith('realm1', scram('pencil', 'nobody'))), 'wamp.error.authentication_failed');
    await router.close();
  });
});

describe('router auth: method choice', () => {
  test("the first of the client's authmethods the router has is used", async () => {
    const router = new Router({
      realms: [{ name: 'realm1' }],
      auth: { anonymous: { type: 'static' }, ticket: { type: 'static', principals: { joe: { ticket: 't', role: 'user' } } } },
    });
    const c = await TestClient.connect(router, { details: { authmethods: ['wampcra', 'ticket', 'anonymous'], authid: 'joe' }, onChallenge: () => 't' });
    assert.equal(c.welcome.authmethod, 'ticket');
    const d = await TestClient.connect(router, { auth: ticket('t', { authid: 'joe' }) });
    assert.equal(d.welcome.authrole, 'user');
    await router.close();
  });

  test('per-transport auth config overrides the router default', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const c = TestClient.raw(router, { auth: { ticket: { type: 'static', principals: {} } } });
    assert.equal(abortOf(await c.hello('realm1')), 'wamp.error.no_matching_auth_method');
    await router.close();
  });
});

/**
 * Router side, and both sides talking to each other: every client
 * authenticator against the matching router functions, success and failure.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ticket, wampcra, cryptosign, scram } from '../../../../src/wamp/auth/client.js';
import { generateKeyPair, signChallenge } from '../../../../src/wamp/auth/cryptosign-key.js';
import {
  verifyTicket,
  createCraChallenge,
  verifyCra,
  deriveCraKey,
  createCryptosignChallenge,
  verifyCryptosign,
  createScramChallenge,
  verifyScram,
  deriveScramCredential,
  scramCredentialFromCrossbar,
  scramDialectOf,
  type AuthVerdict,
  type ScramCredential,
} from '../../../../src/wamp/auth/server.js';
import { WampAuthError, type WampAuthErrorCode } from '../../../../src/wamp/auth/errors.js';
import type { ChallengeResponse, ClientAuthenticator } from '../../../../src/wamp/auth/types.js';

const isAuthError = (code: WampAuthErrorCode) => (e: unknown) => e instanceof WampAuthError && e.code === code;
const sig = (r: ChallengeResponse): string => (typeof r === 'string' ? r : r.signature);
const ext = (r: ChallengeResponse): Record<string, unknown> => (typeof r === 'string' ? {} : (r.extra ?? {}));
function refused(v: AuthVerdict, code: WampAuthErrorCode = 'WAMP_ERR_AUTH_FAILED'): void {
  assert.equal(v.ok, false);
  if (!v.ok) {
    assert.equal(v.error.code, code);
    assert.equal(v.error.uri, 'wamp.error.authentication_failed');
  }
}

describe('ticket', () => {
  test('client and router agree; wrong, empty and non-string tickets fail', async () => {
    const answer = await ticket('secret!!!').onChallenge({}, {});
    assert.deepEqual(verifyTicket(answer, 'secret!!!'), { ok: true });
    refused(verifyTicket('secret!!', 'secret!!!'));
    refused(verifyTicket('', 'secret!!!'));
    refused(verifyTicket(null, 'secret!!!'));
    refused(verifyTicket({ toString: () => 'secret!!!' }, 'secret!!!'));
    assert.equal(verifyTicket('pässwörd', 'pässwörd').ok, true);
  });
});

describe('wampcra', () => {
  test('challenge string has the fields Crossbar puts in it', () => {
    const p = createCraChallenge({ authid: 'peter', authrole: 'user', authprovider: 'static', session: 3251278072152162, nonce: 'n', timestamp: new Date(Date.UTC(2014, 5, 22, 16, 36, 25, 448)) });
    assert.equal(p.method, 'wampcra');
    assert.deepEqual(JSON.parse(p.challenge), {
      authid: 'peter',
      authrole: 'user',
      authmethod: 'wampcra',
      authprovider: 'static',
      nonce: 'n',
      timestamp: '2014-06-22T16:36:25.448Z',
      session: 3251278072152162,
    });
    assert.deepEqual(p.extra, { challenge: p.challenge });
    const fresh = createCraChallenge({ authid: 'a', authrole: 'r', authprovider: 'p', session: 1 });
    assert.notEqual(JSON.parse(fresh.challenge).nonce, JSON.parse(createCraChallenge({ authid: 'a', authrole: 'r', authprovider: 'p', session: 1 }).challenge).nonce);
  });

  test('plain secret: client and router agree; a wrong secret or garbage fails', async () => {
    const p = createCraChallenge({ authid: 'peter', authrole: 'user', authprovider: 'static', session: 1 });
    const s = sig(await wampcra('secret').onChallenge(p.extra, {}));
    assert.equal(verifyCra(p, s, 'secret').ok, true);
    refused(verifyCra(p, sig(await wampcra('wrong').onChallenge(p.extra, {})), 'secret'));
    for (const bad of [undefined, '', 'abc', s.slice(0, -4), 42]) refused(verifyCra(p, bad, 'secret'));
  });

  test('salted: the router stores only the derived key', async () => {
    const salt = { salt: 'salt123', iterations: 1000, keylen: 32 };
    const stored = await deriveCraKey('secret', salt.salt, salt.iterations, salt.keylen);
    const p = createCraChallenge({ authid: 'peter', authrole: 'user', authprovider: 'static', session: 1, salt });
    assert.deepEqual(p.extra, { challenge: p.challenge, salt: 'salt123', iterations: 1000, keylen: 32 });
    assert.equal(verifyCra(p, sig(await wampcra('secret').onChallenge(p.extra, {})), stored).ok, true);
    refused(verifyCra(p, sig(await wampcra('secret').onChallenge({ challenge: p.challenge }, {})), stored));
  });
});

describe('cryptosign', () => {
  const cb = (b: number) => ({ type: 'tls-unique', data: new Uint8Array(12).fill(b) });

  test('client and router agree; only authorized keys pass', () => {
    const key = generateKeyPair();
    const client = cryptosign(key);
    const p = createCryptosignChallenge(client.authextra);
    assert.equal(p.pubkey, key.publicKeyHex);
    assert.match(p.extra['challenge'] as string, /^[0-9a-f]{64}$/);
    assert.equal(p.extra['channel_binding'], null);
    const s = client.onChallenge(p.extra, {});
    assert.deepEqual(verifyCryptosign(p, s), { ok: true });
    assert.equal(verifyCryptosign(p, s, [generateKeyPair().publicKeyHex, key.publicKeyHex.toUpperCase()]).ok, true);
    refused(verifyCryptosign(p, s, [generateKeyPair().publicKeyHex]));
    // A signature over another challenge (replay) fails.
    const p2 = createCryptosignChallenge(client.authextra);
    refused(verifyCryptosign(p2, s));
    // Someone else's key for the same challenge fails.
    refused(verifyCryptosign(p, signChallenge(generateKeyPair(), p.challenge)));
    for (const bad of [undefined, '', 'zz', (s as string).slice(0, 128)]) refused(verifyCryptosign(p, bad));
  });

  test('channel binding: both sides bind to the same channel; another channel fails', () => {
    const client = cryptosign(generateKeyPair(), { channelBinding: 'tls-unique' });
    const p = createCryptosignChallenge(client.authextra, { channelBinding: cb(1) });
    assert.equal(p.extra['channel_binding'], 'tls-unique');
    assert.equal(verifyCryptosign(p, client.onChallenge(p.extra, { channelBinding: cb(1) })).ok, true);
    const p2 = createCryptosignChallenge(client.authextra, { channelBinding: cb(1) });
    refused(verifyCryptosign(p2, client.onChallenge(p2.extra, { channelBinding: cb(2) }))); // relayed from another channel
    assert.throws(() => createCryptosignChallenge(client.authextra), isAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING'));
    assert.throws(() => createCryptosignChallenge(client.authextra, { channelBinding: { type: 'tls-exporter', data: new Uint8Array(32) } }), isAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING'));
  });

  test('router authentication, with and without channel binding', () => {
    const routerKey = generateKeyPair();
    for (const binding of [undefined, 'tls-unique'] as const) {
      const client = cryptosign(generateKeyPair(), { trustedRouterKeys: [routerKey.publicKeyHex], ...(binding ? { channelBinding: binding } : {}) });
      const channel = binding ? { channelBinding: cb(3) } : {};
      const p = createCryptosignChallenge(client.authextra, { routerKey, ...channel });
      assert.equal(p.extra['pubkey'], routerKey.publicKeyHex);
      assert.equal(verifyCryptosign(p, client.onChallenge(p.extra, channel)).ok, true);
      // An impostor router (untrusted key) is refused by the client.
      const p2 = createCryptosignChallenge(client.authextra, { routerKey: generateKeyPair(), ...channel });
      assert.throws(() => client.onChallenge(p2.extra, channel), isAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED'));
      // A router that does not sign is refused too.
      const p3 = createCryptosignChallenge(client.authextra, channel);
      assert.throws(() => client.onChallenge(p3.extra, channel), isAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED'));
    }
  });

  test('malformed HELLO authextra is a clear error', () => {
    const pk = generateKeyPair().publicKeyHex;
    const cases: unknown[] = [undefined, null, [], {}, { pubkey: 'abc' }, { pubkey: 5 }, { pubkey: '02' + '00'.repeat(31) }, { pubkey: pk, channel_binding: 'tls-bogus' }, { pubkey: pk, challenge: 'ff' }];
    for (const ae of cases) {
      assert.throws(() => createCryptosignChallenge(ae), (e: unknown) => e instanceof WampAuthError && e.code === 'WAMP_ERR_AUTH_INVALID_HELLO' && e.uri === 'wamp.error.authentication_failed', JSON.stringify(ae));
    }
  });
});

describe('WAMP-SCRAM', () => {
  const hello = (c: ClientAuthenticator) => ({ authid: c.authid, authextra: c.authextra });

  async function roundTrip(password: string, cred: ScramCredential, dialect: 'spec' | 'autobahn' = 'spec'): Promise<{ verdict: AuthVerdict; client: ClientAuthenticator }> {
    const client = scram(password, 'alice', { dialect });
    const p = createScramChallenge(hello(client), cred, { dialect });
    assert.equal(p.method, client.method);
    const r = await client.onChallenge(p.extra, {});
    return { verdict: verifyScram(p, sig(r), ext(r)), client };
  }

  for (const kdf of ['pbkdf2', 'argon2id13', 'argon2id-13'] as const) {
    for (const dialect of ['spec', 'autobahn'] as const) {
      test(`${dialect} dialect, ${kdf}: both sides agree, mutual authentication, wrong password fails`, async () => {
        const cred = await deriveScramCredential('pencil', { kdf, iterations: kdf === 'pbkdf2' ? 1000 : 2, memory: 64, dialect });
        const { verdict, client } = await roundTrip('pencil', cred, dialect);
        assert.equal(verdict.ok, true);
        if (verdict.ok) {
          const key = dialect === 'spec' ? 'verifier' : 'scram_server_signature';
          assert.deepEqual(Object.keys(verdict.authextra ?? {}), [key]);
          client.onWelcome?.({ authextra: verdict.authextra }); // does not throw
        }
        refused((await roundTrip('pencil!', cred, dialect)).verdict);
      });
    }
  }

  test('a router that does not know the password cannot forge the server signature', async () => {
    const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 1000 });
    const other = await deriveScramCredential('other', { kdf: 'pbkdf2', iterations: 1000, salt: cred.salt });
    const client = scram('pencil', 'alice');
    const p = createScramChallenge(hello(client), cred);
    const r = await client.onChallenge(p.extra, {});
    const fake = createScramChallenge(hello(client), { ...cred, server_key: other.server_key });
    // Same nonces so only the server key differs.
    Object.assign(fake.state, { serverNonce: p.state.serverNonce, clientNonce: p.state.clientNonce });
    const v = verifyScram(fake, sig(r), ext(r));
    assert.equal(v.ok, true, 'the proof checks against stored_key, which the impostor copied');
    assert.throws(() => client.onWelcome?.({ authextra: v.ok ? v.authextra : {} }), isAuthError('WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED'));
  });

  test('spec dialect: AUTHENTICATE.Extra must match (nonce, channel binding)', async () => {
    const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 100 });
    const client = scram('pencil', 'alice');
    const p = createScramChallenge(hello(client), cred);
    const r = await client.onChallenge(p.extra, {});
    refused(verifyScram(p, sig(r), { ...ext(r), nonce: 'other' }));
    refused(verifyScram(p, sig(r), { ...ext(r), channel_binding: 'tls-unique' }));
    refused(verifyScram(p, sig(r), { ...ext(r), cbind_data: 'AQID' }));
    refused(verifyScram(p, sig(r), 'not a dict'));
    for (const bad of [undefined, '', 'AAAA', 7]) refused(verifyScram(p, bad, ext(r)));
    assert.equal(verifyScram(p, sig(r), ext(r)).ok, true);
  });

  test('spec dialect: channel binding end to end; data from another channel fails', async () => {
    const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 100 });
    const mine = { channelBinding: { type: 'tls-unique', data: new Uint8Array([1, 2, 3]) } };
    const theirs = { channelBinding: { type: 'tls-unique', data: new Uint8Array([4, 5, 6]) } };
    const client = scram('pencil', 'alice', { channelBinding: 'tls-unique' });
    const p = createScramChallenge(hello(client), cred, mine);
    const r = await client.onChallenge(p.extra, mine);
    const v = verifyScram(p, sig(r), ext(r));
    assert.equal(v.ok, true);
    client.onWelcome?.({ authextra: v.ok ? v.authextra : {} });
    const p2 = createScramChallenge(hello(client), cred, mine);
    const r2 = await client.onChallenge(p2.extra, theirs);
    refused(verifyScram(p2, sig(r2), ext(r2)), 'WAMP_ERR_AUTH_CHANNEL_BINDING');
    assert.throws(() => createScramChallenge(hello(client), cred), isAuthError('WAMP_ERR_AUTH_CHANNEL_BINDING'));
  });

  test('malformed HELLO and credentials are clear errors', async () => {
    const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 10 });
    const nonce = 'AAAAAAAAAAAAAAAAAAAAAA==';
    const hellos: Array<{ authid: unknown; authextra: unknown }> = [
      { authid: undefined, authextra: { nonce } },
      { authid: '', authextra: { nonce } },
      { authid: 'a\u0000', authextra: { nonce } },
      { authid: 'alice', authextra: {} },
      { authid: 'alice', authextra: { nonce: 'not base64!' } },
      { authid: 'alice', authextra: { nonce: 'A'.repeat(400) } },
      { authid: 'alice', authextra: null },
    ];
    for (const h of hellos) assert.throws(() => createScramChallenge(h, cred), isAuthError('WAMP_ERR_AUTH_INVALID_HELLO'), JSON.stringify(h));
    assert.throws(() => createScramChallenge({ authid: 'alice', authextra: { nonce, channel_binding: 'tls-unique' } }, cred, { dialect: 'autobahn' }), isAuthError('WAMP_ERR_AUTH_INVALID_HELLO'));
    const creds: unknown[] = [{ ...cred, kdf: 'md5' }, { ...cred, iterations: 0 }, { ...cred, salt: '!' }, { ...cred, stored_key: 'AAAA' }, { ...cred, kdf: 'argon2id13' }];
    for (const c of creds) assert.throws(() => createScramChallenge({ authid: 'alice', authextra: { nonce } }, c as ScramCredential), isAuthError('WAMP_ERR_AUTH_INVALID_KEY'));
  });

  test('CHALLENGE shape per dialect (Crossbar nonce form, memory only for Argon2)', async () => {
    const cred = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 10 });
    const nonce = 'AAECAwQFBgcICQoLDA0ODw==';
    const spec = createScramChallenge({ authid: 'alice', authextra: { nonce } }, cred);
    assert.deepEqual(Object.keys(spec.extra).sort(), ['iterations', 'kdf', 'nonce', 'salt']);
    assert.ok((spec.extra['nonce'] as string).startsWith(nonce));
    const ab = createScramChallenge({ authid: 'alice', authextra: { nonce } }, cred, { dialect: 'autobahn' });
    assert.equal(ab.method, 'scram');
    const raw = Buffer.from(ab.extra['nonce'] as string, 'base64');
    assert.equal(raw.length, 32);
    assert.deepEqual(raw.subarray(0, 16), Buffer.from(nonce, 'base64'));
    assert.equal(scramDialectOf('wamp-scram'), 'spec');
    assert.equal(scramDialectOf('scram'), 'autobahn');
    assert.equal(scramDialectOf('ticket'), undefined);
  });

  test('deriveScramCredential: defaults, salts, and refusals', async () => {
    const c = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 10, salt: 'W22ZaJ0SNY7soEsUEjb6gQ==' });
    assert.deepEqual(c, await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 10, salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64') }));
    assert.equal(c.memory, undefined);
    const a = await deriveScramCredential('pencil', { iterations: 1, memory: 64 });
    assert.equal(a.kdf, 'argon2id13');
    assert.equal(a.memory, 64);
    assert.equal(Buffer.from(a.salt, 'base64').length, 16);
    assert.notEqual(a.salt, (await deriveScramCredential('pencil', { iterations: 1, memory: 64 })).salt);
    await assert.rejects(deriveScramCredential('p', { parallelism: 2 as 1 }), RangeError);
    await assert.rejects(deriveScramCredential('p', { kdf: 'md5' as 'pbkdf2' }), RangeError);
    await assert.rejects(deriveScramCredential('p', { salt: 'AAAA' }), RangeError);
    await assert.rejects(deriveScramCredential('p', { iterations: 0 }), RangeError);
  });

  // /usr/bin/python3 -c 'import sys; sys.path.insert(0, "test/interop/python"); import argon2_shim; argon2_shim.install();
  //   from autobahn.wamp import auth; import json; print(json.dumps(auth.derive_scram_credential("alice@example.com", "secret123")))'
  test('Crossbar principals convert (hex fields, argon2id-13)', () => {
    const c = scramCredentialFromCrossbar({
      kdf: 'argon2id-13',
      memory: 512,
      iterations: 4096,
      salt: 'ff8d9819fc0e12bf0d24892e45987e24',
      'stored-key': 'a7f4f4b9458b859252ba0a0b0c10cdf24b68d6ab257704b65049cfa92e9428a1',
      'server-key': 'dd13f08d5bd56df06d8306d18fbb576296e0595910fc7afc2aaaa28138448d0a',
    });
    assert.deepEqual(c, {
      kdf: 'argon2id-13',
      iterations: 4096,
      memory: 512,
      salt: Buffer.from('ff8d9819fc0e12bf0d24892e45987e24', 'hex').toString('base64'),
      stored_key: Buffer.from('a7f4f4b9458b859252ba0a0b0c10cdf24b68d6ab257704b65049cfa92e9428a1', 'hex').toString('base64'),
      server_key: Buffer.from('dd13f08d5bd56df06d8306d18fbb576296e0595910fc7afc2aaaa28138448d0a', 'hex').toString('base64'),
    });
    assert.throws(() => scramCredentialFromCrossbar({ kdf: 'argon2id-13', salt: 'zz' }), isAuthError('WAMP_ERR_AUTH_INVALID_KEY'));
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scramSaltedPassword, deriveCraKey, scramAuthMessage } from '../../../../src/wamp/auth/kdf.js';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

// Argon2id v1.3, p = 1, 32 bytes, from libsodium (PyNaCl) on this machine:
//   echo '[{"password":"password","salt_b64":"c29tZXNhbHRzb21lc2FsdA==","t":2,"m":64},
//          {"password":"pencil","salt_b64":"W22ZaJ0SNY7soEsUEjb6gQ==","t":3,"m":256},
//          {"password":"p\u00e4ssw\u00f6rd","salt_b64":"AAECAwQFBgcICQoLDA0ODw==","t":1,"m":8}]' |
//     /usr/bin/python3 test/interop/python/wamp_auth_vectors.py argon2id
const ARGON2ID = [
  { password: 'password', salt: 'c29tZXNhbHRzb21lc2FsdA==', t: 2, m: 64, hash: 'Gpj7qOY5RCXJvcMzqcdQqvgR3wcPX7SleI4c9NtXk6E=' },
  { password: 'pencil', salt: 'W22ZaJ0SNY7soEsUEjb6gQ==', t: 3, m: 256, hash: 'eStc96/hNvttVpjN9iFlpUOLDpblt8mc5xgfm2+bNxs=' },
  { password: 'p\u00e4ssw\u00f6rd', salt: 'AAECAwQFBgcICQoLDA0ODw==', t: 1, m: 8, hash: 'VBiAdZMbGqBgJyPS/Fs+sbFroVoOIUjm1dNibwGryDA=' },
];

test('argon2id13 salted password equals libsodium; argon2id-13 is its unpadded Base64 text (as argon2-cffi encodes it)', async () => {
  for (const v of ARGON2ID) {
    const salt = Buffer.from(v.salt, 'base64');
    const raw = await scramSaltedPassword(enc(v.password), salt, { kdf: 'argon2id13', iterations: v.t, memory: v.m });
    assert.equal(b64(raw), v.hash);
    const text = await scramSaltedPassword(enc(v.password), salt, { kdf: 'argon2id-13', iterations: v.t, memory: v.m });
    assert.equal(new TextDecoder().decode(text), v.hash.replace(/=+$/, ''));
  }
});

test('pbkdf2: RFC 7677 SaltedPassword input gives the known proof (see client.test.ts); PBKDF2-HMAC-SHA256 RFC 7914 §11 vector', async () => {
  // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64) — first 32 bytes.
  const out = await scramSaltedPassword(enc('passwd'), enc('salt'), { kdf: 'pbkdf2', iterations: 1 });
  assert.equal(Buffer.from(out).toString('hex'), '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc');
});

test('deriveCraKey refuses nonsense parameters', async () => {
  await assert.rejects(deriveCraKey('s', 'salt', 0, 32), RangeError);
  await assert.rejects(deriveCraKey('s', 'salt', 10, 0), RangeError);
  await assert.rejects(deriveCraKey('s', 'salt', 10, 2048), RangeError);
});

test('spec AuthMessage escapes the username and carries channel binding data', () => {
  const am = new TextDecoder().decode(
    scramAuthMessage('spec', { authid: 'a=b,c', clientNonce: 'cn', serverNonce: 'cnsn', salt: 'c2FsdA==', iterations: 7, channelBinding: 'tls-unique', cbindData: new Uint8Array([1, 2, 3]) }),
  );
  // c = Base64("p=tls-unique,," + 0x010203)
  assert.equal(am, `n=a=3Db=2Cc,r=cn,r=cnsn,s=c2FsdA==,i=7,c=${b64(new Uint8Array([...enc('p=tls-unique,,'), 1, 2, 3]))},r=cnsn`);
});

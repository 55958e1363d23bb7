import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateKeyPair,
  loadPrivateKey,
  parsePublicKey,
  signChallenge,
  verifyChallengeSignature,
  cryptosignChannelId,
} from '../../../../src/wamp/auth/cryptosign-key.js';
import { WampAuthError } from '../../../../src/wamp/auth/errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// WAMP advanced profile, "Cryptosign-based Authentication", "Test Vectors"
// (test_vectors_1), which Autobahn|Python reproduces: the 4th entry was checked
// here with `wamp_auth_vectors.py cs-sign` (test/interop/python).
const SPEC_VECTORS = [
  {
    channel_id: null,
    private_key: '4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510',
    challenge: 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    signature:
      'b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  },
  {
    channel_id: null,
    private_key: 'd511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd',
    challenge: 'b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d',
    signature:
      'd4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d',
  },
  {
    channel_id: null,
    private_key: '6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b',
    challenge: 'b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2',
    signature:
      '7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2',
  },
  {
    channel_id: '62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff',
    private_key: '4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510',
    challenge: 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    signature:
      '9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00',
  },
  {
    channel_id: '62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff',
    private_key: 'd511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd',
    challenge: 'b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d',
    signature:
      '305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a427c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282',
  },
  {
    channel_id: '62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff',
    private_key: '6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b',
    challenge: 'b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2',
    signature:
      'ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d',
  },
];

describe('cryptosign keys and signatures', () => {
  test('the spec test vectors: sign and verify, with and without channel binding', () => {
    for (const v of SPEC_VECTORS) {
      const key = loadPrivateKey(v.private_key);
      const cid = v.channel_id ? hex(v.channel_id) : undefined;
      assert.equal(signChallenge(key, hex(v.challenge), cid), v.signature);
      assert.equal(verifyChallengeSignature(v.signature, key.publicKey, hex(v.challenge), cid), true);
      // Bound to the channel: the same signature fails for the other binding state.
      const other = cid ? undefined : hex('62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff');
      assert.equal(verifyChallengeSignature(v.signature, key.publicKey, hex(v.challenge), other), false);
    }
  });

  test('public key of a seed matches Autobahn|Python (CryptosignKey.from_bytes(bytes(range(32))).public_key())', () => {
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
    assert.equal(loadPrivateKey(seed).publicKeyHex, '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
    assert.equal(loadPrivateKey(toHex(seed)).publicKeyHex, '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
    assert.equal(loadPrivateKey('0x' + toHex(seed).toUpperCase()).publicKeyHex, '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
  });

  test('64-byte libsodium secret keys load when the public half matches', () => {
    const k = generateKeyPair();
    const full = new Uint8Array(64);
    full.set(k.privateKey);
    full.set(k.publicKey, 32);
    assert.equal(loadPrivateKey(full).publicKeyHex, k.publicKeyHex);
    full[40] = full[40]! ^ 1;
    assert.throws(() => loadPrivateKey(full), { code: 'WAMP_ERR_AUTH_INVALID_KEY' });
  });

  test('bad key material is a WampAuthError, never a crash', () => {
    for (const bad of ['xyz', 'abc', '00'.repeat(31), '00'.repeat(33), new Uint8Array(16), 42 as unknown as string]) {
      assert.throws(() => loadPrivateKey(bad), (e: unknown) => e instanceof WampAuthError && e.code === 'WAMP_ERR_AUTH_INVALID_KEY');
    }
  });

  test('generated keys are fresh, sign, and verify', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.notEqual(a.publicKeyHex, b.publicKeyHex);
    assert.match(a.publicKeyHex, /^[0-9a-f]{64}$/);
    const challenge = crypto.getRandomValues(new Uint8Array(32));
    const sig = signChallenge(a, challenge);
    assert.match(sig, /^[0-9a-f]{192}$/);
    assert.equal(verifyChallengeSignature(sig, a.publicKey, challenge), true);
    assert.equal(verifyChallengeSignature(sig, b.publicKey, challenge), false);
  });

  test('verification rejects tampering and malformed input', () => {
    const k = generateKeyPair();
    const challenge = new Uint8Array(32).fill(7);
    const sig = signChallenge(k, challenge);
    const flip = (i: number): string => sig.slice(0, i) + (sig[i] === '0' ? '1' : '0') + sig.slice(i + 1);
    assert.equal(verifyChallengeSignature(flip(0), k.publicKey, challenge), false); // signature R
    assert.equal(verifyChallengeSignature(flip(100), k.publicKey, challenge), false); // signature S
    assert.equal(verifyChallengeSignature(flip(150), k.publicKey, challenge), false); // echoed message
    for (const bad of [undefined, 1, '', sig.slice(0, 190), sig + '00', 'zz' + sig.slice(2), { sig }]) {
      assert.equal(verifyChallengeSignature(bad, k.publicKey, challenge), false);
    }
  });

  test('parsePublicKey accepts curve points only', () => {
    const k = generateKeyPair();
    assert.deepEqual(parsePublicKey(k.publicKeyHex), k.publicKey);
    assert.deepEqual(parsePublicKey(k.publicKeyHex.toUpperCase()), k.publicKey);
    assert.equal(parsePublicKey('00'.repeat(31)), undefined);
    assert.equal(parsePublicKey('g'.repeat(64)), undefined);
    assert.equal(parsePublicKey(null), undefined);
    // y = 2 is not on the curve (no x satisfies the equation).
    assert.equal(parsePublicKey('02' + '00'.repeat(31)), undefined);
  });

  test('channel id is SHA-256 of the channel binding data (Autobahn transport_channel_id)', () => {
    assert.equal(
      toHex(cryptosignChannelId(new TextEncoder().encode('abc'))),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

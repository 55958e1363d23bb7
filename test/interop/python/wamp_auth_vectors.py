"""
Autobahn|Python's own authentication code, driven from the command line, for
test/interop/wamp-auth-autobahn.test.ts (and the frozen vectors in
test/unit/wamp/auth/*.test.ts, which name the mode that produced them).

Run with Debian's interpreter: /usr/bin/python3 wamp_auth_vectors.py MODE < input.json

Modes (JSON on stdin, JSON on stdout):
  cra        {challenge, secret, salt?, iterations?, keylen?}          -> {signature, derived_key?}
  cs-sign    [{seed_hex, challenge_hex, channel_id_hex?}]              -> [{pubkey, signature}]
  cs-verify  [{pubkey, challenge_hex, channel_id_hex?, signature}]    -> [bool]
  cs-gen     {challenges: [hex], channel_id_hex?}                     -> {seed, pubkey, signatures: [hex]}
  scram      {authid, password, client_nonce, extra}                  -> {proof, auth_message, server_signature}
  argon2id   [{password, salt_b64, t, m}]                             -> [hash_b64]
"""
import base64
import binascii
import hashlib
import hmac
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import argon2_shim  # noqa: E402

ARGON2 = argon2_shim.install()

import txaio  # noqa: E402
txaio.use_twisted()  # Deferreds fire synchronously: no event loop needed here

from autobahn.wamp import auth  # noqa: E402
from autobahn.wamp.types import Challenge  # noqa: E402
from autobahn.wamp.cryptosign import CryptosignKey  # noqa: E402
from nacl import bindings, signing  # noqa: E402


def resolved(d):
    # CryptosignKey returns Deferreds that have already fired.
    out = []
    d.addCallback(out.append)
    return out[0]


def cra(req):
    a = auth.AuthWampCra(authid='x', secret=req['secret'])
    extra = {'challenge': req['challenge']}
    out = {}
    if 'salt' in req:
        extra.update(salt=req['salt'], iterations=req['iterations'], keylen=req['keylen'])
        out['derived_key'] = auth.derive_key(req['secret'], req['salt'], req['iterations'], req['keylen']).decode()
    out['signature'] = a.on_challenge(None, Challenge('wampcra', extra))
    return out


def cs_sign(reqs):
    out = []
    for r in reqs:
        k = CryptosignKey.from_bytes(binascii.a2b_hex(r['seed_hex']))
        cid = r.get('channel_id_hex')
        sig = resolved(k.sign_challenge(
            Challenge('cryptosign', {'challenge': r['challenge_hex']}),
            channel_id=binascii.a2b_hex(cid) if cid else None,
            channel_id_type='tls-unique' if cid else None))
        out.append({'pubkey': k.public_key(), 'signature': sig})
    return out


def cs_verify(reqs):
    out = []
    for r in reqs:
        try:
            raw = binascii.a2b_hex(r['signature'])
            msg = binascii.a2b_hex(r['challenge_hex'])
            cid = r.get('channel_id_hex')
            if cid:
                msg = bytes(a ^ b for a, b in zip(msg, binascii.a2b_hex(cid)))
            if raw[64:] != msg:
                out.append(False)
                continue
            signing.VerifyKey(binascii.a2b_hex(r['pubkey'])).verify(msg, raw[:64])
            out.append(True)
        except Exception:
            out.append(False)
    return out


def cs_gen(req):
    seed = os.urandom(32)
    k = CryptosignKey.from_bytes(seed)
    cid = req.get('channel_id_hex')
    sigs = [resolved(k.sign_challenge(
        Challenge('cryptosign', {'challenge': c}),
        channel_id=binascii.a2b_hex(cid) if cid else None,
        channel_id_type='tls-unique' if cid else None)) for c in req['challenges']]
    return {'seed': seed.hex(), 'pubkey': k.public_key(), 'signatures': sigs}


def scram(req):
    a = auth.AuthScram(authid=req['authid'], password=req['password'])
    a._client_nonce = req['client_nonce']
    proof = a.on_challenge(None, Challenge('scram', req['extra'])).decode()
    # Crossbar's server signature (crossbar/router/auth/scram.py), from the
    # same salted password Autobahn derived.
    server_key = hmac.new(a._salted_password, b'Server Key', hashlib.sha256).digest()
    sig = hmac.new(server_key, a._auth_message, hashlib.sha256).digest()
    return {'proof': proof, 'auth_message': a._auth_message.decode(), 'server_signature': base64.b64encode(sig).decode()}


def argon2id(reqs):
    return [base64.b64encode(bindings.crypto_pwhash_alg(
        32, r['password'].encode(), base64.b64decode(r['salt_b64']), r['t'], r['m'] * 1024,
        bindings.crypto_pwhash_ALG_ARGON2ID13)).decode() for r in reqs]


MODES = {'cra': cra, 'cs-sign': cs_sign, 'cs-verify': cs_verify, 'cs-gen': cs_gen, 'scram': scram, 'argon2id': argon2id}

if __name__ == '__main__':
    print(json.dumps(MODES[sys.argv[1]](json.load(sys.stdin))))

"""
Stand-in for the `argon2` (argon2-cffi) module, which Debian's python3-autobahn
only recommends and which is absent here: Autobahn's AuthScram and
derive_scram_credential need just `argon2.low_level.hash_secret` and
`argon2.Type`. The hash itself is libsodium's Argon2id v1.3 (via PyNaCl, a hard
dependency of python3-autobahn's cryptosign), returned in the PHC string format
argon2-cffi produces ("$argon2id$v=19$m=..,t=..,p=1$<salt>$<hash>", unpadded
Base64). libsodium fixes parallelism to 1 and the salt to 16 bytes, which is
what WAMP-SCRAM uses.

install() must run before autobahn.wamp.auth is imported (it probes for argon2
at import time).
"""
import base64
import enum
import sys
import types


def install():
    try:
        import argon2.low_level  # noqa: F401  (the real one is present: use it)
        return 'argon2-cffi'
    except ImportError:
        pass
    from nacl import bindings

    class Type(enum.Enum):
        D = 0
        I = 1  # noqa: E741
        ID = 2

    def hash_secret(secret, salt, time_cost, memory_cost, parallelism, hash_len, type, version=19):
        if type is not Type.ID or parallelism != 1 or version != 0x13:
            raise ValueError('argon2 shim: only Argon2id v1.3 with parallelism 1')
        raw = bindings.crypto_pwhash_alg(
            hash_len, secret, salt, time_cost, memory_cost * 1024, bindings.crypto_pwhash_ALG_ARGON2ID13)

        def b64(b):
            return base64.b64encode(b).rstrip(b'=')
        return b'$argon2id$v=19$m=%d,t=%d,p=1$' % (memory_cost, time_cost) + b64(salt) + b'$' + b64(raw)

    low_level = types.ModuleType('argon2.low_level')
    low_level.hash_secret = hash_secret
    low_level.Type = Type
    pkg = types.ModuleType('argon2')
    pkg.low_level = low_level
    pkg.Type = Type
    sys.modules['argon2'] = pkg
    sys.modules['argon2.low_level'] = low_level
    return 'pynacl-shim'

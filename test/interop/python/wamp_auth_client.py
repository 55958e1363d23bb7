"""
An Autobahn|Python (asyncio) WAMP client that joins a realm with the given
authenticators (autobahn.wamp.auth.create_authenticator), prints one JSON line
per event, leaves right after joining, and exits when the transport closes.

    /usr/bin/python3 wamp_auth_client.py '{"url": "ws://127.0.0.1:PORT/", "realm": "realm1",
        "authenticators": [{"name": "wampcra", "kwargs": {"authid": "peter", "secret": "..."}}]}'

Events: {"event": "join", authid, authrole, authmethod, authprovider, authextra}
        {"event": "leave", reason, message}   (also after an ABORT from the router)
        {"event": "disconnect"}
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import argon2_shim  # noqa: E402

argon2_shim.install()  # before autobahn.wamp.auth is imported (AuthScram needs argon2)

import txaio  # noqa: E402
txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationRunner, Session  # noqa: E402
from autobahn.wamp import auth  # noqa: E402

cfg = json.loads(sys.argv[1])


def emit(obj):
    print(json.dumps(obj), flush=True)


class Client(Session):
    def on_join(self, details):
        emit({'event': 'join', 'authid': details.authid, 'authrole': details.authrole,
              'authmethod': details.authmethod, 'authprovider': details.authprovider,
              'authextra': details.authextra})
        self.leave()

    def on_leave(self, details):
        emit({'event': 'leave', 'reason': details.reason, 'message': details.message})
        self.disconnect()

    def on_disconnect(self):
        emit({'event': 'disconnect'})
        # ApplicationRunner would keep the loop running after the transport closed.
        asyncio.get_event_loop().stop()


def make(config):
    s = Client(config)
    for a in cfg['authenticators']:
        s.add_authenticator(auth.create_authenticator(a['name'], **a['kwargs']))
    return s


ApplicationRunner(cfg['url'], cfg['realm']).run(make)

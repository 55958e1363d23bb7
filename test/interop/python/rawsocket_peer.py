#!/usr/bin/python3
"""
Autobahn|Python's Twisted RawSocket transport as a peer for our RawSocket
transport (test/interop/rawsocket-autobahn.test.ts). Peer-to-peer at the WAMP
message level: no router is involved.

  rawsocket_peer.py server --serializers json,msgpack [--max-message-size N] [--unix PATH]
      Listens (127.0.0.1, ephemeral port, or a Unix path) with
      WampRawSocketServerFactory and plays a tiny scripted router per
      connection: HELLO -> WELCOME; CALL com.echo -> RESULT with the same
      args/kwargs; CALL com.big -> tries a RESULT of `n` octets and, when
      Autobahn refuses it for exceeding the client's announced limit, sends
      ERROR com.error.payload_exceeded instead; GOODBYE -> GOODBYE.
      Prints {"event": "listening", "port": P} first.

  rawsocket_peer.py client --port P --serializer json|msgpack [--max-message-size N] [--unix PATH]
      Connects with WampRawSocketClientFactory and plays a scripted client:
      HELLO; on WELCOME a CALL com.echo with mixed args (binary included);
      on RESULT a GOODBYE; on GOODBYE closes. Exits when the connection ends.

Every event is one JSON line on stdout: open (serializer id, the limit the
peer announced, our own), message (type + fields), close / lost. Binary
values are written as {"bytes": "<hex>"}.
"""
import argparse
import json
import sys

import txaio

txaio.use_twisted()

from twisted.internet import reactor  # noqa: E402
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint  # noqa: E402

from autobahn.exception import PayloadExceededError  # noqa: E402
from autobahn.twisted.rawsocket import WampRawSocketClientFactory, WampRawSocketServerFactory  # noqa: E402
from autobahn.wamp import message  # noqa: E402
from autobahn.wamp.role import (  # noqa: E402
    RoleBrokerFeatures,
    RoleCallerFeatures,
    RoleDealerFeatures,
    RolePublisherFeatures,
)
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer  # noqa: E402

SERIALIZERS = {'json': JsonSerializer, 'msgpack': MsgPackSerializer}


def jsonable(v):
    if isinstance(v, (bytes, bytearray)):
        return {'bytes': bytes(v).hex()}
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def out(**kw):
    sys.stdout.write(json.dumps(jsonable(kw)) + '\n')
    sys.stdout.flush()


def describe(msg):
    d = {'type': msg.MESSAGE_TYPE}
    for attr in ('realm', 'session', 'request', 'procedure', 'args', 'kwargs', 'reason', 'error'):
        if hasattr(msg, attr) and getattr(msg, attr) is not None:
            d[attr] = getattr(msg, attr)
    return d


def limits(transport):
    return {
        'serializer': transport._serializer.RAWSOCKET_SERIALIZER_ID,
        'max_len_send': transport._max_len_send,
        'max_len_receive': transport.MAX_LENGTH,
    }


class ScriptedRouter:
    """ITransportHandler for one accepted connection."""

    def onOpen(self, transport):
        self.transport = transport
        out(event='open', **limits(transport))

    def onMessage(self, msg):
        out(event='message', **describe(msg))
        t = self.transport
        if isinstance(msg, message.Hello):
            t.send(message.Welcome(4242, {'broker': RoleBrokerFeatures(), 'dealer': RoleDealerFeatures()}))
        elif isinstance(msg, message.Call) and msg.procedure == 'com.echo':
            t.send(message.Result(msg.request, args=msg.args, kwargs=msg.kwargs))
        elif isinstance(msg, message.Call) and msg.procedure == 'com.big':
            n = msg.args[0]
            try:
                t.send(message.Result(msg.request, args=['x' * n]))
            except PayloadExceededError:
                t.send(message.Error(message.Call.MESSAGE_TYPE, msg.request, 'com.error.payload_exceeded'))
        elif isinstance(msg, message.Goodbye):
            t.send(message.Goodbye('wamp.close.goodbye_and_out'))

    def onClose(self, wasClean):
        out(event='close', clean=wasClean)


class ScriptedClient:
    """ITransportHandler for the client connection."""

    def onOpen(self, transport):
        self.transport = transport
        out(event='open', **limits(transport))
        transport.send(message.Hello('realm1', {'caller': RoleCallerFeatures(), 'publisher': RolePublisherFeatures()}))

    def onMessage(self, msg):
        out(event='message', **describe(msg))
        t = self.transport
        if isinstance(msg, message.Welcome):
            t.send(message.Call(1, 'com.echo', args=[1, 'two \u20ac', b'\x00\x01\xff', {'k': [True, None]}], kwargs={'x': 1.5}))
        elif isinstance(msg, message.Result):
            t.send(message.Goodbye())
        elif isinstance(msg, message.Goodbye):
            t.close()

    def onClose(self, wasClean):
        out(event='close', clean=wasClean)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['server', 'client'])
    ap.add_argument('--serializers', default='json,msgpack')
    ap.add_argument('--serializer', default='json')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--unix')
    ap.add_argument('--max-message-size', type=int)
    ap.add_argument('--timeout', type=float, default=20.0)
    a = ap.parse_args()

    def give_up():
        out(event='timeout')
        reactor.stop()

    reactor.callLater(a.timeout, give_up)

    if a.mode == 'server':
        sers = [SERIALIZERS[s]() for s in a.serializers.split(',')]
        factory = WampRawSocketServerFactory(ScriptedRouter, serializers=sers)
        if a.max_message_size:
            factory.setProtocolOptions(maxMessagePayloadSize=a.max_message_size)
        if a.unix:
            reactor.listenUNIX(a.unix, factory)
            out(event='listening', path=a.unix)
        else:
            port = reactor.listenTCP(0, factory, interface='127.0.0.1')
            out(event='listening', port=port.getHost().port)
    else:
        factory = WampRawSocketClientFactory(ScriptedClient, serializer=SERIALIZERS[a.serializer]())
        if a.max_message_size:
            factory.setProtocolOptions(maxMessagePayloadSize=a.max_message_size)
        ep = UNIXClientEndpoint(reactor, a.unix) if a.unix else TCP4ClientEndpoint(reactor, '127.0.0.1', a.port)
        d = ep.connect(factory)

        def connected(proto):
            def lost(_):
                out(event='lost', handshake_complete=proto._handshake_complete)
                reactor.callLater(0, reactor.stop)
            d2 = proto.is_closed
            d2.addBoth(lost)

        def failed(f):
            out(event='connect_failed', error=str(f.value))
            reactor.stop()

        d.addCallbacks(connected, failed)

    reactor.run()


if __name__ == '__main__':
    main()

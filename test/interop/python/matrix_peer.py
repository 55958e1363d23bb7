"""
Autobahn|Python (asyncio) as the foreign client of the interop matrix,
test/interop/wamp-matrix-python.test.ts. One process serves every serializer:

    /usr/bin/python3 matrix_peer.py URL '["json", "msgpack", ...]'

For each serializer S (tag T = S with "." -> "_") it joins realm1 with one
session and offers, as callee and subscriber:

    py.T.echo(*a, **kw)  -> CallResult(*a, **kw)
    py.T.types(*a, **kw) -> the Python type name of every argument
    py.T.fail()          -> ApplicationError com.example.py_error ('bad', 1) {code, nested}
    py.T.progress(n)     -> progressive results 0..n-1, then 'done'
    py.T.forever()       -> runs until canceled (counts interruptions)
    py.T.pat.* (prefix), py.T..wild (wildcard) -> details.procedure
    py.T.state()         -> {interrupted, events}
    py.T.run(case, ...)  -> Python as caller / publisher of OUR procedures and topics
    subscriptions: ours.T.news (exact), ours.T.pfx (prefix), ours.T..wild (wildcard), shared.T.excl

It prints "READY <json {S: session id}>" once every session is set up, or
"JOINFAIL <S> <reason>" for a serializer that cannot join (and carries on
with the others). Every wait is bounded; the process exits by itself after
LIFETIME seconds in case its parent forgets it.
"""
import asyncio
import json
import os
import sys
from urllib.parse import urlparse

import txaio
txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp import serializer as ser_mod
from autobahn.wamp.types import CallOptions, CallResult, ComponentConfig, PublishOptions, RegisterOptions, SubscribeOptions

URL = sys.argv[1]
SERIALIZERS = json.loads(sys.argv[2])
T = 5.0
LIFETIME = 150

# The payload Python sends as caller/publisher: nested structures, unicode,
# binary, integers up to 2^53. The TypeScript side holds the same values.
ARGS = [
    {'nested': {'list': [1, 2.5, None, True, False, 'x', {'deep': [[], {}]}]}},
    'unicode é€😀 日本語 a\u0000b',
    bytes(range(256)),
    2 ** 53, -(2 ** 53), 2 ** 53 - 1, 0, -1,
    1.5,
    [],
    {},
]
KWARGS = {'bin': b'\x00\x01\xff', 'big': 2 ** 53, 'text': 'ünïcödé', 'list': [b'', b'a'], 'empty': {}}


def serializer(name):
    batched = name.endswith('.batched')
    base = name.split('.')[0]
    if base == 'json':
        return ser_mod.JsonSerializer(batched=batched)
    if base == 'msgpack':
        return ser_mod.MsgPackSerializer(batched=batched)
    if base == 'cbor':
        return ser_mod.CBORSerializer(batched=batched)
    raise ValueError(name)


def plain(v):
    """Results as JSON for the report line (bytes as hex)."""
    if isinstance(v, bytes):
        return {'$bytes': v.hex()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def type_name(v):
    if isinstance(v, bool):
        return 'bool'
    return type(v).__name__


async def join(name):
    loop = asyncio.get_event_loop()
    joined = loop.create_future()

    class S(ApplicationSession):
        def onConnect(self):
            self.join('realm1')

        def onJoin(self, details):
            if not joined.done():
                joined.set_result(self)

        def onLeave(self, details):
            if not joined.done():
                joined.set_exception(RuntimeError('left: %s %s' % (details.reason, details.message)))
            self.disconnect()

        def onDisconnect(self):
            if not joined.done():
                joined.set_exception(RuntimeError('disconnected before joining'))

    factory = WampWebSocketClientFactory(lambda: S(ComponentConfig('realm1')), url=URL, serializers=[serializer(name)])
    u = urlparse(URL)
    await loop.create_connection(factory, u.hostname, u.port)
    return await asyncio.wait_for(joined, T)


async def setup(name, s):
    tag = name.replace('.', '_')
    state = {'interrupted': 0, 'events': {}}

    def record(kind):
        def handler(*args, **kwargs):
            details = kwargs.pop('details')
            state['events'].setdefault(kind, []).append(
                {'args': plain(list(args)), 'kwargs': plain(kwargs), 'topic': details.topic,
                 'publisher': details.publisher, 'types': [type_name(a) for a in args]})
        return handler

    def echo(*args, **kwargs):
        return CallResult(*args, **kwargs)

    def types(*args, **kwargs):
        return CallResult(*[type_name(a) for a in args], **{k: type_name(v) for k, v in kwargs.items()})

    def fail():
        raise ApplicationError('com.example.py_error', 'bad', 1, code=7, nested={'a': [1, 2], 'b': b'\x01'})

    async def progress(n, details=None):
        for i in range(n):
            details.progress(i, step='p%d' % i)
            await asyncio.sleep(0)
        return 'done'

    async def forever():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state['interrupted'] += 1
            raise
        return 'never'

    def pattern(*args, details=None):
        return details.procedure

    def get_state():
        return state

    async def run(case, *params):
        if case == 'call_echo':
            res = await s.call('ours.%s.echo' % tag, *ARGS, **KWARGS)
            return {'equal': list(res.results) == ARGS and res.kwresults == KWARGS,
                    'args': plain(list(res.results)), 'kwargs': plain(res.kwresults),
                    'types': [type_name(a) for a in res.results]}
        if case == 'call_fail':
            try:
                await s.call('ours.%s.fail' % tag)
            except ApplicationError as e:
                return [e.error, plain(list(e.args)), plain(e.kwargs)]
            return 'no error'
        if case == 'call_progress':
            got = []
            res = await s.call('ours.%s.progress' % tag, 3, options=CallOptions(on_progress=lambda *a, **kw: got.append([list(a), kw])))
            return [got, res]
        if case == 'cancel':
            f = asyncio.ensure_future(s.call('ours.%s.forever' % tag))
            await asyncio.sleep(0.3)
            f.cancel()
            try:
                await asyncio.wait_for(f, T)
            except asyncio.CancelledError:
                return 'cancelled'
            except ApplicationError as e:
                return 'error ' + e.error
            return 'completed'
        if case == 'call_pattern':
            return [await s.call('ours.%s.pre.a.b' % tag), await s.call('ours.%s.any.wild' % tag)]
        if case == 'publish':
            ids = []
            for topic in ('py.%s.news' % tag, 'py.%s.pfx.sub.topic' % tag, 'py.%s.zz.wild' % tag):
                p = await s.publish(topic, *ARGS, options=PublishOptions(acknowledge=True), **KWARGS)
                ids.append(p.id)
            return ids
        if case == 'excl':
            ours_id = params[0]
            topic = 'shared.%s.excl' % tag
            p1 = await s.publish(topic, 'p1', options=PublishOptions(acknowledge=True))
            p2 = await s.publish(topic, 'p2', options=PublishOptions(acknowledge=True, exclude_me=False))
            p3 = await s.publish(topic, 'p3', options=PublishOptions(acknowledge=True, exclude_me=False, exclude=[ours_id]))
            s.publish(topic, 'p4')  # not acknowledged: no answer, delivered all the same
            return [p1.id, p2.id, p3.id]
        raise ApplicationError('com.example.no_such_case', case)

    await s.register(echo, 'py.%s.echo' % tag)
    await s.register(types, 'py.%s.types' % tag)
    await s.register(fail, 'py.%s.fail' % tag)
    await s.register(progress, 'py.%s.progress' % tag, options=RegisterOptions(details_arg='details'))
    await s.register(forever, 'py.%s.forever' % tag)
    await s.register(pattern, 'py.%s.pat' % tag, options=RegisterOptions(match='prefix', details_arg='details'))
    await s.register(pattern, 'py.%s..wild' % tag, options=RegisterOptions(match='wildcard', details_arg='details'))
    await s.register(get_state, 'py.%s.state' % tag)
    await s.register(run, 'py.%s.run' % tag)
    await s.subscribe(record('exact'), 'ours.%s.news' % tag, options=SubscribeOptions(details_arg='details'))
    await s.subscribe(record('prefix'), 'ours.%s.pfx' % tag, options=SubscribeOptions(match='prefix', details_arg='details'))
    await s.subscribe(record('wildcard'), 'ours.%s..wild' % tag, options=SubscribeOptions(match='wildcard', details_arg='details'))
    await s.subscribe(record('excl'), 'shared.%s.excl' % tag, options=SubscribeOptions(details_arg='details'))


async def main():
    ids = {}
    for name in SERIALIZERS:
        try:
            s = await join(name)
            await setup(name, s)
            ids[name] = s._session_id
        except Exception as e:  # noqa: BLE001 - reported to the test
            print('JOINFAIL %s %r' % (name, e), flush=True)
    print('READY ' + json.dumps(ids), flush=True)
    await asyncio.sleep(LIFETIME)


if __name__ == '__main__':
    try:
        asyncio.get_event_loop().run_until_complete(main())
    finally:
        os._exit(0)

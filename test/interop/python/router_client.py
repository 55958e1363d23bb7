"""
Autobahn|Python (asyncio) as a client of our WAMP router, for
test/interop/router-autobahn-python.test.ts.

    /usr/bin/python3 router_client.py URL SERIALIZER SCENARIO [JSON-ARGS]

SERIALIZER: json | msgpack | json.batched | msgpack.batched
SCENARIO:   rpc | pubsub | meta | auth

Prints one line per check, "OK <name>" or "FAIL <name>: <why>", and exits 1
if any check failed. Every wait is bounded (asyncio.wait_for).
"""
import asyncio
import binascii
import json
import sys
from urllib.parse import urlparse

import txaio
txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp import auth as wamp_auth
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import CallOptions, ComponentConfig, PublishOptions, RegisterOptions, SubscribeOptions

URL, SER, SCENARIO = sys.argv[1], sys.argv[2], sys.argv[3]
ARGS = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
T = 5.0
failed = False
sessions = []


def serializer():
    batched = SER.endswith('.batched')
    return JsonSerializer(batched=batched) if SER.startswith('json') else MsgPackSerializer(batched=batched)


def report(name, ok, why=''):
    global failed
    if not ok:
        failed = True
    print(('OK ' if ok else 'FAIL ') + name + ('' if ok else ': ' + str(why)), flush=True)


async def check(name, coro):
    try:
        await asyncio.wait_for(coro, T)
        report(name, True)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        report(name, False, repr(e))


async def join(realm='realm1', authmethods=None, authid=None, authextra=None, onchallenge=None):
    """Opens a session; returns (session, details) or raises with the ABORT reason."""
    loop = asyncio.get_event_loop()
    joined = loop.create_future()

    class S(ApplicationSession):
        left = None

        def onConnect(self):
            self.join(realm, authmethods=authmethods, authid=authid, authextra=authextra)

        def onChallenge(self, challenge):
            return onchallenge(challenge)

        def onJoin(self, details):
            if not joined.done():
                joined.set_result((self, details))

        def onLeave(self, details):
            self.left = details
            if not joined.done():
                joined.set_exception(RuntimeError(details.reason))
            self.disconnect()

    factory = WampWebSocketClientFactory(lambda: S(ComponentConfig(realm)), url=URL, serializers=[serializer()])
    u = urlparse(URL)
    await loop.create_connection(factory, u.hostname, u.port)
    s, d = await asyncio.wait_for(joined, T)
    sessions.append(s)
    return s, d


def expect_error(uri):
    async def run(coro):
        try:
            await coro
        except ApplicationError as e:
            if e.error != uri:
                raise AssertionError('got %s, expected %s' % (e.error, uri))
            return
        raise AssertionError('no error, expected ' + uri)
    return run


async def scenario_rpc():
    callee, _ = await join()
    caller, _ = await join()
    other, _ = await join()

    def add(a, b, details=None):
        return a + b
    await callee.register(add, 'com.example.add', options=RegisterOptions(details_arg='details'))

    async def t_call():
        assert await caller.call('com.example.add', 2, 3) == 5
    await check('call', t_call())

    def fail():
        raise ApplicationError('com.example.oops', 'bad', code=7)
    await callee.register(fail, 'com.example.fail')

    async def t_error():
        try:
            await caller.call('com.example.fail')
        except ApplicationError as e:
            assert e.error == 'com.example.oops' and e.args == ('bad',) and e.kwargs == {'code': 7}, (e.error, e.args, e.kwargs)
            return
        raise AssertionError('no error')
    await check('application error', t_error())
    await check('no_such_procedure', expect_error('wamp.error.no_such_procedure')(caller.call('com.example.none')))

    async def stream(n, details=None):
        for i in range(n):
            details.progress(i)
        return 'done'
    await callee.register(stream, 'com.example.stream', options=RegisterOptions(details_arg='details'))

    async def t_progress():
        got = []
        res = await caller.call('com.example.stream', 3, options=CallOptions(on_progress=lambda i: got.append(i)))
        assert res == 'done' and got == [0, 1, 2], (res, got)
    await check('progressive results', t_progress())

    interrupted = asyncio.get_event_loop().create_future()

    async def forever():
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            if not interrupted.done():
                interrupted.set_result(True)
            raise
    await callee.register(forever, 'com.example.forever')

    async def t_cancel():
        f = asyncio.ensure_future(caller.call('com.example.forever'))
        await asyncio.sleep(0.1)
        f.cancel()
        try:
            await f
        except asyncio.CancelledError:
            pass
        await asyncio.wait_for(interrupted, T)  # the callee was interrupted
        assert await caller.call('com.example.add', 1, 1) == 2  # the session is fine
    await check('cancel (INTERRUPT reaches the callee)', t_cancel())

    async def slow():
        await asyncio.sleep(2)
        return 'late'
    await callee.register(slow, 'com.example.slow')
    await check('call timeout', expect_error('wamp.error.timeout')(caller.call('com.example.slow', options=CallOptions(timeout=100))))

    async def t_shared():
        await callee.register(lambda: 'a', 'com.example.rr', options=RegisterOptions(invoke='roundrobin'))
        await other.register(lambda: 'b', 'com.example.rr', options=RegisterOptions(invoke='roundrobin'))
        seq = [await caller.call('com.example.rr') for _ in range(4)]
        assert seq == ['a', 'b', 'a', 'b'], seq
    await check('shared registration (roundrobin)', t_shared())

    async def t_pattern():
        def handler(details=None):
            return details.procedure
        await callee.register(handler, 'com.example.pat', options=RegisterOptions(match='prefix', details_arg='details'))
        assert await caller.call('com.example.pat.x.y') == 'com.example.pat.x.y'
        await other.register(lambda: 'wild', 'org..end', options=RegisterOptions(match='wildcard'))
        assert await caller.call('org.any.end') == 'wild'
    await check('pattern-based registration', t_pattern())

    async def t_disclose():
        # This Autobahn|Python has no disclose_me option: realm 'disclosed' forces disclosure.
        c1, _ = await join('disclosed')
        c2, _ = await join('disclosed')

        def who(details=None):
            return [details.caller, details.caller_authrole]
        await c1.register(who, 'com.example.who', options=RegisterOptions(details_arg='details'))
        res = await c2.call('com.example.who')
        assert res == [c2._session_id, 'anonymous'], res
    await check('caller identification', t_disclose())

    async def t_callee_leaves():
        leaving, _ = await join()
        await leaving.register(forever, 'com.example.leaving')
        f = asyncio.ensure_future(caller.call('com.example.leaving'))
        await asyncio.sleep(0.1)
        leaving.disconnect()
        try:
            await asyncio.wait_for(f, T)
        except ApplicationError as e:
            assert e.error == 'wamp.error.canceled', e.error
            return
        raise AssertionError('no error')
    await check('callee disconnects mid-call', t_callee_leaves())


async def scenario_pubsub():
    sub, _ = await join()
    pub, _ = await join()
    loop = asyncio.get_event_loop()

    async def t_patterns():
        got = []
        done = loop.create_future()

        def on(tag):
            def handler(x, details=None):
                got.append((tag, x, details.topic, details.publisher))
                if len(got) == 3 and not done.done():
                    done.set_result(True)
            return handler
        await sub.subscribe(on('exact'), 'com.ex.t1', options=SubscribeOptions(details_arg='details'))
        await sub.subscribe(on('prefix'), 'com.ex', options=SubscribeOptions(match='prefix', details_arg='details'))
        await sub.subscribe(on('wildcard'), 'com..t1', options=SubscribeOptions(match='wildcard', details_arg='details'))
        p = await pub.publish('com.ex.t1', 'hi', options=PublishOptions(acknowledge=True))
        assert p.id >= 1
        await asyncio.wait_for(done, T)
        got.sort()
        assert [g[0] for g in got] == ['exact', 'prefix', 'wildcard'], got
        assert all(g[1] == 'hi' and g[3] is None for g in got), got
        assert got[1][2] == 'com.ex.t1' and got[2][2] == 'com.ex.t1', got
    await check('exact, prefix and wildcard subscriptions; acknowledge', t_patterns())

    async def t_disclosed():
        # No disclose_me in this Autobahn|Python: realm 'disclosed' forces publisher disclosure.
        s1, _ = await join('disclosed')
        p1, _ = await join('disclosed')
        got = loop.create_future()
        await s1.subscribe(lambda x, details=None: got.done() or got.set_result((details.publisher, details.publisher_authrole)),
                           'com.ex.d', options=SubscribeOptions(details_arg='details'))
        await p1.publish('com.ex.d', 1, options=PublishOptions(acknowledge=True))
        assert await asyncio.wait_for(got, T) == (p1._session_id, 'anonymous')
    await check('publisher identification', t_disclosed())

    async def t_exclude():
        got = []
        await pub.subscribe(lambda x: got.append(('pub', x)), 'com.self')
        await sub.subscribe(lambda x: got.append(('sub', x)), 'com.self')
        await pub.publish('com.self', 1, options=PublishOptions(acknowledge=True))
        await pub.publish('com.self', 2, options=PublishOptions(acknowledge=True, exclude_me=False, eligible=[pub._session_id]))
        await pub.publish('com.self', 3, options=PublishOptions(acknowledge=True, exclude=[sub._session_id], exclude_me=False))
        await asyncio.sleep(0.2)
        assert sorted(got) == [('pub', 2), ('pub', 3), ('sub', 1)], got
    await check('publisher exclusion, black- and whitelisting', t_exclude())

    async def t_retained():
        await pub.publish('com.sensor', 21, options=PublishOptions(acknowledge=True, retain=True))
        late, _ = await join()
        got = loop.create_future()

        def handler(x, details=None):
            if not got.done():
                got.set_result((x, details.retained))
        await late.subscribe(handler, 'com.sensor', options=SubscribeOptions(get_retained=True, details_arg='details'))
        assert await asyncio.wait_for(got, T) == (21, True)
    await check('event retention', t_retained())

    async def t_unsubscribe():
        got = []
        s = await sub.subscribe(lambda x: got.append(x), 'com.unsub')
        await s.unsubscribe()
        await pub.publish('com.unsub', 1, options=PublishOptions(acknowledge=True))
        await asyncio.sleep(0.1)
        assert got == []
    await check('unsubscribe', t_unsubscribe())


async def scenario_meta():
    watcher, _ = await join()
    loop = asyncio.get_event_loop()
    joins = loop.create_future()
    leaves = loop.create_future()
    await watcher.subscribe(lambda d: joins.done() or joins.set_result(d), 'wamp.session.on_join')
    await watcher.subscribe(lambda s, a, r: leaves.done() or leaves.set_result(s), 'wamp.session.on_leave')
    other, _ = await join()

    async def t_join():
        d = await asyncio.wait_for(joins, T)
        assert d['session'] == other._session_id and d['authrole'] == 'anonymous', d
    await check('wamp.session.on_join', t_join())

    async def t_procs():
        assert await watcher.call('wamp.session.count') == 2
        ids = await watcher.call('wamp.session.list')
        assert sorted(ids) == sorted([watcher._session_id, other._session_id]), ids
        d = await watcher.call('wamp.session.get', other._session_id)
        assert d['session'] == other._session_id, d
        await other.register(lambda: None, 'com.meta.p')
        rid = await watcher.call('wamp.registration.lookup', 'com.meta.p')
        assert await watcher.call('wamp.registration.list_callees', rid) == [other._session_id]
        sid = (await other.subscribe(lambda: None, 'com.meta.t')).id
        assert await watcher.call('wamp.subscription.match', 'com.meta.t') == [sid]
        assert await watcher.call('wamp.subscription.count_subscribers', sid) == 1
    await check('session/registration/subscription meta procedures', t_procs())

    async def t_kill():
        other_id = other._session_id
        await watcher.call('wamp.session.kill', other._session_id, reason='com.example.kicked', message='bye')
        s = await asyncio.wait_for(leaves, T)
        assert s == other_id, (s, other_id)
        for _ in range(50):
            if other.left is not None:
                break
            await asyncio.sleep(0.05)
        assert other.left is not None and other.left.reason == 'com.example.kicked', repr(other.left)
    await check('wamp.session.kill and on_leave', t_kill())

    async def t_testament():
        got = loop.create_future()
        await watcher.subscribe(lambda x: got.done() or got.set_result(x), 'com.gone')
        dying, _ = await join()
        await dying.call('wamp.session.add_testament', 'com.gone', ['bye'], {})
        dying.disconnect()
        assert await asyncio.wait_for(got, T) == 'bye'
    await check('testament', t_testament())


async def scenario_auth():
    method = ARGS['method']

    def answer(challenge):
        if method == 'ticket':
            return ARGS['secret']
        if method == 'wampcra':
            secret = ARGS['secret']
            if 'salt' in challenge.extra:
                secret = wamp_auth.derive_key(secret, challenge.extra['salt'], challenge.extra['iterations'], challenge.extra['keylen'])
            return wamp_auth.compute_wcs(secret, challenge.extra['challenge'])
        if method == 'cryptosign':
            from autobahn.wamp.cryptosign import CryptosignKey
            key = CryptosignKey.from_bytes(binascii.a2b_hex(ARGS['seed']))
            return key.sign_challenge(challenge)
        raise RuntimeError('unknown method')

    authextra = None
    if method == 'cryptosign':
        from autobahn.wamp.cryptosign import CryptosignKey
        authextra = {'pubkey': CryptosignKey.from_bytes(binascii.a2b_hex(ARGS['seed'])).public_key()}

    async def t_join():
        s, d = await join(authmethods=[method], authid=ARGS.get('authid'), authextra=authextra, onchallenge=answer)
        assert d.authrole == ARGS['role'] and d.authmethod == method, (d.authrole, d.authmethod)
        if 'authid' in ARGS:
            assert d.authid == ARGS['authid'], d.authid
    async def t_reject():
        try:
            await join(authmethods=[method], authid=ARGS.get('authid'), authextra=authextra, onchallenge=answer)
        except Exception as e:  # noqa: BLE001
            assert ARGS['expect_abort'] in str(e), str(e)
            return
        raise AssertionError('joined, expected ' + ARGS['expect_abort'])
    if 'expect_abort' in ARGS:
        await check('%s rejected' % method, t_reject())
    else:
        await check('%s accepted' % method, t_join())


async def main():
    try:
        await {'rpc': scenario_rpc, 'pubsub': scenario_pubsub, 'meta': scenario_meta, 'auth': scenario_auth}[SCENARIO]()
    except Exception as e:  # noqa: BLE001
        report('scenario ' + SCENARIO, False, repr(e))
    for s in sessions:
        if s.is_attached():
            s.leave()
    await asyncio.sleep(0.1)


asyncio.get_event_loop().run_until_complete(main())
sys.exit(1 if failed else 0)

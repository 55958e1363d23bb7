"""
Autobahn|Python (asyncio) peer for test/cli/wamp-client.test.ts: the other
side of the `autostrada` client commands on our router.

    /usr/bin/python3 cli_peer.py WS-URL

Registers com.example.py.add (a + b), com.example.py.fail (raises
com.example.py.oops) and com.example.py.announce (publishes its arguments to
com.example.py.news); subscribes to com.example.py.inbox and prints each event
as "EVENT <json>" on stdout. Prints "READY" once all is in place. Exits when
stdin closes, or after 60 s.
"""
import asyncio
import json
import sys
from urllib.parse import urlparse

import txaio
txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession
from autobahn.asyncio.websocket import WampWebSocketClientFactory
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import JsonSerializer
from autobahn.wamp.types import ComponentConfig, PublishOptions

URL = sys.argv[1]


class Peer(ApplicationSession):
    async def onJoin(self, details):
        def add(a, b):
            return a + b

        def fail():
            raise ApplicationError('com.example.py.oops', 'bad input', code=7)

        async def announce(*args, **kwargs):
            await self.publish('com.example.py.news', *args, options=PublishOptions(acknowledge=True), **kwargs)
            return 'announced'

        def inbox(*args, **kwargs):
            print('EVENT ' + json.dumps({'args': list(args), 'kwargs': kwargs}), flush=True)

        await self.register(add, 'com.example.py.add')
        await self.register(fail, 'com.example.py.fail')
        await self.register(announce, 'com.example.py.announce')
        await self.subscribe(inbox, 'com.example.py.inbox')
        print('READY', flush=True)

    def onDisconnect(self):
        asyncio.get_event_loop().stop()


async def main():
    loop = asyncio.get_event_loop()
    factory = WampWebSocketClientFactory(lambda: Peer(ComponentConfig('realm1')), url=URL, serializers=[JsonSerializer()])
    u = urlparse(URL)
    await loop.create_connection(factory, u.hostname, u.port)
    # Until stdin closes (the test ends) or 60 s.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await asyncio.wait_for(reader.read(), 60)
    except asyncio.TimeoutError:
        pass


if __name__ == '__main__':
    try:
        asyncio.get_event_loop().run_until_complete(main())
    except RuntimeError:
        pass  # the loop was stopped on disconnect

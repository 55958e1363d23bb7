#!/usr/bin/python3
"""Autobahn|Python (asyncio) WebSocket server used as a real interop peer.

Run with Debian's interpreter: /usr/bin/python3 autobahn_server.py --port 0 [--deflate]

Prints exactly one line "LISTENING <port>" on stdout once it accepts
connections. Everything else goes to stderr: one JSON object per line
(events "open", "close", "pong", "send-result", "error"), so a test can
read what this peer saw.

Behaviour is chosen per connection by the URL path:

  /echo                        echo every message with its type
  /fragmented-echo?fragment=F  echo, sending each reply in frames of F bytes
  /close?code=4001&reason=bye  close right after the open with that code and
                               reason (no code -> empty close frame; any code,
                               also ones sendClose() refuses, e.g. 1001/1011)
  /ping[?payload=xyz]          send a ping (default payload b"autostrada")
                               right after the open; on the pong send the text
                               message "pong:<payload>"
  /send?size=N&binary=1&fragment=F&count=C[&close=1]
                               send C messages of N bytes (see payload.py),
                               fragmented in F-byte frames when F > 0, then wait
                               for the peer to echo all C back and reply with
                               the text "ok" or "mismatch" (then close with
                               1000 when close=1)
  /info                        send one text message: JSON with the path,
                               query, request headers and negotiated
                               extensions; then behave like /echo
"""

import argparse
import asyncio
import json
import os
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from autobahn.asyncio.websocket import (  # noqa: E402
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.websocket.compress import (  # noqa: E402
    PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept,
)

from payload import make_payload  # noqa: E402


def log_event(**fields):
    sys.stderr.write(json.dumps(fields, sort_keys=True) + "\n")
    sys.stderr.flush()


def _first(params, name, default=None):
    vals = params.get(name)
    if not vals:
        return default
    return vals[0]


def _int(params, name, default):
    v = _first(params, name)
    return default if v is None or v == "" else int(v)


def _bool(params, name, default=False):
    v = _first(params, name)
    if v is None:
        return default
    return v.lower() in ("1", "true", "yes", "on")


def extensions_info(proto):
    """Negotiated extensions as (names, params-list)."""
    exts = list(getattr(proto, "websocket_extensions_in_use", None) or [])
    names = [e.EXTENSION_NAME for e in exts]
    params = [e.__json__() for e in exts]
    return names, params


class PeerServerProtocol(WebSocketServerProtocol):

    def onConnect(self, request):
        self.req_path = request.path
        self.req_params = request.params
        self.req_headers = dict(request.headers)
        self.mode = request.path
        # /send state
        self.send_expected = []
        self.send_received = 0
        self.send_ok = True
        return None

    def onOpen(self):
        names, params = extensions_info(self)
        log_event(
            event="open",
            path=self.req_path,
            query={k: v[0] for k, v in self.req_params.items()},
            extensions=", ".join(names),
            extensionParams=params,
            requestExtensionsHeader=self.req_headers.get("sec-websocket-extensions"),
        )
        p = self.req_params
        try:
            if self.mode == "/close":
                code = _first(p, "code")
                reason = _first(p, "reason")
                self.sendCloseFrame(
                    code=int(code) if code not in (None, "") else None,
                    reasonUtf8=reason.encode("utf-8") if reason is not None and code not in (None, "") else None,
                )
            elif self.mode == "/ping":
                payload = _first(p, "payload")
                self.sendPing(payload.encode("utf-8") if payload is not None else b"autostrada")
            elif self.mode == "/send":
                size = _int(p, "size", 0)
                binary = _bool(p, "binary", False)
                frag = _int(p, "fragment", 0)
                count = _int(p, "count", 1)
                data = make_payload(size, binary)
                self.send_expected = [(data, binary)] * count
                for _ in range(count):
                    self.sendMessage(data, isBinary=binary, fragmentSize=frag if frag > 0 else None)
                if count == 0:
                    self._send_done()
            elif self.mode == "/info":
                info = {
                    "path": self.req_path,
                    "query": {k: v[0] for k, v in self.req_params.items()},
                    "headers": self.req_headers,
                    "extensions": ", ".join(names),
                    "extensionParams": params,
                }
                self.sendMessage(json.dumps(info).encode("utf-8"), isBinary=False)
            elif self.mode not in ("/echo", "/fragmented-echo"):
                log_event(event="error", path=self.req_path, error="unknown path")
                self.sendCloseFrame(code=4404, reasonUtf8=b"unknown path")
        except Exception as e:  # report, then fail the connection
            log_event(event="error", path=self.req_path, error=repr(e))
            self.sendCloseFrame(code=1011, reasonUtf8=b"peer error")

    def _send_done(self):
        result = "ok" if self.send_ok else "mismatch"
        log_event(event="send-result", path=self.req_path, result=result, received=self.send_received)
        self.sendMessage(result.encode("ascii"), isBinary=False)
        if _bool(self.req_params, "close", False):
            self.sendClose(code=1000)

    def onMessage(self, payload, isBinary):
        if self.mode in ("/echo", "/info"):
            self.sendMessage(payload, isBinary=isBinary)
        elif self.mode == "/fragmented-echo":
            frag = _int(self.req_params, "fragment", 0)
            self.sendMessage(payload, isBinary=isBinary, fragmentSize=frag if frag > 0 else None)
        elif self.mode == "/send":
            i = self.send_received
            self.send_received += 1
            if i >= len(self.send_expected):
                self.send_ok = False
                log_event(event="error", path=self.req_path, error="unexpected extra message")
                return
            data, binary = self.send_expected[i]
            if payload != data or isBinary != binary:
                self.send_ok = False
                log_event(event="error", path=self.req_path,
                          error="echo %d differs (len %d vs %d, binary %s vs %s)" % (i, len(payload), len(data), isBinary, binary))
            if self.send_received == len(self.send_expected):
                self._send_done()
        else:
            log_event(event="message", path=self.req_path, binary=isBinary, length=len(payload))

    def onPong(self, payload):
        log_event(event="pong", path=self.req_path, payload=payload.decode("utf-8", "replace"))
        if self.mode == "/ping":
            self.sendMessage(b"pong:" + payload, isBinary=False)

    def onClose(self, wasClean, code, reason):
        log_event(
            event="close",
            path=getattr(self, "req_path", None),
            wasClean=wasClean,
            code=code,
            reason=reason,
            localCode=getattr(self, "localCloseCode", None),
            remoteCode=getattr(self, "remoteCloseCode", None),
            remoteReason=getattr(self, "remoteCloseReason", None),
        )


def accept_deflate(offers):
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    ap.add_argument("--deflate", action="store_true", help="accept permessage-deflate offers")
    ap.add_argument("--max-payload", type=int, default=0,
                    help="maxMessagePayloadSize/maxFramePayloadSize (0 = unlimited)")
    ap.add_argument("--watch-stdin", action="store_true",
                    help="exit when stdin reaches EOF (i.e. when the parent that spawned us dies)")
    args = ap.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    factory = WebSocketServerFactory(loop=loop, server="autostrada-interop-autobahn")
    factory.protocol = PeerServerProtocol
    opts = dict(
        maxMessagePayloadSize=args.max_payload,
        maxFramePayloadSize=args.max_payload,
        autoPingInterval=0,
        openHandshakeTimeout=10,
        closeHandshakeTimeout=5,
        tcpNoDelay=True,
    )
    if args.deflate:
        opts["perMessageCompressionAccept"] = accept_deflate
    factory.setProtocolOptions(**opts)

    server = loop.run_until_complete(loop.create_server(factory, args.host, args.port))
    port = server.sockets[0].getsockname()[1]

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    if args.watch_stdin:
        fd = sys.stdin.fileno()

        def on_stdin():
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(fd)
                if not stop.done():
                    stop.set_result(None)
        loop.add_reader(fd, on_stdin)

    sys.stdout.write("LISTENING %d\n" % port)
    sys.stdout.flush()
    log_event(event="listening", port=port, deflate=args.deflate)

    try:
        loop.run_until_complete(stop)
    finally:
        server.close()
        loop.close()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Autobahn|Python (asyncio) WebSocket client used as a real interop peer.

Run with Debian's interpreter:

  /usr/bin/python3 autobahn_client.py --url ws://127.0.0.1:PORT/path --mode MODE [--deflate] ...

Modes:
  echo-check  send the messages of a JSON spec (--spec JSON, or --spec - to
              read it from stdin) one at a time and check that each echo comes
              back identical (same bytes, same type); then close with 1000.
              Spec: [{"size": N, "binary": bool, "fragmentSize": F, "count": C}, ...]
              or {"messages": [...]}; content comes from payload.py.
  close       close right after the open with --code/--reason (no --code:
              empty close frame) and report what the server answered.
  ping        send a ping with --payload (UTF-8, default "autostrada") and
              report the pong's payload; then close with 1000.
  recv        print (in the JSON) every message received (type, length,
              sha256) until the server closes; --echo also echoes each one.
              With --close-after N the client closes with 1000 after N messages.

Output: exactly ONE JSON line on stdout, e.g.
  {"ok": true, "mode": "echo-check", "opened": true, "extensions": "permessage-deflate",
   "extensionParams": [...], "responseExtensionsHeader": "...", "results": [...],
   "close": {"wasClean": true, "code": 1000, "reason": null, ...}}
Exit code 0 when ok is true, 1 otherwise (mismatch, connect failure,
timeout, ...; "error" then says what went wrong), 2 for bad arguments.
Logs go to stderr.
"""

import argparse
import asyncio
import hashlib
import json
import os
import sys
from urllib.parse import urlparse

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from autobahn.asyncio.websocket import (  # noqa: E402
    WebSocketClientFactory,
    WebSocketClientProtocol,
)
from autobahn.websocket.compress import (  # noqa: E402
    PerMessageDeflateOffer,
    PerMessageDeflateResponse,
    PerMessageDeflateResponseAccept,
)

from payload import make_payload  # noqa: E402


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def parse_spec(text):
    spec = json.loads(text)
    if isinstance(spec, dict):
        spec = spec.get("messages", [])
    if not isinstance(spec, list):
        raise ValueError("spec must be a list or {\"messages\": [...]}")
    out = []
    for m in spec:
        size = int(m.get("size", 0))
        binary = bool(m.get("binary", False))
        frag = m.get("fragmentSize")
        frag = int(frag) if frag else None
        for _ in range(int(m.get("count", 1))):
            out.append((size, binary, frag))
    return out


class PeerClientProtocol(WebSocketClientProtocol):
    # set by main() on the factory: factory.cfg, factory.result, factory.done

    def onConnect(self, response):
        self.factory.result["responseExtensionsHeader"] = response.headers.get("sec-websocket-extensions")
        self.factory.result["httpStatus"] = 101

    def onOpen(self):
        cfg = self.factory.cfg
        res = self.factory.result
        res["opened"] = True
        exts = list(self.websocket_extensions_in_use or [])
        res["extensions"] = ", ".join(e.EXTENSION_NAME for e in exts)
        res["extensionParams"] = [e.__json__() for e in exts]
        self.queue = []
        self.index = 0
        self.received = []
        if cfg.mode == "echo-check":
            res["results"] = []
            self.queue = cfg.messages
            self._send_next()
        elif cfg.mode == "close":
            res["sent"] = {"code": cfg.code, "reason": cfg.reason if cfg.code is not None else None}
            self.sendCloseFrame(
                code=cfg.code,
                reasonUtf8=cfg.reason.encode("utf-8") if (cfg.reason is not None and cfg.code is not None) else None,
            )
        elif cfg.mode == "ping":
            res["sent"] = {"payload": cfg.payload}
            self.sendPing(cfg.payload.encode("utf-8") if cfg.payload else None)
        elif cfg.mode == "recv":
            res["messages"] = []

    def _send_next(self):
        if self.index >= len(self.queue):
            res = self.factory.result
            res["ok"] = all(r["ok"] for r in res["results"])
            self.sendClose(code=1000)
            return
        size, binary, frag = self.queue[self.index]
        self.expected = make_payload(size, binary)
        self.sendMessage(self.expected, isBinary=binary, fragmentSize=frag)

    def onMessage(self, payload, isBinary):
        cfg = self.factory.cfg
        res = self.factory.result
        if cfg.mode == "echo-check":
            if self.index >= len(self.queue):
                res.setdefault("unexpected", 0)
                res["unexpected"] += 1
                res["ok"] = False
                return
            size, binary, frag = self.queue[self.index]
            ok = payload == self.expected and isBinary == binary
            entry = {"size": size, "binary": binary, "fragmentSize": frag, "ok": ok}
            if not ok:
                entry["receivedSize"] = len(payload)
                entry["receivedBinary"] = isBinary
                entry["sha256"] = hashlib.sha256(payload).hexdigest()
                entry["expectedSha256"] = hashlib.sha256(self.expected).hexdigest()
            res["results"].append(entry)
            self.index += 1
            self._send_next()
        elif cfg.mode == "recv":
            res["messages"].append({
                "type": "binary" if isBinary else "text",
                "length": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
                **({"text": payload.decode("utf-8")} if (not isBinary and len(payload) <= 256) else {}),
            })
            if cfg.echo:
                self.sendMessage(payload, isBinary=isBinary)
            if cfg.close_after and len(res["messages"]) >= cfg.close_after:
                self.sendClose(code=1000)
        else:
            res.setdefault("messages", []).append({
                "type": "binary" if isBinary else "text",
                "length": len(payload),
                "sha256": hashlib.sha256(payload).hexdigest(),
            })

    def onPong(self, payload):
        cfg = self.factory.cfg
        res = self.factory.result
        if cfg.mode == "ping" and "pong" not in res:
            res["pong"] = payload.decode("utf-8", "replace")
            res["pongHex"] = payload.hex()
            res["ok"] = payload == (cfg.payload or "").encode("utf-8")
            self.sendClose(code=1000)

    def onClose(self, wasClean, code, reason):
        cfg = self.factory.cfg
        res = self.factory.result
        res["close"] = {
            "wasClean": wasClean,
            "code": code,
            "reason": reason,
            "remoteCode": getattr(self, "remoteCloseCode", None),
            "remoteReason": getattr(self, "remoteCloseReason", None),
            "localCode": getattr(self, "localCloseCode", None),
            "closedByMe": bool(getattr(self, "closedByMe", False)),
            # Who closed TCP: RFC 6455 7.1.1 has the server do it; a client
            # that had to (after serverConnectionDropTimeout) says so here.
            "droppedByMe": bool(getattr(self, "droppedByMe", False)),
            "serverDropTimeout": bool(getattr(self, "wasServerConnectionDropTimeout", False)),
        }
        if cfg.mode == "close":
            res["ok"] = bool(wasClean)
        elif cfg.mode == "recv":
            res["ok"] = bool(wasClean)
        elif cfg.mode == "echo-check":
            if res.get("results") is None or len(res["results"]) < len(cfg.messages):
                res["ok"] = False
                res.setdefault("error", "connection closed before all echoes arrived")
        elif cfg.mode == "ping" and "pong" not in res:
            res["ok"] = False
            res.setdefault("error", "connection closed before the pong")
        if not wasClean and cfg.mode in ("echo-check", "ping"):
            res["ok"] = False
            res.setdefault("error", "unclean close: %s" % (reason,))
        if not self.factory.done.done():
            self.factory.done.set_result(None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--mode", required=True, choices=["echo-check", "close", "ping", "recv"])
    ap.add_argument("--deflate", action="store_true", help="offer permessage-deflate and accept the response")
    ap.add_argument("--spec", help="echo-check spec as JSON, or - for stdin")
    ap.add_argument("--code", type=int, help="close mode: close code (omit for an empty close frame)")
    ap.add_argument("--reason", help="close mode: close reason")
    ap.add_argument("--payload", default="autostrada", help="ping mode: ping payload (UTF-8, <= 125 bytes)")
    ap.add_argument("--echo", action="store_true", help="recv mode: echo every message")
    ap.add_argument("--close-after", type=int, default=0, help="recv mode: close with 1000 after N messages")
    ap.add_argument("--timeout", type=float, default=30.0, help="overall timeout in seconds")
    ap.add_argument("--max-payload", type=int, default=0, help="maxMessagePayloadSize/maxFramePayloadSize (0 = unlimited)")
    cfg = ap.parse_args()

    cfg.messages = []
    if cfg.mode == "echo-check":
        if not cfg.spec:
            ap.error("--mode echo-check needs --spec JSON (or --spec - for stdin)")
        try:
            cfg.messages = parse_spec(sys.stdin.read() if cfg.spec == "-" else cfg.spec)
        except Exception as e:
            ap.error("bad --spec: %r" % (e,))

    result = {"ok": False, "mode": cfg.mode, "url": cfg.url, "opened": False,
              "extensions": "", "extensionParams": [], "responseExtensionsHeader": None}

    u = urlparse(cfg.url)
    if u.scheme != "ws":
        ap.error("only ws:// URLs are supported")
    host = u.hostname or "127.0.0.1"
    port = u.port or 80

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    factory = WebSocketClientFactory(cfg.url, loop=loop)
    factory.protocol = PeerClientProtocol
    factory.cfg = cfg
    factory.result = result
    factory.done = loop.create_future()

    opts = dict(
        maxMessagePayloadSize=cfg.max_payload,
        maxFramePayloadSize=cfg.max_payload,
        autoPingInterval=0,
        openHandshakeTimeout=10,
        closeHandshakeTimeout=5,
        tcpNoDelay=True,
    )
    if cfg.deflate:
        def accept(response):
            if isinstance(response, PerMessageDeflateResponse):
                return PerMessageDeflateResponseAccept(response)
            return None
        opts["perMessageCompressionOffers"] = [PerMessageDeflateOffer()]
        opts["perMessageCompressionAccept"] = accept
    factory.setProtocolOptions(**opts)

    async def run():
        transport, _proto = await loop.create_connection(factory, host, port)
        try:
            await factory.done
        finally:
            transport.close()

    try:
        loop.run_until_complete(asyncio.wait_for(run(), cfg.timeout))
    except asyncio.TimeoutError:
        result["ok"] = False
        result["error"] = "timeout after %.1f s" % cfg.timeout
    except Exception as e:
        result["ok"] = False
        result["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        loop.close()

    if result.get("opened") is False and "error" not in result:
        result["error"] = "WebSocket opening handshake failed"
        if "close" in result:
            result["error"] += ": " + str(result["close"].get("reason"))
        result["ok"] = False

    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.exit(0 if result.get("ok") else 1)


if __name__ == "__main__":
    main()

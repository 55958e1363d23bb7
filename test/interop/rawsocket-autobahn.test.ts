/**
 * Our RawSocket transport against Autobahn|Python's (Debian python3-autobahn,
 * Twisted flavour: autobahn.twisted.rawsocket), both directions, at the WAMP
 * message level — the Python side is test/interop/python/rawsocket_peer.py,
 * a scripted router or a scripted client; no real router is involved.
 *
 * Checked: the handshake both ways (serializer echoed, each side's announced
 * maximum learned by the other and honoured), WAMP messages in JSON and
 * MessagePack (binary values included), clean close both ways, Unix sockets,
 * and refusals (this Autobahn has no CBOR: cbor2 is not installed).
 *
 * Not checkable here: RawSocket PING/PONG. Neither Autobahn flavour sends a
 * PING, and a PING sent to the Twisted one is read as an over-long length
 * prefix (it frames with Int32StringReceiver), so heartbeat stays off (the
 * default) against it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawSocketServer, connectRawSocket, type RawSocketTransport } from '../../src/adapters/node/rawsocket.js';
import { RawSocketError } from '../../src/core/rawsocket/errors.js';
import type { WampMessage } from '../../src/wamp/messages.js';
import type { WampTransportCloseInfo } from '../../src/wamp/transport.js';
import { SerializationError } from '../../src/wamp/serializers/types.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python/rawsocket_peer.py', import.meta.url));

const available = ((): true | string => {
  const r = spawnSync(PYTHON, ['-c', 'import txaio; txaio.use_twisted(); import autobahn.twisted.rawsocket, msgpack'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  return r.status === 0 ? true : `Autobahn|Python (Twisted) is not importable by ${PYTHON}: ${r.stderr.trim().split('\n').at(-1) ?? ''} — apt-get install python3-autobahn python3-twisted python3-msgpack`;
})();
const skip = available === true ? false : available;

type PyEvent = Record<string, unknown> & { event: string };

/** A Python peer: its JSON-line events, waits bounded in time, killed at the end. */
class PyPeer {
  readonly events: PyEvent[] = [];
  readonly exited: Promise<number | null>;
  private readonly proc: ChildProcess;
  private stderr = '';
  private waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.proc = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as PyEvent);
      } catch {
        this.stderr += `[stdout] ${line}\n`;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((r) => this.proc.on('exit', (code) => {
      for (const w of this.waiters.splice(0)) w();
      r(code);
    }));
    live.add(this);
  }

  /** The first event matching `pred` (already seen or coming), within `ms`. */
  async wait(pred: (e: PyEvent) => boolean, ms = 10_000, what = 'python event'): Promise<PyEvent> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null || Date.now() > end) {
        throw new Error(`${what}: not seen; events ${JSON.stringify(this.events)}; stderr ${this.stderr.slice(-2000)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, Math.min(200, end - Date.now())));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  messages(): PyEvent[] {
    return this.events.filter((e) => e.event === 'message');
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    live.delete(this);
  }
}

const live = new Set<PyPeer>();
after(() => {
  for (const p of live) p.kill();
});

/** Records a transport's messages and its close. */
function attach(t: RawSocketTransport, onMessage?: (m: WampMessage) => void) {
  const messages: WampMessage[] = [];
  const protocolErrors: Error[] = [];
  let closedResolve!: (i: WampTransportCloseInfo) => void;
  const closed = new Promise<WampTransportCloseInfo>((r) => (closedResolve = r));
  let waiter: (() => void) | null = null;
  t.open({
    onMessage: (m) => {
      messages.push(m);
      onMessage?.(m);
      waiter?.();
    },
    onProtocolError: (e) => void protocolErrors.push(e),
    onClose: (i) => closedResolve(i),
  });
  let read = 0;
  const next = async (ms = 10_000): Promise<WampMessage> => {
    const end = Date.now() + ms;
    while (read >= messages.length) {
      if (Date.now() > end) throw new Error(`no message within ${ms} ms (protocol errors: ${protocolErrors.map(String).join('; ')})`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 100);
        waiter = () => {
          clearTimeout(timer);
          waiter = null;
          r();
        };
      });
    }
    return messages[read++] as WampMessage;
  };
  return { t, messages, protocolErrors, closed, next };
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    timer.unref();
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

const BIN = new Uint8Array([0, 1, 255]);

for (const serializer of ['json', 'msgpack'] as const) {
  test(`our client → Autobahn|Python RawSocket server (${serializer}): handshake limits both ways, HELLO/WELCOME, CALL/RESULT, limit honoured, GOODBYE`, { skip }, async () => {
    const py = new PyPeer(['server', '--serializers', 'json,msgpack', '--max-message-size', '65536']);
    try {
      const listening = await py.wait((e) => e.event === 'listening', 15_000, 'listening');
      const t = await bounded(connectRawSocket({ host: '127.0.0.1', port: listening.port as number, serializer, maxMessageSize: 4096 }), 10_000, 'connect');
      // Autobahn announced 65536 (L=7) and learned our 4096 (L=3).
      assert.equal(t.maxSendLength, 65536);
      assert.equal(t.maxReceiveLength, 4096);
      const opened = await py.wait((e) => e.event === 'open', 10_000, 'python open');
      assert.deepEqual(opened, { event: 'open', serializer: serializer === 'json' ? 1 : 2, max_len_send: 4096, max_len_receive: 65536 });

      const c = attach(t);
      c.t.send({ type: 1, realm: 'realm1', details: { roles: { caller: {} } } });
      const welcome = await c.next();
      assert.equal(welcome.type, 2);
      assert.equal((welcome as { session: number }).session, 4242);

      const args = [1, 'two €', BIN, { k: [true, null] }];
      c.t.send({ type: 48, request: 1, options: {}, procedure: 'com.echo', args, kwargs: { x: 1.5 } });
      assert.deepEqual(await c.next(), { type: 50, request: 1, details: {}, args, kwargs: { x: 1.5 } });
      const pyCall = await py.wait((e) => e.type === 48, 5000, 'python saw CALL');
      assert.deepEqual(pyCall.args, [1, 'two €', { bytes: '0001ff' }, { k: [true, null] }]);

      // Fits our 4096: sent. Would not fit: Autobahn refuses to send it (it honours our announced limit).
      c.t.send({ type: 48, request: 2, options: {}, procedure: 'com.big', args: [1000] });
      const small = await c.next();
      assert.equal(small.type, 50);
      assert.equal(((small as { args: string[] }).args[0] ?? '').length, 1000);
      c.t.send({ type: 48, request: 3, options: {}, procedure: 'com.big', args: [10_000] });
      assert.deepEqual(await c.next(), { type: 8, requestType: 48, request: 3, details: {}, error: 'com.error.payload_exceeded' });

      // Our side honours Autobahn's 65536: refused locally, nothing sent, still open.
      assert.throws(
        () => c.t.send({ type: 48, request: 4, options: {}, procedure: 'com.echo', args: ['y'.repeat(70_000)] }),
        (e: unknown) => e instanceof SerializationError && (e.cause as RawSocketError).code === 'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED',
      );
      assert.equal(c.t.isOpen, true);

      c.t.send({ type: 6, details: {}, reason: 'wamp.close.close_realm' });
      assert.deepEqual(await c.next(), { type: 6, details: {}, reason: 'wamp.close.goodbye_and_out' });
      c.t.close();
      assert.deepEqual(await bounded(c.closed, 5000, 'closed'), { code: 1000, reason: '', wasClean: true });
      assert.deepEqual(await py.wait((e) => e.event === 'close', 5000, 'python close'), { event: 'close', clean: true });
      assert.deepEqual(py.messages().map((m) => m.type), [1, 48, 48, 48, 6]);
      assert.deepEqual(c.protocolErrors, []);
    } finally {
      py.kill();
    }
  });
}

test('our client → Autobahn|Python RawSocket server over a Unix socket', { skip }, async () => {
  const dir = mkdtempSync(joinPath(tmpdir(), 'autostrada-rs-py-'));
  const path = joinPath(dir, 'ab.sock');
  const py = new PyPeer(['server', '--serializers', 'json', '--unix', path]);
  try {
    await py.wait((e) => e.event === 'listening', 15_000, 'listening');
    const t = await bounded(connectRawSocket({ path }), 10_000, 'connect');
    assert.equal(t.maxSendLength, 2 ** 24); // Autobahn's default, L=15
    const c = attach(t);
    c.t.send({ type: 1, realm: 'realm1', details: { roles: { caller: {} } } }); // Autobahn requires HELLO.Details.roles
    assert.equal((await c.next()).type, 2);
    c.t.close();
    await bounded(c.closed, 5000, 'closed');
    assert.deepEqual(await py.wait((e) => e.event === 'close', 5000, 'python close'), { event: 'close', clean: true });
  } finally {
    py.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a serializer Autobahn lacks (CBOR without cbor2): the connect fails cleanly, the server lives on', { skip }, async () => {
  const py = new PyPeer(['server', '--serializers', 'json,msgpack']);
  try {
    const { port } = await py.wait((e) => e.event === 'listening', 15_000, 'listening');
    // Autobahn drops the connection without an error reply (its abort() raises before one is written).
    const err = await bounded(connectRawSocket({ port: port as number, serializer: 'cbor' }).then(() => null, (e: unknown) => e), 10_000, 'refused');
    assert.ok(err instanceof RawSocketError);
    assert.equal(err.code, 'RAWSOCKET_ERR_CONNECTION_LOST');
    const t = await bounded(connectRawSocket({ port: port as number, serializer: 'msgpack' }), 10_000, 'msgpack still works');
    const c = attach(t);
    c.t.send({ type: 1, realm: 'realm1', details: { roles: { caller: {} } } }); // Autobahn requires HELLO.Details.roles
    assert.equal((await c.next()).type, 2);
    c.t.close();
    await bounded(c.closed, 5000, 'closed');
  } finally {
    py.kill();
  }
});

/** Our RawSocketServer playing a scripted router for the Python client. */
async function scriptedRouter(options: ConstructorParameters<typeof RawSocketServer>[0]) {
  const sessions: Array<ReturnType<typeof attach>> = [];
  const server = new RawSocketServer({ port: 0, ...options }, (t) => {
    const s = attach(t, (m) => {
      if (m.type === 1) t.send({ type: 2, session: 777, details: { roles: { dealer: {}, broker: {} } } });
      else if (m.type === 48) t.send({ type: 50, request: m.request, details: {}, ...(m.args ? { args: m.args } : {}), ...(m.kwargs ? { kwargs: m.kwargs } : {}) });
      else if (m.type === 6) t.send({ type: 6, details: {}, reason: 'wamp.close.goodbye_and_out' });
    });
    sessions.push(s);
  });
  await server.ready();
  return { server, port: (server.address() as { port: number }).port, sessions };
}

for (const serializer of ['json', 'msgpack'] as const) {
  test(`Autobahn|Python RawSocket client → our RawSocketServer (${serializer}): handshake limits, HELLO … GOODBYE, binary args`, { skip }, async () => {
    const { server, port, sessions } = await scriptedRouter({ maxMessageSize: 65536 });
    try {
      const py = new PyPeer(['client', '--port', String(port), '--serializer', serializer, '--max-message-size', '1024']);
      const opened = await py.wait((e) => e.event === 'open', 15_000, 'python open');
      // Autobahn learned our 65536 and announced its own 1024.
      assert.deepEqual(opened, { event: 'open', serializer: serializer === 'json' ? 1 : 2, max_len_send: 65536, max_len_receive: 1024 });
      await py.wait((e) => e.event === 'lost', 15_000, 'python done');
      assert.equal(await bounded(py.exited, 10_000, 'python exit'), 0);
      const s = sessions[0];
      assert.ok(s);
      assert.equal(s.t.info.serializer, serializer);
      assert.equal(s.t.maxSendLength, 1024);
      assert.equal(s.t.maxReceiveLength, 65536);
      assert.deepEqual(s.messages.map((m) => m.type), [1, 48, 6]);
      const call = s.messages[1] as Extract<WampMessage, { type: 48 }>;
      assert.equal(call.procedure, 'com.echo');
      assert.deepEqual(call.args, [1, 'two €', BIN, { k: [true, null] }]);
      assert.deepEqual(call.kwargs, { x: 1.5 });
      const seen = py.messages();
      assert.deepEqual(seen.map((m) => m.type), [2, 50, 6]);
      assert.equal(seen[0]?.session, 777);
      assert.deepEqual(seen[1]?.args, [1, 'two €', { bytes: '0001ff' }, { k: [true, null] }]);
      assert.deepEqual(await bounded(s.closed, 5000, 'our close'), { code: 1000, reason: '', wasClean: true });
      assert.deepEqual(py.events.find((e) => e.event === 'close'), { event: 'close', clean: true });
    } finally {
      await server.close();
    }
  });
}

test('Autobahn|Python client asking for a serializer we refuse: we send error reply 1, it never opens', { skip }, async () => {
  const { server, port } = await scriptedRouter({ serializers: ['cbor'] });
  const refused: string[] = [];
  server.on('handshakeError', (e) => refused.push(e.code));
  try {
    const py = new PyPeer(['client', '--port', String(port), '--serializer', 'msgpack']);
    const lost = await py.wait((e) => e.event === 'lost', 15_000, 'python lost');
    assert.equal(lost.handshake_complete, false);
    assert.equal(py.events.some((e) => e.event === 'open'), false);
    await bounded(py.exited, 10_000, 'python exit');
    assert.deepEqual(refused, ['RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED']);
  } finally {
    await server.close();
  }
});

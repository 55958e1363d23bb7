/**
 * Our RawSocketServer against Autobahn|JS's RawSocket client (npm autobahn,
 * lib/transport/rawsocket.js; JSON only): a whole WAMP session through
 * `autobahn.Connection` with a scripted router on our side, and RawSocket
 * PING/PONG both ways with its `Protocol` (autoping with strict PONG payload
 * checks; our heartbeat against its PONGs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import { RawSocketServer, type RawSocketTransport } from '../../src/adapters/node/rawsocket.js';
import type { WampMessage } from '../../src/wamp/messages.js';
import type { WampTransportCloseInfo } from '../../src/wamp/transport.js';

const require = createRequire(import.meta.url);

interface AbSession {
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<unknown>;
  id: number;
}
interface AbConnection {
  onopen: (session: AbSession, details: unknown) => void;
  onclose: (reason: string, details: unknown) => boolean;
  open(): void;
  close(reason?: string, message?: string): void;
}
interface AbProtocol {
  on(event: string, handler: (arg?: unknown) => void): void;
  write(msg: unknown, type?: number, cb?: () => void): void;
  close(): void;
  _handlePongPacket(buffer: Buffer): number;
  _handlePingPacket(buffer: Buffer): number;
  _clearAutoPing(): void;
  _clearPingTimeout(): void;
}
const autobahn = require('autobahn') as { Connection: new (options: Record<string, unknown>) => AbConnection };
const { Protocol } = require('autobahn/lib/transport/rawsocket.js') as {
  Protocol: new (stream: Socket, options: Record<string, unknown>) => AbProtocol;
};

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    timer.unref();
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A scripted router: HELLO → WELCOME, CALL → RESULT (echo), GOODBYE → GOODBYE. */
async function scriptedRouter(options: ConstructorParameters<typeof RawSocketServer>[0] = {}) {
  const seen: WampMessage[] = [];
  const closes: WampTransportCloseInfo[] = [];
  const transports: RawSocketTransport[] = [];
  const protocolErrors: Error[] = [];
  const server = new RawSocketServer({ port: 0, serializers: ['json'], ...options }, (t) => {
    transports.push(t);
    t.open({
      onMessage: (m) => {
        seen.push(m);
        if (m.type === 1) t.send({ type: 2, session: 31337, details: { roles: { dealer: {}, broker: {} } } });
        else if (m.type === 48) t.send({ type: 50, request: m.request, details: {}, args: m.args ?? [], kwargs: m.kwargs ?? {} });
        else if (m.type === 6) t.send({ type: 6, details: {}, reason: 'wamp.close.goodbye_and_out' });
      },
      onProtocolError: (e) => void protocolErrors.push(e),
      onClose: (i) => void closes.push(i),
    });
  });
  await server.ready();
  return { server, port: (server.address() as { port: number }).port, seen, closes, transports, protocolErrors };
}

test('Autobahn|JS Connection over RawSocket: session, call with args and kwargs, goodbye', async () => {
  const { server, port, seen, closes, protocolErrors } = await scriptedRouter();
  try {
    const connection = new autobahn.Connection({
      realm: 'realm1',
      transports: [{ type: 'rawsocket', host: '127.0.0.1', port }],
      max_retries: 0,
    });
    const closed = new Promise<string>((resolve) => {
      connection.onclose = (reason) => {
        resolve(reason);
        return true; // no reconnect
      };
    });
    const session = await bounded(
      new Promise<AbSession>((resolve) => {
        connection.onopen = (s) => resolve(s);
        connection.open();
      }),
      10_000,
      'session open',
    );
    assert.equal(session.id, 31337);
    const res = (await bounded(session.call('com.echo', [1, 'two €', [true, null]], { k: 'v' }), 5000, 'call')) as { args: unknown[]; kwargs: unknown };
    assert.deepEqual(res.args, [1, 'two €', [true, null]]);
    assert.deepEqual(res.kwargs, { k: 'v' });
    connection.close('wamp.close.normal');
    assert.equal(await bounded(closed, 5000, 'onclose'), 'closed');
    assert.deepEqual(seen.map((m) => m.type), [1, 48, 6]);
    const hello = seen[0] as Extract<WampMessage, { type: 1 }>;
    assert.equal(hello.realm, 'realm1');
    assert.ok('caller' in (hello.details.roles as object));
    await bounded((async () => { while (closes.length === 0) await sleep(5); })(), 5000, 'our close');
    assert.equal(closes[0]?.wasClean, true);
    assert.deepEqual(protocolErrors, []);
  } finally {
    await server.close();
  }
});

function abProtocol(port: number, options: Record<string, unknown>): Promise<{ p: AbProtocol; socket: Socket; errors: unknown[]; counts: { pings: number; pongs: number } }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.on('error', () => {});
    const p = new Protocol(socket, options);
    const errors: unknown[] = [];
    const counts = { pings: 0, pongs: 0 };
    const onPong = p._handlePongPacket;
    p._handlePongPacket = function (this: AbProtocol, b: Buffer) {
      counts.pongs++;
      return onPong.call(this, b);
    };
    const onPing = p._handlePingPacket;
    p._handlePingPacket = function (this: AbProtocol, b: Buffer) {
      counts.pings++;
      return onPing.call(this, b);
    };
    p.on('error', (e) => errors.push(e));
    p.on('connect', () => resolve({ p, socket, errors, counts }));
    const t = setTimeout(() => reject(new Error('Autobahn|JS RawSocket handshake: not within 5000 ms')), 5000);
    t.unref();
  });
}

test('PING from Autobahn|JS (autoping, strict PONG check) is answered with its payload', async () => {
  const { server, port, closes } = await scriptedRouter();
  try {
    const { p, socket, errors, counts } = await abProtocol(port, { autoping: 30, ping_timeout: 25, strict_pong: true, fail_on_ping_timeout: true });
    await bounded((async () => { while (counts.pongs < 5) await sleep(5); })(), 5000, 'five PONGs');
    assert.deepEqual(errors, []);
    assert.equal(socket.destroyed, false);
    assert.deepEqual(closes, []);
    // A WAMP message still flows between PINGs.
    const got = new Promise<unknown>((r) => p.on('data', r));
    p.write([1, 'realm1', { roles: { caller: {} } }]);
    assert.equal(((await bounded(got, 5000, 'WELCOME')) as unknown[])[0], 2);
    // Autobahn|JS's close() leaves its autoping interval running: stop it.
    p._clearAutoPing();
    p._clearPingTimeout();
    p.close();
    socket.destroy();
  } finally {
    await server.close();
  }
});

test('our heartbeat PINGs are answered by Autobahn|JS; the connection stays up', async () => {
  const { server, port, closes, transports } = await scriptedRouter({ heartbeat: { interval: 20, timeout: 200 } });
  try {
    const { p, socket, errors, counts } = await abProtocol(port, {});
    await bounded((async () => { while (counts.pings < 5) await sleep(5); })(), 5000, 'five PINGs from us');
    await sleep(50);
    assert.deepEqual(errors, []);
    assert.deepEqual(closes, []);
    assert.equal(transports[0]?.isOpen, true);
    // Autobahn|JS's close() leaves its autoping interval running: stop it.
    p._clearAutoPing();
    p._clearPingTimeout();
    p.close();
    socket.destroy();
  } finally {
    await server.close();
  }
});

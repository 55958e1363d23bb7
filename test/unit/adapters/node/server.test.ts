/**
 * WebSocketServer on real loopback sockets: standalone, attached to an
 * http.Server, path routing, noServer, subprotocol choice, verifyClient,
 * hybi version 8, bad handshakes and shutdown.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { WebSocketServer, type VerifyClientInfo } from '../../../../src/adapters/node/server.js';
import { WebSocket } from '../../../../src/adapters/node/client.js';
import type { WebSocketConnection } from '../../../../src/connection.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';
import { closed, nextMessage } from '../../../helpers/ws.js';
import { RawClient, eventually, rawExchange, statusOf, upgradeRequest, within } from './_util.js';

const T = { timeout: 10_000 };

function echo(ws: WebSocketConnection): void {
  ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
}

async function echoServer(opts: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, ...opts });
  wss.on('connection', echo);
  await wss.ready();
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stopHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A plain HTTP GET without keep-alive: status and body. */
function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Connect, send one message, expect it echoed; close cleanly. */
async function roundTrip(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}, protocols: string[] = []): Promise<WebSocket> {
  const ws = await within(WebSocket.connect(url, protocols, { perMessageDeflate: false, ...options }), 3000, 'connect ' + url);
  ws.send('ping-' + url);
  const e = await nextMessage(ws, 3000);
  assert.equal(e.data, 'ping-' + url);
  return ws;
}

async function closeClient(ws: WebSocketConnection): Promise<void> {
  if (ws.readyState === 3) return;
  const done = closed(ws, 3000);
  ws.close(1000);
  await done;
}

/** The error a client fails with before open (and its close event). */
async function failure(url: string, protocols: string[] = [], options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ error: WebSocketError; code: number }> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  let error: WebSocketError | null = null;
  ws.onerror = (e) => {
    error = e.error;
  };
  ws.onopen = () => assert.fail('should not open');
  const c = await closed(ws, 5000);
  assert.ok(error, 'an error event before close');
  return { error, code: c.code };
}

describe('WebSocketServer: listening and attaching', () => {
  test('standalone: listens on an ephemeral port, echoes, answers plain HTTP with 426', T, async () => {
    const { wss, port, url } = await echoServer();
    try {
      assert.ok(port > 0);
      let listening = 0;
      // 'listening' was emitted before ready() resolved.
      wss.on('listening', () => listening++);
      const ws = await roundTrip(url + '/any/path?x=1');
      assert.equal(wss.clients.size, 1);
      const [serverSide] = [...wss.clients];
      assert.equal(serverSide?.url, '/any/path?x=1');
      const res = await httpGet(port);
      assert.equal(res.status, 426);
      await closeClient(ws);
      assert.equal(listening, 0);
    } finally {
      await wss.close();
    }
  });

  test('standalone: the request stays readable after the handshake (headers, rawHeaders, method, url, version)', T, async () => {
    const wss = new WebSocketServer({ port: 0 });
    const reqs: Array<{ headers: Record<string, unknown>; rawHeaders: string[]; method?: string; url?: string; httpVersion?: string }> = [];
    wss.on('connection', (ws: WebSocketConnection, req: (typeof reqs)[number]) => {
      echo(ws);
      reqs.push(req);
    });
    await wss.ready();
    const port = (wss.address() as AddressInfo).port;
    try {
      const ws = await roundTrip(`ws://127.0.0.1:${port}/p?q=1`, { headers: { 'X-One': 'a', 'x-one': 'b', 'X-Two': 'c' } });
      await new Promise((r) => setTimeout(r, 10));
      // Read only now, after the server dropped the parsed head: parsed again from its text.
      const req = reqs[0]!;
      assert.equal(req.method, 'GET');
      assert.equal(req.url, '/p?q=1');
      assert.equal(req.httpVersion, '1.1');
      assert.equal(req.headers['x-one'], 'a, b');
      assert.equal(req.headers['x-two'], 'c');
      assert.equal(req.headers.upgrade, 'websocket');
      const raw = req.rawHeaders;
      assert.deepEqual(raw.slice(raw.indexOf('X-One'), raw.indexOf('X-One') + 2), ['X-One', 'a']);
      assert.ok(raw.includes('X-Two'));
      await closeClient(ws);
    } finally {
      await wss.close();
    }
  });

  test('attached to an existing http.Server: plain HTTP still served, upgrades handled', T, async () => {
    const server = createServer((req, res) => res.end('plain:' + req.url));
    const port = await listen(server);
    const wss = new WebSocketServer({ server });
    wss.on('connection', echo);
    try {
      await wss.ready();
      assert.deepEqual(await httpGet(port, '/hello'), { status: 200, body: 'plain:/hello' });
      const ws = await roundTrip(`ws://127.0.0.1:${port}/ws`);
      // Plain HTTP keeps working next to an open WebSocket.
      assert.deepEqual(await httpGet(port, '/again'), { status: 200, body: 'plain:/again' });
      await closeClient(ws);
    } finally {
      await wss.close();
      await stopHttp(server);
    }
  });

  test('two servers on one http.Server route by path; an unknown path is refused', T, async () => {
    const server = createServer((_req, res) => res.end('plain'));
    const port = await listen(server);
    const a = new WebSocketServer({ server, path: '/a' });
    const b = new WebSocketServer({ server, path: ['/b', '/b2'] });
    a.on('connection', (ws) => ws.send('from a'));
    b.on('connection', (ws) => ws.send('from b'));
    try {
      for (const [path, expected] of [['/a', 'from a'], ['/b', 'from b'], ['/b2?q=1', 'from b'], ['/a?x', 'from a']] as const) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, [], { perMessageDeflate: false });
        const e = await nextMessage(ws, 3000);
        assert.equal(e.data, expected, path);
        await closeClient(ws);
      }
      const res = await rawExchange(port, upgradeRequest(port, [], { path: '/c' }), 3000);
      assert.ok([400, 404].includes(statusOf(res)), `unknown path answered ${JSON.stringify(res.slice(0, 40))}`);
      const f = await failure(`ws://127.0.0.1:${port}/nowhere`, [], { openTimeout: 3000 });
      assert.equal(f.error.code, 'WS_ERR_HANDSHAKE_REJECTED');
      assert.equal(a.clients.size + b.clients.size, 0);
    } finally {
      await a.close();
      await b.close();
      await stopHttp(server);
    }
  });

  test('one server with a path: another path is answered 404', T, async () => {
    const { wss, port } = await echoServer({ path: '/only' });
    try {
      const res = await rawExchange(port, upgradeRequest(port, [], { path: '/other' }));
      assert.equal(statusOf(res), 404);
      const f = await failure(`ws://127.0.0.1:${port}/other`);
      assert.equal(f.error.code, 'WS_ERR_HANDSHAKE_REJECTED');
      assert.equal(f.error.status, 404);
      assert.equal(f.code, 1006);
      await closeClient(await roundTrip(`ws://127.0.0.1:${port}/only`));
    } finally {
      await wss.close();
    }
  });

  test('noServer + handleUpgrade from a user upgrade handler', T, async () => {
    const wss = new WebSocketServer({ noServer: true });
    const seen: string[] = [];
    wss.on('connection', (ws, req) => {
      seen.push(req.url ?? '');
      echo(ws);
    });
    const server = createServer((_req, res) => res.end('plain'));
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      if (req.url === '/deny') {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket as import('node:net').Socket, head, (ws) => wss.emit('connection', ws, req));
    });
    const port = await listen(server);
    try {
      assert.equal(wss.address(), null);
      const ws = await roundTrip(`ws://127.0.0.1:${port}/chat`);
      assert.deepEqual(seen, ['/chat']);
      assert.equal(wss.clients.size, 1);
      const f = await failure(`ws://127.0.0.1:${port}/deny`);
      assert.equal(f.error.status, 403);
      await closeClient(ws);
    } finally {
      await wss.close();
      await stopHttp(server);
    }
  });
});

describe('WebSocketServer: subprotocols', () => {
  test('`protocols` picks the server\'s first choice among the client\'s offers', T, async () => {
    const { wss, url } = await echoServer({ protocols: ['wamp.2.cbor', 'wamp.2.msgpack', 'wamp.2.json'] });
    const serverSide: string[] = [];
    wss.on('connection', (ws) => serverSide.push(ws.protocol));
    try {
      const ws = await roundTrip(url, {}, ['wamp.2.json', 'wamp.2.cbor']);
      assert.equal(ws.protocol, 'wamp.2.cbor');
      assert.deepEqual(serverSide, ['wamp.2.cbor']);
      await closeClient(ws);
      const ws2 = await roundTrip(url, {}, ['wamp.2.json']);
      assert.equal(ws2.protocol, 'wamp.2.json');
      await closeClient(ws2);
    } finally {
      await wss.close();
    }
  });

  test('handleProtocols decides, seeing the offers in order and the request', T, async () => {
    const calls: Array<[string[], string | undefined]> = [];
    const { wss, url } = await echoServer({
      protocols: ['ignored'],
      handleProtocols: (offered, req) => {
        calls.push([offered, req.url]);
        return offered.includes('none') ? false : (offered[offered.length - 1] as string);
      },
    });
    try {
      const ws = await roundTrip(url + '/p', {}, ['one', 'two', 'three']);
      assert.equal(ws.protocol, 'three');
      assert.deepEqual(calls, [[['one', 'two', 'three'], '/p']]);
      await closeClient(ws);
      const ws2 = await roundTrip(url, {}, ['none', 'x']);
      assert.equal(ws2.protocol, '');
      await closeClient(ws2);
    } finally {
      await wss.close();
    }
  });

  test('no common subprotocol: 101 without Sec-WebSocket-Protocol; the client opens with protocol ""', T, async () => {
    const { wss, port, url } = await echoServer({ protocols: ['bar'] });
    try {
      const raw = await RawClient.connect(port, { headers: ['Sec-WebSocket-Protocol: foo, baz'] });
      assert.doesNotMatch(raw.head, /sec-websocket-protocol/i);
      raw.destroy();
      const ws = await roundTrip(url, {}, ['foo']);
      assert.equal(ws.protocol, '');
      await closeClient(ws);
    } finally {
      await wss.close();
    }
  });

  test('a handleProtocols choice the client did not offer is a 500, not a bad 101', T, async () => {
    const { wss, port } = await echoServer({ handleProtocols: () => 'evil' });
    try {
      const res = await rawExchange(port, upgradeRequest(port, ['Sec-WebSocket-Protocol: good']));
      assert.equal(statusOf(res), 500);
      assert.doesNotMatch(res, /evil/);
    } finally {
      await wss.close();
    }
  });
});

describe('WebSocketServer: verifyClient', () => {
  test('sync false → 403; the client reports WS_ERR_HANDSHAKE_REJECTED and closes 1006', T, async () => {
    const { wss, port, url } = await echoServer({ verifyClient: () => false });
    try {
      const res = await rawExchange(port, upgradeRequest(port));
      assert.equal(statusOf(res), 403);
      const f = await failure(url);
      assert.equal(f.error.code, 'WS_ERR_HANDSHAKE_REJECTED');
      assert.equal(f.error.status, 403);
      assert.equal(f.code, 1006);
      assert.equal(wss.clients.size, 0);
    } finally {
      await wss.close();
    }
  });

  test('async rejection with status 401 and WWW-Authenticate', T, async () => {
    const { wss, port, url } = await echoServer({
      verifyClient: async (info: VerifyClientInfo) => {
        await new Promise((r) => setTimeout(r, 10));
        return info.req.headers.authorization === 'Bearer ok' ? true : { status: 401, headers: [['WWW-Authenticate', 'Basic']] };
      },
    });
    try {
      const res = await rawExchange(port, upgradeRequest(port));
      assert.equal(statusOf(res), 401);
      assert.match(res, /\r\nWWW-Authenticate: Basic\r\n/);
      const f = await failure(url);
      assert.equal(f.error.code, 'WS_ERR_HANDSHAKE_REJECTED');
      assert.equal(f.error.status, 401);
      assert.equal(f.code, 1006);
      const ws = await roundTrip(url, { headers: { Authorization: 'Bearer ok' } });
      await closeClient(ws);
    } finally {
      await wss.close();
    }
  });

  test('a throwing or rejecting verifyClient refuses the client without crashing the server', T, async () => {
    let mode = 'throw';
    const { wss, url } = await echoServer({
      verifyClient: () => {
        if (mode === 'throw') throw new Error('boom');
        return Promise.reject(new Error('async boom'));
      },
    });
    try {
      const f1 = await failure(url);
      assert.equal(f1.error.code, 'WS_ERR_HANDSHAKE_REJECTED');
      mode = 'reject';
      const f2 = await failure(url);
      assert.equal(f2.error.code, 'WS_ERR_HANDSHAKE_REJECTED');
      assert.ok(f2.error.status >= 400 && f2.error.status < 600);
    } finally {
      await wss.close();
    }
  });

  test('verifyClient sees Origin, the parsed handshake and secure=false', T, async () => {
    const infos: Array<{ origin: string | null; secure: boolean; path: string; protocols: string[]; version: number }> = [];
    const { wss, url } = await echoServer({
      verifyClient: (info) => {
        infos.push({ origin: info.origin, secure: info.secure, path: info.handshake.path, protocols: info.handshake.protocols, version: info.handshake.version });
        return info.origin === 'https://good.example';
      },
    });
    try {
      const ws = await roundTrip(url + '/v', { origin: 'https://good.example' }, ['p1']);
      await closeClient(ws);
      const f = await failure(url, [], { origin: 'https://evil.example' });
      assert.equal(f.error.status, 403);
      assert.deepEqual(infos, [
        { origin: 'https://good.example', secure: false, path: '/v', protocols: ['p1'], version: 13 },
        { origin: 'https://evil.example', secure: false, path: '/', protocols: [], version: 13 },
      ]);
    } finally {
      await wss.close();
    }
  });

  test('a version 8 (hybi) client is accepted; its Sec-WebSocket-Origin is the origin', T, async () => {
    const seen: Array<[number, string | null, string | undefined]> = [];
    const { wss, url } = await echoServer({
      verifyClient: (info) => {
        seen.push([info.handshake.version, info.origin, info.req.headers['sec-websocket-version'] as string | undefined]);
        return true;
      },
    });
    try {
      const ws = await roundTrip(url, { protocolVersion: 8, origin: 'http://hybi.example' });
      const big = Buffer.alloc(70_000, 7);
      ws.send(big);
      const e = await nextMessage(ws, 3000);
      assert.ok(Buffer.from(e.raw).equals(big));
      await closeClient(ws);
      assert.deepEqual(seen, [[8, 'http://hybi.example', '8']]);
    } finally {
      await wss.close();
    }
  });
});

describe('WebSocketServer: bad handshakes', () => {
  test('missing key, bad version, oversize head, wrong method: HTTP errors while others keep being served', T, async () => {
    const { wss, port, url } = await echoServer({ maxHandshakeSize: 4096 });
    const healthy = await roundTrip(url);
    try {
      const cases: Array<[string, string, number]> = [
        ['missing key', upgradeRequest(port, [], { key: null }), 400],
        ['bad key', upgradeRequest(port, [], { key: 'short' }), 400],
        ['missing version', upgradeRequest(port, [], { version: null }), 400],
        ['version 12', upgradeRequest(port, [], { version: '12' }), 426],
        ['oversize head (over maxHandshakeSize)', upgradeRequest(port, ['X-Big: ' + 'a'.repeat(6000)]), 431],
        ['oversize head (over the HTTP parser limit)', upgradeRequest(port, ['X-Big: ' + 'a'.repeat(20_000)]), 431],
        ['POST', upgradeRequest(port).replace(/^GET/, 'POST'), 405],
        ['garbage', 'NOT HTTP AT ALL\r\n\r\n', 400],
      ];
      for (const [name, req, status] of cases) {
        const res = await rawExchange(port, req);
        assert.equal(statusOf(res), status, `${name}: ${JSON.stringify(res.slice(0, 80))}`);
        if (status === 426) assert.match(res, /\r\nSec-WebSocket-Version: 13, 8\r\n/i, 'a 426 names the versions we speak');
        assert.doesNotMatch(res, /\r\n\r\n[\s\S]*(Error|at )/, 'no internals in the body');
        // The healthy connection is unaffected.
        healthy.send(name);
        assert.equal((await nextMessage(healthy, 3000)).data, name);
      }
      // And new clients are still accepted.
      await closeClient(await roundTrip(url));
      await eventually(() => wss.clients.size === 1, 2000, 'only the healthy client left');
    } finally {
      await closeClient(healthy);
      await wss.close();
    }
  });

  test('a client that never sends its upgrade request is dropped after openTimeout', T, async () => {
    const { wss, port } = await echoServer({ openTimeout: 300 });
    try {
      const t0 = Date.now();
      const res = await rawExchange(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'), 5000);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 250 && elapsed < 4000, `dropped after ${elapsed} ms`);
      assert.equal(statusOf(res), 408, JSON.stringify(res.slice(0, 60)));
    } finally {
      await wss.close();
    }
  });

  test('an async verifyClient that never answers: 503 after openTimeout, and the server goes on', T, async () => {
    let calls = 0;
    const { wss, port, url } = await echoServer({
      openTimeout: 300,
      verifyClient: (info) => (calls++ === 0 ? new Promise<boolean>(() => {}) : Promise.resolve(info.origin === null)),
    });
    try {
      const t0 = Date.now();
      const res = await rawExchange(port, upgradeRequest(port), 5000);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 250 && elapsed < 4000, `answered after ${elapsed} ms`);
      assert.equal(statusOf(res), 503, JSON.stringify(res.slice(0, 60)));
      await closeClient(await roundTrip(url));
    } finally {
      await wss.close();
    }
  });
});

describe('WebSocketServer: closing handshake', () => {
  // §7.1.1: once Close frames went both ways "the server MUST close the
  // underlying TCP connection immediately": it does not wait for the
  // client's FIN (the client here never sends one).
  const MASKED_CLOSE_1000 = new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

  test('client closes first: the server answers and closes TCP without waiting for the client', T, async () => {
    const { wss, port } = await echoServer({ closeTimeout: 60_000 });
    const serverSide = new Promise<WebSocketConnection>((resolve) => wss.once('connection', resolve));
    const raw = await RawClient.connect(port, { allowHalfOpen: true });
    const conn = await within(serverSide, 2000, 'connection');
    const serverClosed = closed(conn, 2000);
    raw.write(MASKED_CLOSE_1000);
    assert.deepEqual(await raw.closeFrame(), { code: 1000, reason: '' });
    const e = await serverClosed;
    assert.deepEqual([e.code, e.wasClean], [1000, true]);
    await eventually(() => raw.gotEnd, 2000, 'FIN from the server');
    assert.equal(raw.socket.writable, true, 'the client has not closed its side');
    assert.equal(wss.clients.size, 0);
    raw.destroy();
    await wss.close();
  });

  test('server closes first: once the client answers, the server closes TCP', T, async () => {
    const { wss, port } = await echoServer({ closeTimeout: 60_000 });
    const serverSide = new Promise<WebSocketConnection>((resolve) => wss.once('connection', resolve));
    const raw = await RawClient.connect(port, { allowHalfOpen: true });
    const conn = await within(serverSide, 2000, 'connection');
    const serverClosed = closed(conn, 2000);
    conn.close(4000, 'bye');
    assert.deepEqual(await raw.closeFrame(), { code: 4000, reason: 'bye' });
    assert.equal(raw.gotEnd, false, 'TCP stays open until the client answers');
    raw.write(MASKED_CLOSE_1000);
    const e = await serverClosed;
    assert.deepEqual([e.code, e.wasClean], [1000, true]);
    await eventually(() => raw.gotEnd, 2000, 'FIN from the server');
    raw.destroy();
    await wss.close();
  });
});

describe('WebSocketServer: close()', () => {
  test('sends 1001 to every client and resolves once they are gone', T, async () => {
    const { wss, port, url } = await echoServer();
    const ws1 = await roundTrip(url);
    const ws2 = await roundTrip(url);
    const raw = await RawClient.connect(port);
    await eventually(() => wss.clients.size === 3, 2000, 'three clients');
    const c1 = closed(ws1, 5000);
    const c2 = closed(ws2, 5000);
    const closing = wss.close();
    const rawClose = await raw.closeFrame();
    assert.equal(rawClose.code, 1001);
    // The raw client answers the Close, as a well-behaved peer does.
    raw.write(new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9]));
    const [e1, e2] = await Promise.all([c1, c2]);
    assert.deepEqual([e1.code, e1.wasClean, e2.code, e2.wasClean], [1001, true, 1001, true]);
    await within(closing, 5000, 'wss.close()');
    await within(raw.closed, 2000, 'raw socket closed');
    assert.equal(wss.clients.size, 0);
    // Nothing listens any more.
    const f = await failure(url);
    assert.equal(f.error.code, 'WS_ERR_CONNECTION_LOST');
  });
});

describe('WebSocketServer and client: TCP_NODELAY', () => {
  test('both ends of a connection disable Nagle (small frames go out at once)', T, async () => {
    const set = new Map<Socket, boolean>();
    const original = Socket.prototype.setNoDelay;
    Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean): Socket {
      set.set(this, noDelay ?? true);
      return original.call(this, noDelay);
    };
    try {
      const { wss, url } = await echoServer();
      const serverSocket = new Promise<Socket>((resolve) => wss.once('connection', (_ws: WebSocketConnection, req: { socket: Socket }) => resolve(req.socket)));
      const ws = await roundTrip(url);
      const s = await serverSocket;
      assert.equal(set.get(s), true, 'server side');
      const clientSide = [...set.keys()].filter((k) => k !== s && k.localPort === s.remotePort);
      assert.equal(clientSide.length, 1, 'the client socket was set too');
      assert.equal(set.get(clientSide[0] as Socket), true, 'client side');
      await closeClient(ws);
      await wss.close();
    } finally {
      Socket.prototype.setNoDelay = original;
    }
  });
});

/**
 * The Node WebSocket client against our server and against scripted raw TCP
 * servers that answer the upgrade wrongly on purpose.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocketServer } from '../../../../src/adapters/node/server.js';
import { WebSocket, type ClientOptions } from '../../../../src/adapters/node/client.js';
import type { WebSocketConnection } from '../../../../src/connection.js';
import { computeAccept } from '../../../../src/core/ws/handshake.js';
import type { WebSocketError } from '../../../../src/core/ws/errors.js';
import { frame } from '../../../helpers/frames.js';
import { closed, nextMessage } from '../../../helpers/ws.js';
import { eventually, within } from './_util.js';

const T = { timeout: 10_000 };

async function echoServer(opts: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const wss = new WebSocketServer({ port: 0, ...opts });
  wss.on('connection', (ws) => {
    ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
  });
  await wss.ready();
  const port = (wss.address() as AddressInfo).port;
  return { wss, url: `ws://127.0.0.1:${port}`, port };
}

/**
 * A TCP server that reads one HTTP request head and answers with
 * `respond(key, head)` (null: say nothing).
 */
async function fakeServer(respond: (key: string, head: string, socket: Socket) => string | Buffer | null): Promise<{ server: NetServer; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (c: Buffer) => {
      if (buf.includes('\r\n\r\n')) return;
      buf += c.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      const key = /\r\nSec-WebSocket-Key: ([^\r]+)/i.exec(buf)?.[1] ?? '';
      const out = respond(key, buf, socket);
      if (out !== null) socket.write(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

async function stopFake(f: { server: NetServer; sockets: Socket[] }): Promise<void> {
  for (const s of f.sockets) s.destroy();
  await new Promise<void>((r) => f.server.close(() => r()));
}

function accept101(key: string, extra: string[] = []): string {
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${computeAccept(key)}`, ...extra, '', ''].join('\r\n');
}

/** Run a client to its close event; the error it reported and the close code. */
async function outcome(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<{ error: WebSocketError | null; code: number; opened: boolean; ms: number }> {
  const t0 = Date.now();
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  let error: WebSocketError | null = null;
  let opened = false;
  ws.onerror = (e) => {
    error = error ?? e.error;
  };
  ws.onopen = () => {
    opened = true;
  };
  const c = await closed(ws, 8000);
  return { error, code: c.code, opened, ms: Date.now() - t0 };
}

async function closeClient(ws: WebSocketConnection): Promise<void> {
  if (ws.readyState === 3) return;
  const done = closed(ws, 3000);
  ws.close(1000);
  await done;
}

describe('WebSocket client: request', () => {
  test('custom headers (object and array form) reach the server', T, async () => {
    const seen: IncomingHttpHeaders[] = [];
    const { wss, url } = await echoServer({
      verifyClient: (info) => {
        seen.push(info.req.headers);
        return true;
      },
    });
    try {
      const a = await WebSocket.connect(url, [], { headers: { 'X-Trace': 'abc', Cookie: 'sid=1' }, perMessageDeflate: false });
      const b = await WebSocket.connect(url, [], { headers: [['X-Multi', 'one'], ['X-Other', 'two']], perMessageDeflate: false });
      assert.equal(seen[0]?.['x-trace'], 'abc');
      assert.equal(seen[0]?.cookie, 'sid=1');
      assert.equal(seen[1]?.['x-multi'], 'one');
      assert.equal(seen[1]?.['x-other'], 'two');
      assert.equal(seen[0]?.host, url.slice('ws://'.length));
      await closeClient(a);
      await closeClient(b);
    } finally {
      await wss.close();
    }
  });

  test('a header with CR/LF (header injection) fails the client before anything is sent', T, async () => {
    let requests = 0;
    const { wss, url } = await echoServer({
      verifyClient: () => {
        requests++;
        return true;
      },
    });
    try {
      const r = await outcome(url, [], { headers: { 'X-Evil': 'a\r\nInjected: 1' } });
      assert.equal(r.error?.code, 'WS_ERR_HANDSHAKE_INVALID');
      assert.equal(r.code, 1006);
      assert.equal(r.opened, false);
      assert.equal(requests, 0);
    } finally {
      await wss.close();
    }
  });

  test('Basic auth from the URL: ws://user:pa%20ss@host/ → Authorization: Basic base64("user:pa ss")', T, async () => {
    const auth: Array<string | undefined> = [];
    const { wss, port } = await echoServer({
      verifyClient: (info) => {
        auth.push(info.req.headers.authorization);
        return true;
      },
    });
    try {
      const ws = await WebSocket.connect(`ws://user:pa%20ss@127.0.0.1:${port}/secret`, [], { perMessageDeflate: false });
      assert.deepEqual(auth, ['Basic ' + Buffer.from('user:pa ss').toString('base64')]);
      ws.send('x');
      assert.equal((await nextMessage(ws, 3000)).data, 'x');
      await closeClient(ws);
    } finally {
      await wss.close();
    }
  });

  test('permessage-deflate is offered by default and used with a server that accepts it', T, async () => {
    const { wss, url } = await echoServer({ perMessageDeflate: true });
    try {
      const ws = await WebSocket.connect(url);
      assert.match(ws.extensions, /^permessage-deflate/);
      const text = 'compress me '.repeat(10_000);
      ws.send(text);
      assert.equal((await nextMessage(ws, 3000)).data, text);
      await closeClient(ws);
    } finally {
      await wss.close();
    }
  });

  test('invalid URLs throw SyntaxError synchronously', () => {
    assert.throws(() => new WebSocket('ftp://127.0.0.1/'), SyntaxError);
    assert.throws(() => new WebSocket('ws://127.0.0.1/#frag'), SyntaxError);
    assert.throws(() => new WebSocket('not a url'), SyntaxError);
  });
});

describe('WebSocket client: failures before open', () => {
  test('openTimeout against a server that accepts TCP but never answers → WS_ERR_OPEN_TIMEOUT, close 1006', T, async () => {
    const fake = await fakeServer(() => null);
    try {
      const r = await outcome(`ws://127.0.0.1:${fake.port}/`, [], { openTimeout: 200 });
      assert.equal(r.error?.code, 'WS_ERR_OPEN_TIMEOUT');
      assert.equal(r.code, 1006);
      assert.equal(r.opened, false);
      assert.ok(r.ms >= 180 && r.ms < 3000, `timed out after ${r.ms} ms`);
      // The client let go of the socket.
      const peer = (): Socket | undefined => fake.sockets[0];
      await eventually(() => fake.sockets.length === 1 && (peer()?.destroyed === true || peer()?.readableEnded === true), 2000, 'server side sees the close');
    } finally {
      await stopFake(fake);
    }
  });

  test('connection refused → error, then close 1006', T, async () => {
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await outcome(`ws://127.0.0.1:${port}/`);
    assert.equal(r.error?.code, 'WS_ERR_CONNECTION_LOST');
    assert.match(r.error?.message ?? '', /ECONNREFUSED/);
    assert.equal(r.code, 1006);
    assert.equal(r.opened, false);
    await assert.rejects(WebSocket.connect(`ws://127.0.0.1:${port}/`, [], { perMessageDeflate: false }), (err: WebSocketError) => err.code === 'WS_ERR_CONNECTION_LOST');
  });

  const bad: Array<[string, (key: string) => string, string, number?]> = [
    ['200 instead of 101', () => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', 'WS_ERR_HANDSHAKE_REJECTED', 200],
    ['404 instead of 101', () => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'WS_ERR_HANDSHAKE_REJECTED', 404],
    ['a wrong Sec-WebSocket-Accept', () => accept101('AAAAAAAAAAAAAAAAAAAAAA=='), 'WS_ERR_HANDSHAKE_INVALID'],
    ['no Sec-WebSocket-Accept', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 'WS_ERR_HANDSHAKE_INVALID'],
    ['Upgrade: h2c', (k) => accept101(k).replace('Upgrade: websocket', 'Upgrade: h2c'), 'WS_ERR_HANDSHAKE_INVALID'],
    ['a subprotocol we did not offer', (k) => accept101(k, ['Sec-WebSocket-Protocol: other']), 'WS_ERR_INVALID_SUBPROTOCOL'],
    ['an extension we did not offer', (k) => accept101(k, ['Sec-WebSocket-Extensions: permessage-deflate']), 'WS_ERR_INVALID_EXTENSION'],
    ['not HTTP at all', () => 'SSH-2.0-OpenSSH\r\n\r\n', 'WS_ERR_HANDSHAKE_INVALID'],
    ['a response head over maxHandshakeSize', (k) => accept101(k, ['X-Pad: ' + 'p'.repeat(20_000)]), 'WS_ERR_HANDSHAKE_TOO_BIG'],
  ];
  for (const [name, respond, code, status] of bad) {
    test(`server answers with ${name} → ${code}, close 1006`, T, async () => {
      const fake = await fakeServer((key) => respond(key));
      try {
        const r = await outcome(`ws://127.0.0.1:${fake.port}/`, ['wamp.2.json']);
        assert.equal(r.error?.code, code, r.error?.message);
        if (status !== undefined) assert.equal(r.error?.status, status);
        assert.equal(r.code, 1006);
        assert.equal(r.opened, false);
      } finally {
        await stopFake(fake);
      }
    });
  }

  test('the server closes TCP during the handshake → WS_ERR_CONNECTION_LOST', T, async () => {
    const fake = await fakeServer((_k, _h, socket) => {
      socket.end();
      return null;
    });
    try {
      const r = await outcome(`ws://127.0.0.1:${fake.port}/`);
      assert.equal(r.error?.code, 'WS_ERR_CONNECTION_LOST');
      assert.equal(r.code, 1006);
    } finally {
      await stopFake(fake);
    }
  });

  test('close() and terminate() while connecting: close 1006, never open', T, async () => {
    const fake = await fakeServer(() => null);
    try {
      for (const how of ['close', 'terminate'] as const) {
        const ws = new WebSocket(`ws://127.0.0.1:${fake.port}/`, [], { perMessageDeflate: false });
        let opened = false;
        ws.onopen = () => {
          opened = true;
        };
        assert.throws(() => ws.send('early'), (e: WebSocketError) => e.code === 'WS_ERR_NOT_OPEN');
        const done = closed(ws, 3000);
        setTimeout(() => (how === 'close' ? ws.close() : ws.terminate()), 30);
        const c = await done;
        assert.equal(c.code, 1006, how);
        assert.equal(opened, false);
        assert.equal(ws.readyState, 3);
      }
    } finally {
      await stopFake(fake);
    }
  });
});

describe('WebSocket client: after open', () => {
  test('frames that arrive in the same packet as the 101 are delivered', T, async () => {
    const fake = await fakeServer((key) => Buffer.concat([Buffer.from(accept101(key), 'latin1'), frame(1, 'first'), frame(2, new Uint8Array([1, 2, 3]))]));
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${fake.port}/`, [], { perMessageDeflate: false });
      const got: unknown[] = [];
      ws.onmessage = (e) => got.push(typeof e.data === 'string' ? e.data : [...(e.data as Uint8Array)]);
      await eventually(() => got.length === 2, 3000, 'both messages');
      assert.deepEqual(got, ['first', [1, 2, 3]]);
      ws.terminate();
      await closed(ws, 3000);
    } finally {
      await stopFake(fake);
    }
  });

  test('clean close: code and reason reach the server; send() returns false afterwards; bad codes throw', T, async () => {
    const { wss, url } = await echoServer();
    const serverClose = new Promise<[number, string, boolean]>((resolve) =>
      wss.on('connection', (ws) => ws.addEventListener('close', (e) => resolve([e.code, e.reason, e.wasClean]))),
    );
    try {
      const ws = await WebSocket.connect(url, [], { perMessageDeflate: false });
      assert.throws(() => ws.close(1005), RangeError);
      assert.throws(() => ws.close(2999), RangeError);
      assert.throws(() => ws.close(1000, 'x'.repeat(124)), RangeError);
      const done = closed(ws, 3000);
      ws.close(4321, 'bye now');
      assert.equal(ws.readyState, WebSocket.CLOSING);
      assert.equal(ws.send('late'), false);
      const c = await done;
      // The client's close event carries the server's Close frame, which echoes the code only (§5.5.1).
      assert.deepEqual([c.code, c.reason, c.wasClean], [4321, '', true]);
      assert.deepEqual(await within(serverClose, 2000, 'server close'), [4321, 'bye now', true]);
      assert.equal(ws.send('later'), false);
    } finally {
      await wss.close();
    }
  });

  test('the server dropping TCP mid-connection: the client closes 1006, not clean', T, async () => {
    const { wss, url } = await echoServer();
    try {
      const ws = await WebSocket.connect(url, [], { perMessageDeflate: false });
      const done = closed(ws, 3000);
      for (const s of wss.clients) s.terminate();
      const c = await done;
      assert.equal(c.code, 1006);
      assert.equal(c.wasClean, false);
    } finally {
      await wss.close();
    }
  });
});

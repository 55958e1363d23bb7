/**
 * The router's single port: WAMP over WebSocket (every subprotocol), WAMP over
 * RawSocket (every serializer, TCP and Unix) and HTTP static files, all on one
 * listening port; clients on different transports and serializers talk to
 * each other through one realm. Peers: our Session, and Autobahn|JS over
 * WebSocket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router, WampListener } from '../../src/router/server.js';
import type { WampTransport } from '../../src/wamp/transport.js';
import { Session } from '../../src/wamp/session.js';
import { WebSocketTransport } from '../../src/wamp/transports/websocket.js';
import { connectRawSocket } from '../../src/adapters/node/rawsocket.js';
import { WebSocket } from '../../src/adapters/node/client.js';
import { serializers } from '../../src/wamp/serializers/index.js';
import type { SerializerId } from '../../src/wamp/serializers/types.js';

const require = createRequire(import.meta.url);
const autobahn = require('autobahn') as {
  Connection: new (o: Record<string, unknown>) => { onopen: (s: AutobahnSession) => void; onclose: (reason: string) => boolean; open(): void; close(): void };
};
interface AutobahnSession {
  register(p: string, fn: (args: unknown[]) => unknown): Promise<unknown>;
  call(p: string, args: unknown[]): Promise<unknown>;
}

const root = mkdtempSync(join(tmpdir(), 'autostrada-static-'));
writeFileSync(join(root, 'index.html'), '<title>demo</title>');
const unixPath = join(tmpdir(), `autostrada-${process.pid}.sock`);
let router: Router;
let port = 0;

before(async () => {
  router = new Router({ realms: [{ name: 'realm1' }] });
  ({ port } = await router.listen({ port: 0, static: { root }, unixPaths: [unixPath] }));
});
after(() => router.close());

async function wsSession(protocol: string): Promise<Session> {
  const ws = await WebSocket.connect(`ws://127.0.0.1:${port}/ws`, [protocol]);
  return Session.join(new WebSocketTransport(ws, { serializers: Object.values(serializers) }), 'realm1');
}

async function rawSession(serializer: SerializerId, path?: string): Promise<Session> {
  const t = await connectRawSocket(path ? { path, serializer } : { host: '127.0.0.1', port, serializer });
  return Session.join(t, 'realm1');
}

function httpGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

test('HTTP static files on the WAMP port', async () => {
  assert.deepEqual(await httpGet('/'), { status: 200, body: '<title>demo</title>' });
  assert.equal((await httpGet('/missing')).status, 404);
  assert.equal((await httpGet('/ws')).status, 404, 'a plain GET of the WebSocket path is not an upgrade');
});

test('every WebSocket subprotocol and every RawSocket serializer, calling each other', async () => {
  const callee = await rawSession('cbor');
  await callee.register('com.example.add', (args) => (args[0] as number) + (args[1] as number));
  const clients = await Promise.all([
    wsSession('wamp.2.json'),
    wsSession('wamp.2.msgpack'),
    wsSession('wamp.2.cbor'),
    wsSession('wamp.2.json.batched'),
    wsSession('wamp.2.msgpack.batched'),
    rawSession('json'),
    rawSession('msgpack'),
    rawSession('json', unixPath),
  ]);
  const results = await Promise.all(clients.map((s, i) => s.call('com.example.add', [i, 100])));
  assert.deepEqual(results.map((r) => r.args[0]), clients.map((_, i) => i + 100));
  assert.ok(router.traffic.messagesIn > 0 && router.traffic.messagesOut > 0);
  await Promise.all([...clients, callee].map((s) => s.leave()));
});

test('transport facts over WebSocket: peer address and upgrade headers, read when asked for, in the meta API with every serializer', async () => {
  // WampListener alone: the transport's info as handed over.
  const seen: WampTransport[] = [];
  const listener = new WampListener((t) => seen.push(t), { port: 0, static: false });
  const addr = await listener.listen();
  try {
    const ws = await WebSocket.connect(`ws://127.0.0.1:${addr.port}/ws`, ['wamp.2.json'], { headers: { 'X-Probe': 'yes' } });
    await new Promise((r) => setTimeout(r, 20));
    const info = seen[0]!.info;
    assert.equal(info.type, 'websocket');
    assert.equal(info.protocol, 'wamp.2.json');
    assert.equal(info.secure, false);
    assert.match(info.peer ?? '', /^tcp4:127\.0\.0\.1:\d+$/);
    assert.equal(info.httpHeaders?.['x-probe'], 'yes');
    assert.equal(info.httpHeaders?.['sec-websocket-protocol'], 'wamp.2.json');
    // Computed when read, through enumerable getters: for...in and JSON show them.
    const keys: string[] = [];
    for (const k in info) keys.push(k);
    assert.deepEqual(keys.sort(), ['httpHeaders', 'peer', 'protocol', 'secure', 'serializer', 'type']);
    const json = JSON.parse(JSON.stringify(info)) as Record<string, unknown>;
    assert.equal(json.peer, info.peer);
    assert.equal((json.httpHeaders as Record<string, string>)['x-probe'], 'yes');
    ws.close();
    for (const t of seen) t.close(1001);
  } finally {
    await listener.close();
  }
  // Through the router: wamp.session.get and wamp.session.on_join carry transport.peer.
  for (const protocol of ['wamp.2.json', 'wamp.2.msgpack', 'wamp.2.cbor']) {
    const watcher = await wsSession(protocol);
    const joined = new Promise<Record<string, unknown>>((resolve) => void watcher.subscribe('wamp.session.on_join', (args) => resolve(args[0] as Record<string, unknown>)));
    await new Promise((r) => setTimeout(r, 20));
    const other = await wsSession(protocol);
    const onJoin = await joined;
    const got = (await watcher.call('wamp.session.get', [other.id])).args[0] as Record<string, unknown>;
    for (const details of [onJoin, got]) {
      const transport = details.transport as Record<string, unknown>;
      assert.equal(details.session, other.id);
      assert.equal(transport.type, 'websocket', protocol);
      assert.equal(transport.protocol, protocol);
      assert.match(String(transport.peer), /^tcp4:127\.0\.0\.1:\d+$/, protocol);
    }
    await Promise.all([watcher.leave(), other.leave()]);
  }
});

test('PubSub across transports: RawSocket publisher, WebSocket subscribers', async () => {
  const sub1 = await wsSession('wamp.2.cbor');
  const sub2 = await rawSession('msgpack', unixPath);
  const got: unknown[] = [];
  const both = new Promise<void>((resolve) => {
    const onEvent = (args: unknown[]): void => {
      got.push(args[0]);
      if (got.length === 2) resolve();
    };
    void sub1.subscribe('com.example.topic', onEvent);
    void sub2.subscribe('com.example.topic', onEvent);
  });
  await new Promise((r) => setTimeout(r, 50));
  const pub = await rawSession('json');
  await pub.publish('com.example.topic', [new Uint8Array([1, 2, 3])], {}, { acknowledge: true });
  await both;
  assert.deepEqual(got.map((b) => Array.from(b as Uint8Array)), [[1, 2, 3], [1, 2, 3]]);
  await Promise.all([sub1, sub2, pub].map((s) => s.leave()));
});

test('Autobahn|JS over WebSocket calls a procedure registered over RawSocket, and back', async () => {
  const ours = await rawSession('msgpack');
  await ours.register('com.example.echo', (args) => args[0]);
  const conn = new autobahn.Connection({ url: `ws://127.0.0.1:${port}/ws`, realm: 'realm1', max_retries: 0 });
  const result = await new Promise((resolve, reject) => {
    conn.onopen = (s) => {
      s.register('com.example.ab', (args) => `ab:${String(args[0])}`)
        .then(() => s.call('com.example.echo', ['hello']))
        .then(resolve, reject);
    };
    conn.onclose = (reason) => {
      reject(new Error(`autobahn closed: ${reason}`));
      return false;
    };
    conn.open();
  });
  assert.equal(result, 'hello');
  const back = await ours.call('com.example.ab', ['x']);
  assert.equal(back.args[0], 'ab:x');
  conn.onclose = () => false;
  conn.close();
  await ours.leave();
});

test('a client offering no WAMP subprotocol is refused; garbage on the port does not hurt the router', async () => {
  await assert.rejects(WebSocket.connect(`ws://127.0.0.1:${port}/ws`, ['mqtt']));
  const { connect } = await import('node:net');
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])));
    s.resume(); // read the refusal and the FIN, so that 'close' comes
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  const s = await wsSession('wamp.2.json');
  await s.leave();
});

test('TLS on the one port: wss:// and RawSocket over TLS, https static files', async () => {
  const { selfSignedCert } = await import('../unit/adapters/node/_util.js');
  const cert = selfSignedCert();
  assert.ok(cert, 'openssl is needed (Debian: openssl)');
  const secure = new Router({ realms: [{ name: 'realm1' }] });
  const { port: sport } = await secure.listen({ port: 0, tls: cert, static: { root } });
  try {
    const wsTransport = await (await import('../../src/index.node.js')).connectWebSocket(`wss://127.0.0.1:${sport}/ws`, {
      webSocketOptions: { tls: { ca: cert.cert } },
    });
    assert.equal(wsTransport.info.type, 'websocket');
    const a = await Session.join(wsTransport, 'realm1');
    const rs = await connectRawSocket({ host: '127.0.0.1', port: sport, serializer: 'cbor', tls: { ca: cert.cert, servername: 'localhost' } });
    const b = await Session.join(rs, 'realm1');
    await b.register('com.example.secure', () => 'over tls');
    assert.equal((await a.call('com.example.secure')).args[0], 'over tls');
    const { request: httpsRequest } = await import('node:https');
    const page = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: sport, path: '/', ca: cert.cert }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(page, '<title>demo</title>');
    await Promise.all([a.leave(), b.leave()]);
  } finally {
    await secure.close();
  }
});

test('a plain HTTP request that arrives in pieces is handed to node:http with every byte', async () => {
  const { connect } = await import('node:net');
  const response = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    const parts = ['GE', 'T / HTTP/1.1\r\nHo', 'st: x\r\nConnection: close\r\n', '\r\n'];
    let i = 0;
    const next = (): void => {
      s.write(parts[i++] as string);
      if (i < parts.length) setTimeout(next, 20);
    };
    s.on('connect', next);
  });
  assert.match(response, /^HTTP\/1\.1 200 OK/);
  assert.match(response, /<title>demo<\/title>$/);
});

/**
 * wss:// with a throw-away self-signed certificate (made by the `openssl`
 * binary at test time), and the client's HTTP CONNECT proxy support through a
 * small proxy written here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from '../../../../src/adapters/node/server.js';
import { WebSocket, type ClientOptions } from '../../../../src/adapters/node/client.js';
import type { WebSocketConnection } from '../../../../src/connection.js';
import type { WebSocketError } from '../../../../src/core/ws/errors.js';
import { closed, nextMessage } from '../../../helpers/ws.js';
import { selfSignedCert, within } from './_util.js';

const T = { timeout: 15_000 };
const cert = selfSignedCert();
const noOpenssl = cert === null ? 'the openssl binary is missing (`which openssl`)' : false;

async function outcome(url: string, options: ClientOptions = {}): Promise<{ error: WebSocketError | null; code: number; opened: boolean }> {
  const ws = new WebSocket(url, [], { perMessageDeflate: false, ...options });
  let error: WebSocketError | null = null;
  let opened = false;
  ws.onerror = (e) => {
    error = error ?? e.error;
  };
  ws.onopen = () => {
    opened = true;
  };
  const c = await closed(ws, 8000);
  return { error, code: c.code, opened };
}

async function echoOnce(ws: WebSocketConnection, data: string): Promise<void> {
  ws.send(data);
  assert.equal((await nextMessage(ws, 3000)).data, data);
}

async function closeClient(ws: WebSocketConnection): Promise<void> {
  if (ws.readyState === 3) return;
  const done = closed(ws, 3000);
  ws.close(1000);
  await done;
}

interface Proxy {
  port: number;
  /** CONNECT targets seen, in order. */
  targets: string[];
  /** Proxy-Authorization headers seen. */
  auth: Array<string | undefined>;
  stop(): Promise<void>;
}

/**
 * An HTTP CONNECT proxy: tunnels to the requested port on 127.0.0.1 (any
 * host name maps there), optionally demanding Basic credentials (407).
 */
async function startProxy(opts: { credentials?: string } = {}): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const targets: string[] = [];
  const auth: Array<string | undefined> = [];
  const server: HttpServer = createHttpServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('error', () => {});
    targets.push(req.url ?? '');
    auth.push(req.headers['proxy-authorization']);
    if (opts.credentials && req.headers['proxy-authorization'] !== 'Basic ' + Buffer.from(opts.credentials).toString('base64')) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const port = Number(/:(\d+)$/.exec(req.url ?? '')?.[1]);
    const upstream = netConnect({ host: '127.0.0.1', port }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    targets,
    auth,
    stop: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function startServer(tls: boolean): Promise<{ wss: WebSocketServer; port: number; secure: boolean[] }> {
  const secure: boolean[] = [];
  const wss = new WebSocketServer({
    port: 0,
    ...(tls && cert ? { tls: { key: cert.key, cert: cert.cert } } : {}),
    verifyClient: (info) => {
      secure.push(info.secure);
      return true;
    },
  });
  wss.on('connection', (ws) => {
    ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
  });
  await wss.ready();
  return { wss, port: (wss.address() as AddressInfo).port, secure };
}

describe('wss:// (TLS)', { skip: noOpenssl }, () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    s = await startServer(true);
  });
  after(async () => {
    await s.wss.close();
  });

  test('a client trusting the CA connects, echoes text and 1 MiB binary; the server sees secure=true', T, async () => {
    const ws = await WebSocket.connect(`wss://127.0.0.1:${s.port}/tls`, [], { perMessageDeflate: false, tls: { ca: cert?.cert } });
    await echoOnce(ws, 'over tls');
    const big = Buffer.alloc(1 << 20, 0x5a);
    ws.send(big);
    assert.ok(Buffer.from((await nextMessage(ws, 5000)).raw).equals(big));
    assert.deepEqual(s.secure.slice(-1), [true]);
    await closeClient(ws);
  });

  test('server name "localhost" (the certificate\'s DNS name) with servername', T, async () => {
    const ws = await WebSocket.connect(`wss://127.0.0.1:${s.port}/`, [], { perMessageDeflate: false, tls: { ca: cert?.cert, servername: 'localhost' } });
    await echoOnce(ws, 'sni');
    await closeClient(ws);
  });

  test('an unknown CA is refused by default (rejectUnauthorized true): error, close 1006', T, async () => {
    const r = await outcome(`wss://127.0.0.1:${s.port}/`);
    assert.equal(r.opened, false);
    assert.equal(r.error?.code, 'WS_ERR_CONNECTION_LOST');
    assert.match(r.error?.message ?? '', /self[- ]signed/i);
    assert.equal(r.code, 1006);
  });

  test('a name the certificate does not cover is refused', T, async () => {
    const r = await outcome(`wss://127.0.0.1:${s.port}/`, { tls: { ca: cert?.cert, servername: 'example.com' } });
    assert.equal(r.opened, false);
    assert.match(r.error?.message ?? '', /altnames|does not match/i);
    assert.equal(r.code, 1006);
  });

  test('rejectUnauthorized: false connects anyway (explicit opt-out)', T, async () => {
    const ws = await WebSocket.connect(`wss://127.0.0.1:${s.port}/`, [], { perMessageDeflate: false, tls: { rejectUnauthorized: false } });
    await echoOnce(ws, 'insecure');
    await closeClient(ws);
  });

  test('plain ws:// to the TLS port fails the handshake instead of hanging', T, async () => {
    const r = await outcome(`ws://127.0.0.1:${s.port}/`, { openTimeout: 3000 });
    assert.equal(r.opened, false);
    assert.notEqual(r.error?.code, 'WS_ERR_OPEN_TIMEOUT');
    assert.equal(r.code, 1006);
  });
});

describe('HTTP CONNECT proxy', () => {
  test('ws:// through the proxy: CONNECT to the target authority, then a normal upgrade', T, async () => {
    const s = await startServer(false);
    const proxy = await startProxy();
    try {
      const ws = await WebSocket.connect(`ws://127.0.0.1:${s.port}/via-proxy`, [], { perMessageDeflate: false, proxy: `http://127.0.0.1:${proxy.port}` });
      await echoOnce(ws, 'proxied');
      assert.deepEqual(proxy.targets, [`127.0.0.1:${s.port}`]);
      assert.deepEqual(proxy.auth, [undefined]);
      await closeClient(ws);
    } finally {
      await s.wss.close();
      await proxy.stop();
    }
  });

  test('wss:// through the proxy (TLS inside the tunnel)', { ...T, skip: noOpenssl }, async () => {
    const s = await startServer(true);
    const proxy = await startProxy();
    try {
      const ws = await WebSocket.connect(`wss://127.0.0.1:${s.port}/`, [], { perMessageDeflate: false, proxy: `http://127.0.0.1:${proxy.port}`, tls: { ca: cert?.cert } });
      await echoOnce(ws, 'tls in a tunnel');
      assert.deepEqual(s.secure, [true]);
      await closeClient(ws);
      // Without trusting the CA, the tunnel is there but TLS refuses.
      const r = await outcome(`wss://127.0.0.1:${s.port}/`, { proxy: `http://127.0.0.1:${proxy.port}` });
      assert.equal(r.opened, false);
      assert.match(r.error?.message ?? '', /self[- ]signed/i);
    } finally {
      await s.wss.close();
      await proxy.stop();
    }
  });

  test('wss:// through a proxy with another name: the certificate is checked against the target, not the proxy', { ...T, skip: noOpenssl }, async () => {
    // A certificate for the IP address only; the proxy is named "localhost".
    const ipOnly = selfSignedCert('IP:127.0.0.1', '127.0.0.1');
    assert.ok(ipOnly);
    const wss = new WebSocketServer({ port: 0, tls: { key: ipOnly.key, cert: ipOnly.cert } });
    wss.on('connection', (ws) => {
      ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
    });
    await wss.ready();
    const port = (wss.address() as AddressInfo).port;
    const proxy = await startProxy();
    try {
      const ws = await WebSocket.connect(`wss://127.0.0.1:${port}/`, [], { perMessageDeflate: false, proxy: `http://localhost:${proxy.port}`, tls: { ca: ipOnly.cert } });
      await echoOnce(ws, 'checked against 127.0.0.1');
      await closeClient(ws);
      // And a target name the certificate does not cover is refused through the tunnel too.
      const r = await outcome(`wss://localhost:${port}/`, { proxy: `http://127.0.0.1:${proxy.port}`, tls: { ca: ipOnly.cert } });
      assert.equal(r.opened, false);
      assert.match(r.error?.message ?? '', /altnames|does not match/i);
    } finally {
      await wss.close();
      await proxy.stop();
    }
  });

  test('proxy credentials from the proxy URL go in Proxy-Authorization', T, async () => {
    const s = await startServer(false);
    const proxy = await startProxy({ credentials: 'pu:p@ss' });
    try {
      const ws = await WebSocket.connect(`ws://127.0.0.1:${s.port}/`, [], { perMessageDeflate: false, proxy: `http://pu:p%40ss@127.0.0.1:${proxy.port}` });
      await echoOnce(ws, 'authorised');
      assert.deepEqual(proxy.auth, ['Basic ' + Buffer.from('pu:p@ss').toString('base64')]);
      await closeClient(ws);
    } finally {
      await s.wss.close();
      await proxy.stop();
    }
  });

  test('a proxy refusing with 407 → WS_ERR_PROXY_FAILED, close 1006; the server never sees a request', T, async () => {
    const s = await startServer(false);
    const proxy = await startProxy({ credentials: 'pu:secret' });
    try {
      for (const proxyUrl of [`http://127.0.0.1:${proxy.port}`, `http://pu:wrong@127.0.0.1:${proxy.port}`]) {
        const r = await outcome(`ws://127.0.0.1:${s.port}/`, { proxy: proxyUrl });
        assert.equal(r.error?.code, 'WS_ERR_PROXY_FAILED', proxyUrl);
        assert.match(r.error?.message ?? '', /407/);
        assert.equal(r.code, 1006);
        assert.equal(r.opened, false);
      }
      assert.equal(s.secure.length, 0);
      await assert.rejects(
        WebSocket.connect(`ws://127.0.0.1:${s.port}/`, [], { perMessageDeflate: false, proxy: `http://127.0.0.1:${proxy.port}` }),
        (e: WebSocketError) => e.code === 'WS_ERR_PROXY_FAILED',
      );
    } finally {
      await s.wss.close();
      await proxy.stop();
    }
  });

  test('an unreachable proxy → error then close 1006; a silent proxy → WS_ERR_OPEN_TIMEOUT', T, async () => {
    const probe = createNetServer((sock) => sock.on('error', () => {}));
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const silentPort = (probe.address() as AddressInfo).port;
    try {
      const r1 = await outcome('ws://127.0.0.1:1/', { proxy: 'http://127.0.0.1:1' });
      assert.equal(r1.error?.code, 'WS_ERR_CONNECTION_LOST');
      assert.equal(r1.code, 1006);
      const r2 = await within(outcome('ws://127.0.0.1:1/', { proxy: `http://127.0.0.1:${silentPort}`, openTimeout: 200 }), 3000, 'silent proxy');
      assert.equal(r2.error?.code, 'WS_ERR_OPEN_TIMEOUT');
      assert.equal(r2.code, 1006);
    } finally {
      probe.close();
    }
  });
});

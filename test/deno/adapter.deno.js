// The Deno adapter, run by Deno itself (`deno test`), importing `autostrada`
// as a Deno user with an npm install does (the package.json "deno"
// condition). Spawned by test/deno/deno.test.ts, which runs the Node peers
// and passes their addresses as arguments:
//
//   --echo=ws://127.0.0.1:P/     our Node WebSocketServer, echo, deflate on
//   --wss=wss://127.0.0.1:P/     the same over TLS (absent without openssl)
//   --ca=<base64 PEM>            its certificate, to trust
//   --key=<base64 PEM>           its key, for our Deno wss server
//   --control=http://127.0.0.1:C a Node HTTP endpoint that drives Node
//                                clients (ours and ws) against a URL and
//                                answers with what they saw
//
// Plain JavaScript: the repository's tsc (Node typings) type-checks every
// .ts under test/, and these files use Deno's globals.

import { acceptWebSocketStream, connect, connectWebSocketStream, denoConnDuplex, serve, WebSocketError } from 'autostrada';

const args = Object.fromEntries(
  Deno.args.map((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`bad argument ${a}`);
    return [m[1], m[2]];
  }),
);
const ECHO = args.echo;
const WSS = args.wss;
const CA = args.ca ? atob(args.ca) : undefined;
const KEY = args.key ? atob(args.key) : undefined;
const CONTROL = args.control;
if (!ECHO || !CONTROL) throw new Error('run me from test/deno/deno.test.ts (--echo and --control are required)');

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

function assertEquals(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Rejects after `ms`; clears its timer either way (Deno's sanitizers check). */
function within(p, ms, what) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

function nextMessage(ws, ms = 10_000) {
  return within(
    new Promise((resolve, reject) => {
      const onMsg = (e) => {
        ws.removeEventListener('message', onMsg);
        ws.removeEventListener('close', onClose);
        resolve(e);
      };
      const onClose = (e) => reject(new Error(`closed (${e.code}) while waiting for a message`));
      ws.addEventListener('message', onMsg);
      ws.addEventListener('close', onClose);
    }),
    ms,
    'message',
  );
}

function closeEvent(ws, ms = 10_000) {
  return within(new Promise((resolve) => ws.addEventListener('close', resolve)), ms, 'close');
}

function pattern(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13) & 0xff;
  return b;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Exchange text, binary, 1 MiB and 200 small messages with an echo peer. */
async function exchange(ws) {
  let m = nextMessage(ws);
  ws.send('hello from deno ✓');
  assertEquals((await m).data, 'hello from deno ✓', 'text echo');
  m = nextMessage(ws);
  ws.send(new Uint8Array([0, 1, 2, 253, 254, 255]));
  const bin = await m;
  assert(bin.binary, 'binary echo is binary');
  assertEquals([...bin.data], [0, 1, 2, 253, 254, 255], 'binary echo');
  const big = pattern(1024 * 1024);
  m = nextMessage(ws, 20_000);
  ws.send(big);
  assert(sameBytes((await m).data, big), '1 MiB echo');
  const got = [];
  const all = within(
    new Promise((resolve) => {
      ws.onmessage = (e) => {
        got.push(e.data);
        if (got.length === 200) resolve();
      };
    }),
    20_000,
    '200 messages',
  );
  for (let i = 0; i < 200; i++) ws.send(`small ${i} `.repeat(1 + (i % 50)));
  await all;
  ws.onmessage = null;
  assertEquals(got[199], 'small 199 '.repeat(50), 'the last small message');
}

// ---------------------------------------------------------------- client

Deno.test('client → Node echo server: headers, subprotocol, deflate, text/binary/1 MiB/200 messages, clean close', async () => {
  const ws = await connect(`${ECHO}deno?q=1`, ['wamp.2.json', 'wamp.2.cbor'], { perMessageDeflate: true, headers: { 'X-Deno': 'yes' } });
  assertEquals(ws.protocol, 'wamp.2.json', 'subprotocol (the server prefers json)');
  assert(ws.extensions.startsWith('permessage-deflate'), `deflate negotiated: ${ws.extensions}`);
  const m = nextMessage(ws);
  ws.send('whoami');
  const who = JSON.parse((await m).data);
  assertEquals(who.path, '/deno?q=1', 'path seen by the server');
  assertEquals(who.xDeno, 'yes', 'custom header seen by the server');
  assert(who.extensions.startsWith('permessage-deflate'), 'the server agreed on deflate');
  await exchange(ws);
  const closing = closeEvent(ws);
  ws.close(1000, 'deno done');
  const e = await closing;
  assertEquals([e.code, e.wasClean], [1000, true], 'close');
});

Deno.test('client → Node echo server without compression', async () => {
  const ws = await connect(ECHO, [], { perMessageDeflate: false });
  assertEquals(ws.extensions, '', 'no extensions');
  const m = nextMessage(ws);
  ws.send(new Uint8Array(70_000).fill(9));
  const got = (await m).data;
  assertEquals([got.length, got[69_999]], [70_000, 9], '70 kB echo');
  const closing = closeEvent(ws);
  ws.close(4000, 'custom');
  assertEquals((await closing).wasClean, true, 'clean close');
});

Deno.test({
  name: 'client → Node wss:// echo server, trusting its test certificate',
  ignore: !WSS || !CA,
  fn: async () => {
    const ws = await connect(WSS, [], { tls: { caCerts: [CA] }, perMessageDeflate: true });
    await exchange(ws);
    const closing = closeEvent(ws);
    ws.close(1000);
    assertEquals((await closing).wasClean, true, 'clean close');
  },
});

Deno.test('client: a refused upgrade rejects with the status', async () => {
  try {
    await connect(`${ECHO}forbidden`);
  } catch (err) {
    assert(err instanceof WebSocketError, `a WebSocketError: ${err}`);
    assertEquals([err.code, err.status], ['WS_ERR_HANDSHAKE_REJECTED', 403], 'code and status');
    return;
  }
  throw new Error('connect() to /forbidden resolved');
});

Deno.test('client: nobody listening rejects with WS_ERR_CONNECTION_LOST', async () => {
  const l = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  const port = l.addr.port;
  l.close();
  try {
    await connect(`ws://127.0.0.1:${port}/`);
  } catch (err) {
    assertEquals(err.code, 'WS_ERR_CONNECTION_LOST', 'code');
    return;
  }
  throw new Error('connect() to a closed port resolved');
});

// ---------------------------------------------------------------- server

/** Ask the Node side to run a client against `url`; its report. */
async function drive(params) {
  const res = await fetch(`${CONTROL}/drive?${new URLSearchParams(params)}`);
  const report = await res.json();
  return report;
}

function echoServer(extra = {}) {
  const seen = [];
  const closes = [];
  const srv = serve({
    port: 0,
    perMessageDeflate: true,
    protocols: ['wamp.2.cbor', 'wamp.2.json'],
    ...extra,
    handler: (ws, info) => {
      seen.push({ path: info.request.path, ua: info.request.headers.get('x-client'), remote: info.remoteAddr?.hostname, secure: info.secure });
      ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
      ws.addEventListener('close', (e) => closes.push([e.code, e.reason, e.wasClean]));
    },
  });
  return { srv, seen, closes };
}

for (const client of ['ours', 'ws']) {
  Deno.test(`server ← Node client (${client}): subprotocol, deflate, text/binary/1 MiB, clean close`, async () => {
    const { srv, seen, closes } = echoServer();
    try {
      const report = await drive({ client, mode: 'echo', url: `ws://127.0.0.1:${srv.addr.port}/from-${client}` });
      assert(report.ok, `the Node client succeeded: ${report.error}`);
      assertEquals(report.protocol, 'wamp.2.cbor', 'subprotocol (our preference)');
      assert(report.extensions.startsWith('permessage-deflate'), `deflate: ${report.extensions}`);
      assertEquals(report.closeCode, 1000, 'close code seen by the Node client');
      assertEquals(seen, [{ path: `/from-${client}`, ua: client, remote: '127.0.0.1', secure: false }], 'what the handler saw');
      await within((async () => {
        while (closes.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(), 5000, 'server-side close');
      assertEquals(closes[0], [1000, 'node done', true], 'server-side close event');
    } finally {
      await srv.close();
    }
  });
}

Deno.test({
  name: 'wss server (Deno.listenTls) ← Node client (ours), trusting the test certificate',
  ignore: !CA || !KEY,
  fn: async () => {
    const { srv, seen } = echoServer({ tls: { cert: CA, key: KEY } });
    try {
      const report = await drive({ client: 'ours', mode: 'echo', url: `wss://localhost:${srv.addr.port}/tls`, tls: '1' });
      assert(report.ok, `the Node client succeeded: ${report.error}`);
      assertEquals(seen[0]?.secure, true, 'secure');
    } finally {
      await srv.close();
    }
  },
});

Deno.test('server close(): connected Node clients get 1001', async () => {
  const { srv } = echoServer();
  const reporting = drive({ client: 'ws', mode: 'await-close', url: `ws://127.0.0.1:${srv.addr.port}/` });
  await within((async () => {
    while (srv.clients.size === 0) await new Promise((r) => setTimeout(r, 5));
  })(), 5000, 'client connected');
  await srv.close();
  const report = await reporting;
  assert(report.ok, `the Node client succeeded: ${report.error}`);
  assertEquals(report.closeCode, 1001, 'going away');
});

Deno.test('server: a bad request gets 400 and the handler never runs', async () => {
  const errors = [];
  const srv = serve({ port: 0, handler: () => errors.push('handler ran'), onError: (e) => errors.push(e.code) });
  try {
    const conn = await Deno.connect({ hostname: '127.0.0.1', port: srv.addr.port });
    await conn.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n'));
    const chunks = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await within(conn.read(buf), 5000, 'response');
      if (n === null) break;
      chunks.push(new TextDecoder().decode(buf.subarray(0, n)));
    }
    conn.close();
    const text = chunks.join('');
    assert(text.startsWith('HTTP/1.1 400 '), `400: ${JSON.stringify(text.slice(0, 80))}`);
    assertEquals(errors, ['WS_ERR_HANDSHAKE_INVALID'], 'onError saw the refusal');
  } finally {
    await srv.close();
  }
});

// ---------------------------------------------------------------- the streams adapter on Deno.Conn

for (const kind of ['denoConnDuplex', "Deno's conn.readable/writable"]) {
  Deno.test(`streams adapter, both roles in Deno, over ${kind}`, async () => {
    const wrap = (c) => (kind === 'denoConnDuplex' ? denoConnDuplex(c) : { readable: c.readable, writable: c.writable });
    const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 });
    try {
      const accepting = listener.accept().then((c) => acceptWebSocketStream(wrap(c), { perMessageDeflate: true }));
      const conn = await Deno.connect({ hostname: '127.0.0.1', port: listener.addr.port });
      const client = await connectWebSocketStream(wrap(conn), `ws://127.0.0.1:${listener.addr.port}/pair`, { perMessageDeflate: true });
      const server = await accepting;
      assertEquals(server.url, '/pair', 'path');
      const errors = [];
      for (const ws of [client, server]) ws.addEventListener('error', (e) => errors.push(e.error.code));
      server.onmessage = (e) => server.send(e.raw, { binary: e.binary });
      await exchange(client);
      const sc = closeEvent(server);
      const cc = closeEvent(client);
      client.close(1000);
      const [se, ce] = await Promise.all([sc, cc]);
      assertEquals([se.code, se.wasClean, ce.code, ce.wasClean], [1000, true, 1000, true], 'clean on both sides');
      assertEquals(errors, [], 'no errors');
    } finally {
      listener.close();
    }
  });
}

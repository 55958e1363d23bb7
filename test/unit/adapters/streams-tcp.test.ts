/**
 * The Web Streams byte adapter over real TCP sockets on 127.0.0.1, with
 * ws (websockets/ws, a peer nobody here wrote) on the other end: a Node
 * socket becomes a byte duplex with `Duplex.toWeb(socket)`. Our client
 * against ws's server, and ws's client against our server; text, binary,
 * 1 MiB, permessage-deflate (pako on our side, zlib on theirs), the closing
 * handshake in both directions, and a refused upgrade.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { once } from 'node:events';
import { WebSocket as WsClient, WebSocketServer as WsServer, type RawData } from 'ws';
import { acceptWebSocketStream, connectWebSocketStream, type ByteDuplex } from '../../../src/adapters/streams.js';
import type { WebSocketConnection } from '../../../src/connection.js';
import { WebSocketError } from '../../../src/core/ws/errors.js';
import { closed, nextMessage } from '../../helpers/ws.js';

function toDuplex(socket: Socket): ByteDuplex {
  socket.setNoDelay(true);
  return Duplex.toWeb(socket) as unknown as ByteDuplex;
}

async function dial(port: number): Promise<ByteDuplex> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return toDuplex(socket);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const big = (): Uint8Array => {
  const b = new Uint8Array(1024 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31) & 0x7f;
  return b;
};

describe('our streams client against a ws server', () => {
  const servers: WsServer[] = [];
  after(async () => {
    for (const s of servers) {
      for (const c of s.clients) c.terminate();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  async function wsServer(perMessageDeflate: boolean): Promise<{ port: number; wss: WsServer; headers: Promise<Record<string, unknown>> }> {
    const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate, handleProtocols: (p) => (p.has('wamp.2.json') ? 'wamp.2.json' : false) });
    servers.push(wss);
    await once(wss, 'listening');
    let gotHeaders!: (h: Record<string, unknown>) => void;
    const headers = new Promise<Record<string, unknown>>((r) => (gotHeaders = r));
    wss.on('connection', (ws, req) => {
      gotHeaders(req.headers);
      ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data as Buffer, { binary: isBinary }));
    });
    return { port: (wss.address() as { port: number }).port, wss, headers };
  }

  for (const deflate of [false, true]) {
    test(`text, binary, 1 MiB, close (perMessageDeflate ${deflate})`, async () => {
      const { port, headers } = await wsServer(deflate);
      const ws = await within(
        connectWebSocketStream(await dial(port), `ws://127.0.0.1:${port}/echo`, { protocols: ['wamp.2.json'], perMessageDeflate: deflate, headers: { 'X-Test': 'streams' } }),
        5000,
        'connect',
      );
      assert.equal(ws.protocol, 'wamp.2.json');
      assert.equal(ws.extensions.startsWith('permessage-deflate'), deflate);
      assert.equal((await headers)['x-test'], 'streams');
      let m = nextMessage(ws, 5000);
      ws.send('hello ✓');
      assert.equal((await m).data, 'hello ✓');
      m = nextMessage(ws, 5000);
      ws.send(new Uint8Array([1, 2, 3]));
      assert.deepEqual([...((await m).data as Uint8Array)], [1, 2, 3]);
      const payload = big();
      m = nextMessage(ws, 10_000);
      ws.send(payload);
      assert.ok(Buffer.from((await m).data as Uint8Array).equals(Buffer.from(payload)));
      const c = closed(ws, 5000);
      ws.close(1000, 'done');
      const e = await c;
      assert.deepEqual([e.code, e.wasClean], [1000, true]);
    });
  }

  test('ws closing first: our client sees its code and reason, clean', async () => {
    const { port, wss } = await wsServer(false);
    const ws = await connectWebSocketStream(await dial(port), `ws://127.0.0.1:${port}/`);
    const c = closed(ws, 5000);
    for (const peer of wss.clients) peer.close(4001, 'bye from ws');
    const e = await c;
    assert.deepEqual([e.code, e.reason, e.wasClean], [4001, 'bye from ws', true]);
  });
});

describe('ws client against our streams server', () => {
  let server: Server;
  let port = 0;
  const accepted: WebSocketConnection[] = [];
  const refusals: WebSocketError[] = [];

  async function start(perMessageDeflate: boolean): Promise<void> {
    server = createServer((socket) => {
      acceptWebSocketStream(toDuplex(socket), {
        perMessageDeflate,
        protocols: ['wamp.2.cbor', 'wamp.2.json'],
        verify: (req) => req.path !== '/forbidden' || { status: 403, message: 'no' },
      }).then(
        (ws) => {
          accepted.push(ws);
          ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
        },
        (err: WebSocketError) => refusals.push(err),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  }

  async function stop(): Promise<void> {
    for (const ws of accepted) ws.terminate();
    accepted.length = 0;
    await new Promise<void>((r) => server.close(() => r()));
  }

  for (const deflate of [false, true]) {
    test(`echo text, binary, 1 MiB, then ws closes (perMessageDeflate ${deflate})`, async () => {
      await start(deflate);
      try {
        const client = new WsClient(`ws://127.0.0.1:${port}/x`, ['wamp.2.json', 'wamp.2.cbor'], { perMessageDeflate: deflate });
        await within(once(client, 'open'), 5000, 'open');
        assert.equal(client.protocol, 'wamp.2.cbor');
        assert.equal(client.extensions.startsWith('permessage-deflate'), deflate);
        const next = (): Promise<[Buffer, boolean]> => within(once(client, 'message') as Promise<[Buffer, boolean]>, 10_000, 'message');
        let m = next();
        client.send('héllo');
        let [data, binary] = await m;
        assert.deepEqual([data.toString(), binary], ['héllo', false]);
        m = next();
        client.send(Buffer.from([9, 8, 7]));
        [data, binary] = await m;
        assert.deepEqual([[...data], binary], [[9, 8, 7], true]);
        const payload = Buffer.from(big());
        m = next();
        client.send(payload);
        [data] = await m;
        assert.ok(data.equals(payload));
        const ours = accepted[0] as WebSocketConnection;
        const oc = closed(ours, 5000);
        client.close(1000, 'ws done');
        const [code] = (await within(once(client, 'close'), 5000, 'ws close')) as [number, Buffer];
        assert.equal(code, 1000);
        const e = await oc;
        assert.deepEqual([e.code, e.reason, e.wasClean], [1000, 'ws done', true]);
      } finally {
        await stop();
      }
    });
  }

  test('our server closing first; ws sees the code; the TCP connection ends', async () => {
    await start(false);
    try {
      const client = new WsClient(`ws://127.0.0.1:${port}/`);
      await within(once(client, 'open'), 5000, 'open');
      const ours = accepted[0] as WebSocketConnection;
      const oc = closed(ours, 5000);
      ours.close(4002, 'server bye');
      const [code, reason] = (await within(once(client, 'close'), 5000, 'ws close')) as [number, Buffer];
      assert.deepEqual([code, reason.toString()], [4002, 'server bye']);
      assert.equal((await oc).wasClean, true);
    } finally {
      await stop();
    }
  });

  test('a refused upgrade: ws gets the status, our promise rejects with it', async () => {
    await start(false);
    try {
      const client = new WsClient(`ws://127.0.0.1:${port}/forbidden`);
      client.on('error', () => undefined);
      const [, res] = (await within(once(client, 'unexpected-response'), 5000, 'response')) as [unknown, { statusCode: number; destroy(): void }];
      assert.equal(res.statusCode, 403);
      res.destroy();
      client.terminate();
      assert.equal(refusals.at(-1)?.status, 403);
    } finally {
      await stop();
    }
  });

  test('a slow reader on our side pauses the TCP socket: ws buffers, nothing is lost', async () => {
    server = createServer((socket) => {
      acceptWebSocketStream(toDuplex(socket)).then((ws) => accepted.push(ws), () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
    try {
      const client = new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      await within(once(client, 'open'), 5000, 'open');
      await within((async () => {
        while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(), 2000, 'accepted');
      const ours = accepted[0] as WebSocketConnection;
      const reader = ours.stream.readable.getReader();
      const piece = Buffer.alloc(256 * 1024, 1);
      const count = 64; // 16 MiB in all
      for (let i = 0; i < count; i++) {
        piece[0] = i;
        client.send(piece);
      }
      await new Promise((r) => setTimeout(r, 200));
      // Our side stopped reading: much of it still waits in ws's socket buffer.
      assert.ok(client.bufferedAmount > 4 * 1024 * 1024, `ws bufferedAmount ${client.bufferedAmount}`);
      for (let i = 0; i < count; i++) {
        const r = await within(reader.read(), 10_000, `message ${i}`);
        assert.ok(!r.done);
        assert.equal((r.value as Uint8Array)[0], i);
      }
      reader.releaseLock();
      client.terminate();
    } finally {
      await stop();
    }
  });
});

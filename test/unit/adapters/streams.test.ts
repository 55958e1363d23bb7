/**
 * The Web Streams byte adapter in memory: two TransformStreams make a
 * duplex for each end (a TransformStream's writable completes a write only
 * when its readable is read, so backpressure is real). StreamTransport on
 * its own; both handshake roles against each other and against a raw peer
 * that writes exactly the bytes a test wants; messages, deflate,
 * backpressure, bad and oversize heads, timeouts, the closing handshake.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  StreamTransport,
  acceptWebSocketStream,
  acceptWebSocketStreamWithRequest,
  connectWebSocketStream,
  type ByteDuplex,
  type TransportSink,
} from '../../../src/adapters/streams.js';
import { WebSocketConnection } from '../../../src/connection.js';
import { WebSocketError } from '../../../src/core/ws/errors.js';
import { computeAccept } from '../../../src/core/ws/handshake.js';
import { closed, nextMessage } from '../../helpers/ws.js';

// ---------------------------------------------------------------- helpers

/** Two connected in-memory duplexes. */
function pipePair(): { a: ByteDuplex; b: ByteDuplex } {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  return { a: { readable: ba.readable, writable: ab.writable }, b: { readable: ab.readable, writable: ba.writable } };
}

const enc = new TextEncoder();
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/**
 * The far end of a duplex, driven by hand: write bytes, read what the
 * adapter sent, see whether it closed its writable.
 */
class RawPeer {
  readonly duplex: ByteDuplex;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly chunks: Uint8Array[] = [];
  private waiters: Array<() => void> = [];
  /** The adapter closed its writable (FIN). */
  ended = false;
  /** The adapter cancelled our readable / aborted its writable. */
  errored = false;

  constructor() {
    const { a, b } = pipePair();
    this.duplex = a;
    this.writer = b.writable.getWriter();
    this.writer.closed.catch(() => {
      this.errored = true;
      this.wake();
    });
    void (async () => {
      const reader = b.readable.getReader();
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          this.chunks.push(r.value);
          this.wake();
        }
        this.ended = true;
      } catch {
        this.errored = true;
      }
      this.wake();
    })();
  }

  /** How many chunks arrived (writes batched into one show as one). */
  get chunkCount(): number {
    return this.chunks.length;
  }

  get bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return latin1(this.bytes);
  }

  write(data: string | Uint8Array): Promise<void> {
    return this.writer.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data).catch(() => undefined);
  }

  end(): Promise<void> {
    return this.writer.close().catch(() => undefined);
  }

  async until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; got ${JSON.stringify(this.text.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/** A client and a server connected in memory. */
async function connectedPair(
  serverOpts: Parameters<typeof acceptWebSocketStream>[1] = {},
  clientOpts: Parameters<typeof connectWebSocketStream>[2] = {},
  url = 'ws://example.test/chat?x=1',
): Promise<{ server: WebSocketConnection; client: WebSocketConnection }> {
  const { a, b } = pipePair();
  const [server, client] = await Promise.all([acceptWebSocketStream(a, serverOpts), connectWebSocketStream(b, url, clientOpts)]);
  return { server, client };
}

function echo(ws: WebSocketConnection): void {
  ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
}

const UPGRADE = (extra: string[] = [], key = 'dGhlIHNhbXBsZSBub25jZQ=='): string =>
  ['GET /path HTTP/1.1', 'Host: example.test', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', ...extra, '', ''].join('\r\n');

async function rejects(p: Promise<unknown>, code: string, status?: number): Promise<WebSocketError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WebSocketError, `a WebSocketError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (status !== undefined) assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** A masked client frame (RFC 6455 §5.2), as a raw peer would send it. */
function clientFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const key = new Uint8Array([1, 2, 3, 4]);
  const head = payload.length < 126 ? [((fin ? 0x80 : 0) | opcode), 0x80 | payload.length] : [((fin ? 0x80 : 0) | opcode), 0x80 | 126, payload.length >> 8, payload.length & 255];
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head, 0);
  out.set(key, head.length);
  for (let i = 0; i < payload.length; i++) out[head.length + 4 + i] = (payload[i] as number) ^ (key[i & 3] as number);
  return out;
}

// ---------------------------------------------------------------- StreamTransport

class StubSink implements TransportSink {
  received: Uint8Array[] = [];
  drained = 0;
  closed: Array<{ error: unknown }> = [];
  receive(chunk: Uint8Array): void {
    this.received.push(chunk);
  }
  transportDrained(): void {
    this.drained++;
  }
  transportClosed(error?: unknown): void {
    this.closed.push({ error });
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('StreamTransport', () => {
  test('writes of one synchronous run leave as one chunk; bufferedAmount counts them until written; drain follows', async () => {
    const peer = new RawPeer();
    const t = new StreamTransport(peer.duplex);
    const sink = new StubSink();
    t.start(sink);
    t.write(enc.encode('ab'));
    t.write(enc.encode('cd'));
    t.write(enc.encode('e'));
    assert.equal(t.bufferedAmount, 5);
    await peer.until(() => peer.text === 'abcde', 2000, 'bytes');
    await tick();
    assert.equal(t.bufferedAmount, 0);
    assert.ok(sink.drained >= 1, 'transportDrained after the writer caught up');
    assert.equal(peer.chunkCount, 1, 'one joined chunk, not three');
    t.destroy();
    await tick();
  });

  test('large batches are written piece by piece, in order', async () => {
    const peer = new RawPeer();
    const t = new StreamTransport(peer.duplex);
    t.start(new StubSink());
    const a = new Uint8Array(50_000).fill(1);
    const b = new Uint8Array(50_000).fill(2);
    t.write(a);
    t.write(b);
    await peer.until(() => peer.bytes.length === 100_000, 2000, 'bytes');
    assert.equal(peer.bytes[49_999], 1);
    assert.equal(peer.bytes[50_000], 2);
    t.destroy();
  });

  test('pause() stops delivery (a chunk read meanwhile is held), resume() delivers it', async () => {
    const peer = new RawPeer();
    const t = new StreamTransport(peer.duplex);
    const sink = new StubSink();
    t.start(sink);
    await peer.write('one');
    await tick();
    assert.equal(sink.received.length, 1);
    t.pause();
    void peer.write('two');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(sink.received.length, 1, 'nothing delivered while paused');
    t.resume();
    await tick();
    assert.deepEqual(sink.received.map((c) => latin1(c)), ['one', 'two']);
    t.destroy();
  });

  test('peer EOF half-closes our side; closed once both directions are done, without error', async () => {
    const peer = new RawPeer();
    const t = new StreamTransport(peer.duplex);
    const sink = new StubSink();
    t.start(sink);
    t.write(enc.encode('last words'));
    await peer.end();
    await peer.until(() => peer.ended, 2000, 'our FIN');
    assert.equal(peer.text, 'last words', 'queued bytes are flushed before the FIN');
    await tick();
    assert.equal(sink.closed.length, 1);
    assert.equal(sink.closed[0]?.error, undefined);
    assert.ok(t.closed);
  });

  test('destroy() cancels and aborts at once and reports closed once', async () => {
    const peer = new RawPeer();
    const t = new StreamTransport(peer.duplex);
    const sink = new StubSink();
    t.start(sink);
    t.write(enc.encode('dropped'));
    t.destroy();
    t.destroy();
    await peer.until(() => peer.errored, 2000, 'abort seen by the peer');
    await tick();
    assert.equal(sink.closed.length, 1);
    assert.equal(peer.text, '', 'pending bytes are dropped');
    t.write(enc.encode('after'));
    assert.equal(t.bufferedAmount, 0);
  });

  test('a readable that errors closes the transport with that error', async () => {
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const readable = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
    const t = new StreamTransport({ readable, writable: new WritableStream() });
    const sink = new StubSink();
    t.start(sink);
    ctl.error(new Error('ECONNRESET'));
    await tick();
    await tick();
    assert.equal(sink.closed.length, 1);
    assert.match(String((sink.closed[0]?.error as Error).message), /ECONNRESET/);
  });

  test('a readable that yields something other than bytes fails the transport (no crash)', async () => {
    const readable = new ReadableStream<unknown>({ start: (c) => c.enqueue('not bytes') }) as ReadableStream<Uint8Array>;
    const t = new StreamTransport({ readable, writable: new WritableStream() });
    const sink = new StubSink();
    t.start(sink);
    await tick();
    await tick();
    assert.equal(sink.closed.length, 1);
    assert.ok(sink.closed[0]?.error instanceof TypeError);
  });
});

// ---------------------------------------------------------------- handshake + messages

describe('connectWebSocketStream / acceptWebSocketStream in memory', () => {
  test('both roles: subprotocol by server preference, path, text and binary both ways', async () => {
    const { server, client } = await connectedPair({ protocols: ['wamp.2.cbor', 'wamp.2.json'] }, { protocols: ['wamp.2.json', 'wamp.2.cbor'], perMessageDeflate: false });
    assert.equal(client.protocol, 'wamp.2.cbor');
    assert.equal(server.protocol, 'wamp.2.cbor');
    assert.equal(server.url, '/chat?x=1');
    assert.equal(client.url, 'ws://example.test/chat?x=1');
    assert.equal(client.extensions, '');
    assert.equal(client.readyState, WebSocketConnection.OPEN);
    echo(server);
    const m1 = nextMessage(client);
    client.send('héllo');
    assert.equal((await m1).data, 'héllo');
    const m2 = nextMessage(client);
    client.send(new Uint8Array([0, 1, 2, 255]));
    const got = await m2;
    assert.ok(got.binary);
    assert.deepEqual([...(got.data as Uint8Array)], [0, 1, 2, 255]);
    const m3 = nextMessage(client);
    server.send('from server');
    assert.equal((await m3).data, 'from server');
    const cc = closed(client);
    const sc = closed(server);
    client.close(1000, 'bye');
    const [ce, se] = await Promise.all([cc, sc]);
    // Each side reports the Close frame it received: the server echoes the code only.
    assert.deepEqual([ce.code, ce.wasClean], [1000, true]);
    assert.deepEqual([se.code, se.reason, se.wasClean], [1000, 'bye', true]);
  });

  test('permessage-deflate (pako) is negotiated; 1 MiB and many small messages round-trip', async () => {
    const { server, client } = await connectedPair({ perMessageDeflate: true }, { perMessageDeflate: true });
    assert.match(client.extensions, /^permessage-deflate/);
    assert.equal(server.extensions, client.extensions);
    echo(server);
    const big = new Uint8Array(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0x3f;
    const m = nextMessage(client);
    client.send(big);
    assert.deepEqual(Buffer.from((await m).data as Uint8Array), Buffer.from(big));
    const texts: string[] = [];
    const all = new Promise<void>((resolve) => {
      client.onmessage = (e) => {
        texts.push(e.data as string);
        if (texts.length === 200) resolve();
      };
    });
    for (let i = 0; i < 200; i++) client.send(`message ${i} `.repeat(i % 7 === 0 ? 300 : 1));
    await all;
    assert.equal(texts[199], 'message 199 ');
    assert.equal(texts[7], 'message 7 '.repeat(300));
    const sc = closed(server);
    server.close(1000);
    assert.equal((await sc).wasClean, true);
  });

  test('custom headers and Basic credentials from the URL reach verify; the request is returned', async () => {
    const { a, b } = pipePair();
    let seen: Map<string, string> | null = null;
    const [accepted, client] = await Promise.all([
      acceptWebSocketStreamWithRequest(a, {
        verify: (req) => {
          seen = req.headers;
          return true;
        },
      }),
      connectWebSocketStream(b, 'ws://us%C3%A9r:p%40ss@example.test:8080/x', { headers: { 'X-Token': 'abc' }, origin: 'https://app.test' }),
    ]);
    const h = seen as unknown as Map<string, string>;
    assert.equal(h.get('x-token'), 'abc');
    assert.equal(h.get('host'), 'example.test:8080');
    assert.equal(h.get('origin'), 'https://app.test');
    assert.equal(h.get('authorization'), `Basic ${Buffer.from('usér:p@ss').toString('base64')}`);
    assert.equal(accepted.request.path, '/x');
    assert.equal(accepted.request.origin, 'https://app.test');
    const sc = closed(accepted.ws);
    client.close(1000);
    await sc;
  });

  test('verify refusing: the client rejects with the status; the server promise rejects too', async () => {
    const { a, b } = pipePair();
    const [s, c] = await Promise.allSettled([
      acceptWebSocketStream(a, { verify: async () => ({ status: 401, headers: [['WWW-Authenticate', 'Bearer']], message: 'who are you' }) }),
      connectWebSocketStream(b, 'ws://example.test/'),
    ]);
    assert.equal(s.status, 'rejected');
    assert.equal(c.status, 'rejected');
    const se = (s as PromiseRejectedResult).reason as WebSocketError;
    const ce = (c as PromiseRejectedResult).reason as WebSocketError;
    assert.deepEqual([se.code, se.status], ['WS_ERR_HANDSHAKE_REJECTED', 401]);
    assert.deepEqual([ce.code, ce.status], ['WS_ERR_HANDSHAKE_REJECTED', 401]);
    const { a: a2, b: b2 } = pipePair();
    const [s2, c2] = await Promise.allSettled([acceptWebSocketStream(a2, { verify: () => false }), connectWebSocketStream(b2, 'ws://example.test/')]);
    assert.equal(((s2 as PromiseRejectedResult).reason as WebSocketError).status, 403);
    assert.equal(((c2 as PromiseRejectedResult).reason as WebSocketError).status, 403);
  });

  test('verify throwing answers 500 and keeps the details off the wire', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex, {
      verify: () => {
        throw new Error('database password is hunter2');
      },
    });
    await peer.write(UPGRADE());
    await rejects(p, 'WS_ERR_INTERNAL', 500);
    await peer.until(() => peer.ended, 2000, 'response and FIN');
    assert.match(peer.text, /^HTTP\/1\.1 500 /);
    assert.doesNotMatch(peer.text, /hunter2/);
    await peer.end();
  });

  test('handleProtocols chooses; the client fails on a subprotocol it did not offer', async () => {
    const { server, client } = await connectedPair({ handleProtocols: (offered) => offered[offered.length - 1] ?? false }, { protocols: ['a', 'b', 'c'] });
    assert.equal(server.protocol, 'c');
    assert.equal(client.protocol, 'c');
    client.terminate();
    await closed(server);

    const peer = new RawPeer();
    const c = connectWebSocketStream(peer.duplex, 'ws://example.test/', { protocols: ['a'] });
    await peer.until(() => peer.text.endsWith('\r\n\r\n'), 2000, 'request');
    const key = /Sec-WebSocket-Key: (\S+)/.exec(peer.text)?.[1] as string;
    await peer.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Protocol: zzz\r\n\r\n`);
    await rejects(c, 'WS_ERR_INVALID_SUBPROTOCOL');
    await peer.until(() => peer.errored || peer.ended, 2000, 'duplex closed after failure');
  });

  test('frames sent right behind the 101 reach handlers set after the await', async () => {
    const peer = new RawPeer();
    const c = connectWebSocketStream(peer.duplex, 'ws://example.test/', { perMessageDeflate: false });
    await peer.until(() => peer.text.endsWith('\r\n\r\n'), 2000, 'request');
    const key = /Sec-WebSocket-Key: (\S+)/.exec(peer.text)?.[1] as string;
    const head = Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`, 'latin1');
    // One chunk: the head and an unmasked text frame "early".
    await peer.write(Buffer.concat([head, Buffer.from([0x81, 5]), Buffer.from('early')]));
    const ws = await c;
    const m = await nextMessage(ws, 2000);
    assert.equal(m.data, 'early');
    ws.terminate();
    await closed(ws);
  });

  test('server: frames sent right behind the request reach handlers set after the await', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex);
    await peer.write(Buffer.concat([Buffer.from(UPGRADE(), 'latin1'), clientFrame(1, enc.encode('first'))]));
    const ws = await p;
    assert.equal((await nextMessage(ws, 2000)).data, 'first');
    assert.match(peer.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(peer.text, new RegExp(`Sec-WebSocket-Accept: ${computeAccept('dGhlIHNhbXBsZSBub25jZQ==').replace(/[+/]/g, '\\$&')}\r\n`));
    ws.terminate();
    await closed(ws);
  });
});

// ---------------------------------------------------------------- bad input

describe('bad handshake input', () => {
  const serverCases: Array<{ name: string; input: string; status: number; code: string }> = [
    { name: 'garbage', input: 'HELLO\r\n\r\n', status: 400, code: 'WS_ERR_HANDSHAKE_INVALID' },
    { name: 'a plain GET', input: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', status: 426, code: 'WS_ERR_HANDSHAKE_INVALID' },
    { name: 'POST', input: UPGRADE().replace('GET', 'POST'), status: 405, code: 'WS_ERR_HANDSHAKE_INVALID' },
    { name: 'version 7', input: UPGRADE().replace('Version: 13', 'Version: 7'), status: 426, code: 'WS_ERR_UNSUPPORTED_VERSION' },
    { name: 'a bad key', input: UPGRADE([], 'short'), status: 400, code: 'WS_ERR_HANDSHAKE_INVALID' },
    { name: 'header injection by bare LF', input: UPGRADE(['X-A: 1\nX-B: 2']), status: 400, code: 'WS_ERR_HANDSHAKE_INVALID' },
  ];
  for (const c of serverCases) {
    test(`server answers ${c.status} to ${c.name} and rejects with ${c.code}`, async () => {
      const peer = new RawPeer();
      const p = acceptWebSocketStream(peer.duplex);
      await peer.write(c.input);
      await rejects(p, c.code, c.status);
      await peer.until(() => peer.ended, 2000, 'response and FIN');
      assert.match(peer.text, new RegExp(`^HTTP/1\\.1 ${c.status} `));
      assert.match(peer.text, /\r\nConnection: close\r\n/);
      await peer.end();
    });
  }

  test('server: an oversize head gets 431 without buffering past the limit', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex, { maxHandshakeSize: 1024 });
    await peer.write('GET / HTTP/1.1\r\nHost: x\r\n');
    for (let i = 0; i < 5; i++) void peer.write(`X-Filler-${i}: ${'a'.repeat(300)}\r\n`);
    await rejects(p, 'WS_ERR_HANDSHAKE_TOO_BIG', 431);
    await peer.until(() => peer.ended, 2000, 'response');
    assert.match(peer.text, /^HTTP\/1\.1 431 /);
    await peer.end();
  });

  test('server: a head that never completes gets 408 after openTimeout', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex, { openTimeout: 100 });
    await peer.write('GET / HTTP/1.1\r\n');
    const started = Date.now();
    await rejects(p, 'WS_ERR_OPEN_TIMEOUT', 408);
    assert.ok(Date.now() - started < 2000);
    await peer.until(() => peer.ended, 2000, 'response');
    assert.match(peer.text, /^HTTP\/1\.1 408 /);
    await peer.end();
  });

  test('server: a client that leaves mid-head is dropped without an answer', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex);
    await peer.write('GET / HTTP/1.1\r\nHost');
    await peer.end();
    await rejects(p, 'WS_ERR_CONNECTION_LOST');
    assert.equal(peer.text, '');
  });

  test('server: a refused client that stays is destroyed after a bounded linger', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex);
    await peer.write('HELLO\r\n\r\n');
    await rejects(p, 'WS_ERR_HANDSHAKE_INVALID', 400);
    // We never close our side: the adapter gives up on us within ~1 s.
    await peer.until(() => peer.errored, 3000, 'destroyed');
  });

  const clientCases: Array<{ name: string; response: (accept: string) => string; code: string; status?: number }> = [
    { name: 'a wrong Sec-WebSocket-Accept', response: () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n', code: 'WS_ERR_HANDSHAKE_INVALID' },
    { name: 'a 404', response: () => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', code: 'WS_ERR_HANDSHAKE_REJECTED', status: 404 },
    { name: 'an extension not offered', response: (a) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${a}\r\nSec-WebSocket-Extensions: x-foo\r\n\r\n`, code: 'WS_ERR_INVALID_EXTENSION' },
    { name: 'garbage', response: () => 'SSH-2.0-OpenSSH\r\n\r\n', code: 'WS_ERR_HANDSHAKE_INVALID' },
  ];
  for (const c of clientCases) {
    test(`client fails on ${c.name} with ${c.code} and closes the duplex`, async () => {
      const peer = new RawPeer();
      const p = connectWebSocketStream(peer.duplex, 'ws://example.test/');
      await peer.until(() => peer.text.endsWith('\r\n\r\n'), 2000, 'request');
      const key = /Sec-WebSocket-Key: (\S+)/.exec(peer.text)?.[1] as string;
      await peer.write(c.response(computeAccept(key)));
      await rejects(p, c.code, c.status);
      await peer.until(() => peer.errored || peer.ended, 2000, 'duplex closed');
    });
  }

  test('client: an oversize response head fails with WS_ERR_HANDSHAKE_TOO_BIG', async () => {
    const peer = new RawPeer();
    const p = connectWebSocketStream(peer.duplex, 'ws://example.test/', { maxHandshakeSize: 512 });
    await peer.until(() => peer.text.endsWith('\r\n\r\n'), 2000, 'request');
    void peer.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'b'.repeat(1000)}\r\n\r\n`);
    await rejects(p, 'WS_ERR_HANDSHAKE_TOO_BIG');
  });

  test('client: no answer within openTimeout fails with WS_ERR_OPEN_TIMEOUT; EOF with WS_ERR_CONNECTION_LOST', async () => {
    const peer = new RawPeer();
    await rejects(connectWebSocketStream(peer.duplex, 'ws://example.test/', { openTimeout: 100 }), 'WS_ERR_OPEN_TIMEOUT');
    await peer.until(() => peer.errored, 2000, 'destroyed');
    const peer2 = new RawPeer();
    const p2 = connectWebSocketStream(peer2.duplex, 'ws://example.test/');
    await peer2.until(() => peer2.text.endsWith('\r\n\r\n'), 2000, 'request');
    await peer2.end();
    await rejects(p2, 'WS_ERR_CONNECTION_LOST');
  });

  test('client: a bad URL or header is refused before anything is sent', async () => {
    const peer = new RawPeer();
    await assert.rejects(connectWebSocketStream(peer.duplex, 'ftp://example.test/'), SyntaxError);
    const peer2 = new RawPeer();
    await rejects(connectWebSocketStream(peer2.duplex, 'ws://example.test/', { headers: { 'X-Evil': 'a\r\nInjected: 1' } }), 'WS_ERR_HANDSHAKE_INVALID');
    assert.equal(peer2.text, '');
  });
});

// ---------------------------------------------------------------- backpressure

describe('backpressure', () => {
  test('a server that does not read its messages stops reading the duplex; the client buffers, then drains', async () => {
    const { server, client } = await connectedPair({}, { perMessageDeflate: false });
    // The stream API: messages wait in its readable (16 deep), then the transport pauses.
    const reader = server.stream.readable.getReader();
    const piece = new Uint8Array(64 * 1024).fill(7);
    const total = 100;
    for (let i = 0; i < total; i++) {
      piece[0] = i;
      client.send(piece.slice());
    }
    await new Promise((r) => setTimeout(r, 100));
    // The server stopped pulling: most of the 6.4 MB still waits on the client side.
    assert.ok(client.bufferedAmount > 50 * 64 * 1024, `client bufferedAmount ${client.bufferedAmount}`);
    let drained = false;
    client.addEventListener('drain', () => {
      drained = true;
    });
    const order: number[] = [];
    for (let i = 0; i < total; i++) {
      const r = await reader.read();
      assert.ok(!r.done);
      order.push((r.value as Uint8Array)[0] as number);
    }
    assert.deepEqual(order, Array.from({ length: total }, (_, i) => i));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(client.bufferedAmount, 0);
    await client.waitDrain();
    assert.ok(drained || client.bufferedAmount === 0);
    reader.releaseLock();
    client.terminate();
    await closed(server);
  });

  test('the stream API writable waits for the duplex instead of throwing WS_ERR_SEND_QUEUE_FULL', async () => {
    const { server, client } = await connectedPair({}, { perMessageDeflate: false, maxBufferedAmount: 256 * 1024 });
    let received = 0;
    const reader = server.stream.readable.getReader();
    const writer = client.stream.writable.getWriter();
    const piece = new Uint8Array(100 * 1024);
    const writing = (async () => {
      for (let i = 0; i < 40; i++) await writer.write(piece);
    })();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(client.bufferedAmount <= 256 * 1024 + piece.length, `bounded: ${client.bufferedAmount}`);
    while (received < 40) {
      const r = await reader.read();
      assert.ok(!r.done);
      received++;
    }
    await writing;
    reader.releaseLock();
    writer.releaseLock();
    client.terminate();
    await closed(server);
  });
});

// ---------------------------------------------------------------- closing

describe('closing', () => {
  test('server-initiated close: both sides clean, both duplex directions closed', async () => {
    const { a, b } = pipePair();
    const [server, client] = await Promise.all([acceptWebSocketStream(a), connectWebSocketStream(b, 'ws://example.test/')]);
    const cc = closed(client);
    const sc = closed(server);
    server.close(4000, 'done');
    const [ce, se] = await Promise.all([cc, sc]);
    assert.deepEqual([ce.code, ce.reason, ce.wasClean], [4000, 'done', true]);
    assert.deepEqual([se.code, se.wasClean], [4000, true]);
    // Both writables were closed by the transports (a second close would throw on a locked or closed stream).
    assert.equal(a.writable.locked, false);
    assert.equal(b.writable.locked, false);
  });

  test('client-initiated close: the server closes both directions without waiting for the peer to end', async () => {
    // RFC 6455 §7.1.1: once Close frames went both ways the server closes at once.
    const peer = new RawPeer();
    // A close timeout far beyond the test's: only closing at once passes.
    const p = acceptWebSocketStream(peer.duplex, { closeTimeout: 60_000 });
    await peer.write(UPGRADE());
    const ws = await p;
    const sc = closed(ws, 2000);
    await peer.write(new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])); // masked Close 1000
    const se = await sc; // the peer never ends its side
    assert.deepEqual([se.code, se.wasClean], [1000, true]);
    assert.ok(peer.ended, 'our writable is closed (FIN)');
    await peer.until(() => peer.errored, 2000, 'our readable cancelled (the peer sees its writable error)');
    const frames = peer.bytes.subarray(peer.text.indexOf('\r\n\r\n') + 4);
    assert.deepEqual([...frames], [0x88, 0x02, 0x03, 0xe8]);
  });

  test('terminate(): 1006 on both sides, not clean; no error event on the side that terminated', async () => {
    const { server, client } = await connectedPair();
    const cc = closed(client);
    const sc = closed(server);
    const clientErrors: string[] = [];
    client.addEventListener('error', (e) => clientErrors.push(e.error.code));
    // Bytes in flight when terminating: their aborted writes are not errors.
    client.send(new Uint8Array(256 * 1024));
    client.terminate();
    const [ce, se] = await Promise.all([cc, sc]);
    assert.deepEqual([ce.code, ce.wasClean], [1006, false]);
    assert.deepEqual([se.code, se.wasClean], [1006, false]);
    assert.deepEqual(clientErrors, []);
  });

  test('a protocol error from the peer closes with 1002 and reports the error', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex);
    await peer.write(UPGRADE());
    const ws = await p;
    const errors: string[] = [];
    ws.addEventListener('error', (e) => errors.push(e.error.code));
    const cc = closed(ws);
    // An unmasked frame from a client (RFC 6455 §5.1: the server MUST close).
    await peer.write(new Uint8Array([0x81, 0x01, 0x41]));
    await peer.until(() => peer.ended, 2000, 'Close frame and FIN');
    await peer.end();
    const ce = await cc;
    assert.equal(errors[0], 'WS_ERR_EXPECTED_MASK');
    assert.deepEqual([ce.code, ce.wasClean], [1002, false]);
    const frames = peer.bytes.subarray(peer.text.indexOf('\r\n\r\n') + 4);
    // Close (FIN + opcode 8), 2-byte payload 1002 (RFC 6455 §7.4.1), no reason.
    assert.deepEqual([...frames], [0x88, 0x02, 0x03, 0xea]);
  });

  test('the peer closing TCP without a Close frame: 1006, not clean; our side half-closes too', async () => {
    const peer = new RawPeer();
    const p = acceptWebSocketStream(peer.duplex);
    await peer.write(UPGRADE());
    const ws = await p;
    const cc = closed(ws);
    await peer.end();
    const ce = await cc;
    assert.deepEqual([ce.code, ce.wasClean], [1006, false]);
    await peer.until(() => peer.ended, 2000, 'our FIN');
  });

  test('messages interleaved with a close from both sides at once do not crash or hang', async () => {
    for (let round = 0; round < 10; round++) {
      const { server, client } = await connectedPair({ perMessageDeflate: true }, {});
      echo(server);
      const cc = closed(client);
      const sc = closed(server);
      for (let i = 0; i < 20; i++) client.send('x'.repeat(i * 100));
      client.close(1000);
      server.close(1000);
      const [ce, se] = await Promise.all([cc, sc]);
      assert.equal(ce.code, 1000);
      assert.equal(se.code, 1000);
    }
  });
});


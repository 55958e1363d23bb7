/**
 * 1,000 connections opened and dropped — over WebSocket and RawSocket, at
 * every stage (before the handshake ends, after HELLO, joined, mid-call as a
 * callee, mid-call as a caller) — while two healthy sessions keep calling and
 * publishing through the same router. The router stays up, the healthy
 * sessions lose nothing, and every dropped session is cleaned up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { Router } from '../../src/router/server.js';
import { Session } from '../../src/wamp/session.js';
import { connectWebSocket } from '../../src/index.node.js';
import { connectRawSocket } from '../../src/adapters/node/rawsocket.js';
import { WebSocket } from '../../src/adapters/node/client.js';

const TOTAL = 1000;
const PARALLEL = 50;

test('1,000 connections opened and dropped at every stage; healthy sessions lose nothing', { timeout: 120_000 }, async () => {
  const router = new Router({ realms: [{ name: 'realm1' }] });
  const { port } = await router.listen({ port: 0, static: false });
  const url = `ws://127.0.0.1:${port}/ws`;

  // The healthy pair: a callee and a caller/subscriber that keep working.
  const callee = await Session.join(await connectWebSocket(url), 'realm1');
  const watcher = await Session.join(await connectRawSocket({ host: '127.0.0.1', port, serializer: 'msgpack' }), 'realm1');
  await callee.register('com.example.echo', (args) => args[0]);
  const received: number[] = [];
  await watcher.subscribe('com.example.tick', (args) => {
    received.push(args[0] as number);
  });
  // A procedure whose callee is dropped mid-call (registered by churners).
  let running = true;
  let calls = 0;
  let published = 0;
  const healthy = (async () => {
    while (running) {
      const r = await watcher.call('com.example.echo', [calls]);
      assert.equal(r.args[0], calls);
      calls++;
      await callee.publish('com.example.tick', [published++], {}, { acknowledge: true });
    }
  })();

  const stages = [
    // TCP connect, then drop before sending anything.
    async () => {
      await new Promise<void>((resolve) => {
        const s = tcpConnect(port, '127.0.0.1', () => s.destroy());
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    },
    // Half a WebSocket upgrade request, then drop.
    async () => {
      await new Promise<void>((resolve) => {
        const s = tcpConnect(port, '127.0.0.1', () => {
          s.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
          setTimeout(() => s.destroy(), 2);
        });
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    },
    // Half a RawSocket handshake, then drop.
    async () => {
      await new Promise<void>((resolve) => {
        const s = tcpConnect(port, '127.0.0.1', () => {
          s.write(Buffer.from([0x7f, 0xf1]));
          setTimeout(() => s.destroy(), 2);
        });
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    },
    // WebSocket open (WAMP subprotocol), HELLO sent, dropped before WELCOME is read.
    async () => {
      const ws = await WebSocket.connect(url, ['wamp.2.json']);
      ws.send('[1,"realm1",{"roles":{"caller":{}}}]');
      ws.terminate();
    },
    // Joined over RawSocket, dropped without GOODBYE.
    async () => {
      const t = await connectRawSocket({ host: '127.0.0.1', port, serializer: 'cbor' });
      const s = await Session.join(t, 'realm1');
      s.publish('com.example.noise', [1]).catch(() => {});
      t.close(); // the TCP connection ends; the WAMP session never said GOODBYE
    },
    // A callee dropped while a call to it is in flight: the caller gets an error, not a hang.
    async (i: number) => {
      const t = await connectWebSocket(url, { serializers: undefined });
      const s = await Session.join(t, 'realm1');
      const uri = `com.example.dying.${i}`;
      let entered!: () => void;
      const inCall = new Promise<void>((r) => (entered = r));
      await s.register(uri, () => {
        entered();
        return new Promise(() => {}); // never answers
      });
      const call = watcher.call(uri, []).then(
        () => 'result',
        (e: { uri?: string }) => e.uri ?? 'error',
      );
      await inCall;
      t.close();
      const outcome = await call;
      assert.equal(outcome, 'wamp.error.canceled', `call to a dropped callee ended with ${outcome}`);
    },
  ];

  try {
    let done = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = w; i < TOTAL; i += PARALLEL) {
        await (stages[i % stages.length] as (i: number) => Promise<void>)(i);
        done++;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, (_, w) => worker(w)));
    assert.equal(done, TOTAL);

    running = false;
    await healthy;
    // Every event published to the watcher arrived, in order, none lost.
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(received, Array.from({ length: published }, (_, i) => i));
    assert.ok(calls > 10, `the healthy pair made ${calls} calls during the churn`);

    // Dropped sessions are gone: only the two healthy ones remain (allow for close handshakes to finish).
    const deadline = Date.now() + 10_000;
    while (router.sessionCount > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(router.sessionCount, 2);
    const stillThere = await watcher.call('wamp.registration.match', ['com.example.dying.5']);
    assert.equal(stillThere.args[0], null, 'registrations of dropped callees are removed');

    // And the router still accepts new sessions.
    const late = await Session.join(await connectWebSocket(url), 'realm1');
    assert.equal((await late.call('com.example.echo', ['still up'])).args[0], 'still up');
    await Promise.all([late.leave(), callee.leave(), watcher.leave()]);
  } finally {
    running = false;
    await router.close();
  }
});

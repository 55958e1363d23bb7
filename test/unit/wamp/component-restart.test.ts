/**
 * The Component against our real Node Router over loopback: the router is
 * STOPPED and a new one STARTED on the same port; the component reconnects
 * (WebSocket and RawSocket), re-registers and re-subscribes, and its backoff
 * waits are observed within the policy's bounds. Also: a dead URL before a
 * live one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Router } from '../../../src/router/server.js';
import { Session } from '../../../src/wamp/session.js';
import { NodeComponent, connectNodeTransport } from '../../../src/adapters/node/component-transports.js';
import { transportFromUrl, type TransportDescriptor } from '../../../src/wamp/component.js';
import { serializers } from '../../../src/wamp/serializers/index.js';

const REALMS = { realms: [{ name: 'realm1' }] };

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A plain client session on `url` (WebSocket or RawSocket). */
async function client(descriptor: TransportDescriptor): Promise<Session> {
  return Session.join(await connectNodeTransport(descriptor, new AbortController().signal), 'realm1');
}

interface Timeline {
  log: string[];
  /** [time, event] */
  at: [number, string][];
}

function timeline(): Timeline & { hooks: Record<string, unknown> } {
  const t: Timeline = { log: [], at: [] };
  const mark = (e: string): void => {
    t.log.push(e);
    t.at.push([performance.now(), e]);
  };
  return {
    ...t,
    hooks: {
      onJoin: () => mark('join'),
      onLeave: (i: { reason: string }) => mark(`leave ${i.reason}`),
      onDisconnect: (i: { willReconnect: boolean; delay?: number }) => mark(`disconnect ${i.delay ?? 'none'}`),
      onConnectFailure: (_e: Error, d: number | null) => mark(`failure ${d}`),
      onStateChange: (s: string) => {
        if (s === 'connecting') mark('connecting');
      },
    },
  };
}

/**
 * Every wait the component announced (disconnect/failure with a delay d)
 * must be followed by the next `connecting` no sooner than d and not much later.
 */
function assertWaits(t: Timeline, expected: { min: number; max: number }[]): void {
  const waits: number[] = [];
  for (let i = 0; i < t.at.length; i++) {
    const [time, e] = t.at[i] as [number, string];
    const m = /^(?:disconnect|failure) (\d+)$/.exec(e);
    if (!m) continue;
    const d = Number(m[1]);
    const next = t.at.slice(i + 1).find(([, e2]) => e2 === 'connecting');
    if (!next) continue;
    const waited = next[0] - time;
    assert.ok(waited >= d - 2, `waited ${waited.toFixed(1)} ms for an announced ${d} ms`);
    assert.ok(waited <= d + 250, `waited ${waited.toFixed(1)} ms for an announced ${d} ms`);
    waits.push(d);
  }
  assert.ok(waits.length >= expected.length, `only ${waits.length} waits: ${t.log.join(', ')}`);
  for (const [i, { min, max }] of expected.entries()) {
    const d = waits[i] as number;
    assert.ok(d >= min && d <= max, `wait #${i + 1} was ${d} ms, want [${min}, ${max}]: ${t.log.join(', ')}`);
  }
}

for (const kind of ['websocket', 'rawsocket'] as const) {
  describe(`Component over ${kind}: the router is stopped and restarted on the same port`, () => {
    test('reconnects, re-registers, re-subscribes; backoff within bounds', { timeout: 30_000 }, async () => {
      let router = new Router(REALMS);
      const { port } = await router.listen({ port: 0, static: false });
      const descriptor: TransportDescriptor =
        kind === 'websocket'
          ? { url: `ws://127.0.0.1:${port}/ws`, serializers: [serializers.cbor, serializers.json] }
          : transportFromUrl(`rs://127.0.0.1:${port}`, { serializer: 'msgpack' });
      const t = timeline();
      const ticks: unknown[] = [];
      const component = new NodeComponent({
        transports: [descriptor],
        realm: 'realm1',
        // 200 ms ± 10 %, × 1.5 per retry: 200, 300, 450, 675 …
        retry: { initial_retry_delay: 0.2, max_retry_delay: 2, retry_delay_growth: 1.5, retry_delay_jitter: 0.1, max_retries: -1 },
        registrations: { 'com.example.ping': (args) => `pong ${String(args[0])}` },
        subscriptions: { 'com.example.tick': (args) => void ticks.push(args[0]) },
        ...t.hooks,
      });
      try {
        const first = await component.start();
        let c = await client(descriptor);
        assert.equal((await c.call('com.example.ping', [1])).args[0], 'pong 1');
        await c.publish('com.example.tick', ['a'], {}, { acknowledge: true });
        await until(() => ticks.length === 1, 3000, 'first event');

        // Stop the router: the component hears GOODBYE (system_shutdown) and starts backing off.
        await router.close();
        await until(() => t.log.filter((e) => e.startsWith('failure')).length >= 2, 5000, 'two failed reconnects');
        assert.equal(component.session, null);
        assert.ok(['waiting', 'connecting'].includes(component.state), component.state);

        // Restart on the same port.
        router = new Router(REALMS);
        await router.listen({ port, static: false });
        await until(() => t.log.filter((e) => e === 'join').length === 2, 10_000, 'rejoin');
        const second = component.session as Session | null; // (assert.equal above narrowed it to null)
        assert.ok(second && second.id !== first.id);

        c = await client(descriptor);
        assert.equal((await c.call('com.example.ping', [2])).args[0], 'pong 2');
        await c.publish('com.example.tick', ['b'], {}, { acknowledge: true });
        await until(() => ticks.length === 2, 3000, 'event after restart');
        assert.deepEqual(ticks, ['a', 'b']);
        await c.leave();

        // Order: join, leave, disconnect, (connecting, failure)+, connecting, join.
        const order = t.log.filter((e) => e !== 'connecting');
        assert.equal(order[0], 'join');
        assert.match(order[1] as string, /^leave wamp\.close\.(system_shutdown|transport_lost)$/);
        assert.match(order[2] as string, /^disconnect \d+$/);
        assert.equal(order.at(-1), 'join');
        assert.ok(order.slice(3, -1).every((e) => /^failure \d+$/.test(e)), order.join(', '));
        assertWaits(t, [
          { min: 180, max: 220 },
          { min: 270, max: 330 },
          { min: 405, max: 495 },
        ]);

        const info = await component.stop();
        assert.deepEqual(info, { reason: 'stopped' });
      } finally {
        await component.stop();
        await router.close();
      }
    });
  });
}

describe('Component with real URLs', () => {
  test('a dead URL first, the live one second: joins on the second at once', { timeout: 15_000 }, async () => {
    const router = new Router(REALMS);
    const { port } = await router.listen({ port: 0, static: false });
    const deadPort = await freePort();
    const failures: string[] = [];
    const component = new NodeComponent({
      transports: [transportFromUrl(`ws://127.0.0.1:${deadPort}/ws`), transportFromUrl(`rs://127.0.0.1:${port}`)],
      realm: 'realm1',
      retry: { initial_retry_delay: 10, max_retry_delay: 10 },
      onConnectFailure: (e, d) => void failures.push(`${d} ${e.message}`),
    });
    try {
      const t0 = Date.now();
      const s = await component.start();
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(s.isOpen, true);
      assert.equal(failures.length, 1);
      assert.match(failures[0] as string, new RegExp(`^0 could not connect to ws://127\\.0\\.0\\.1:${deadPort}/ws`));
    } finally {
      await component.stop();
      await router.close();
    }
  });

  test('stop() while connected sends GOODBYE and the router sees the session leave', { timeout: 15_000 }, async () => {
    const router = new Router(REALMS);
    const { port } = await router.listen({ port: 0, static: false });
    const component = new NodeComponent({ transports: [{ url: `ws://127.0.0.1:${port}/ws` }], realm: 'realm1' });
    const watcher = await client({ url: `ws://127.0.0.1:${port}/ws` });
    const left: unknown[] = [];
    await watcher.subscribe('wamp.session.on_leave', (args) => void left.push(args[0]));
    try {
      const s = await component.start();
      const id = s.id;
      const info = await component.stop();
      assert.equal(info.reason, 'stopped');
      const closed = await s.closed;
      assert.equal(closed.initiator, 'local');
      assert.equal(closed.reason, 'wamp.close.normal');
      assert.equal(closed.error, undefined, 'the router answered our GOODBYE');
      await until(() => left.includes(id), 3000, 'on_leave');
      await sleep(50);
      assert.equal(component.state, 'stopped');
    } finally {
      await watcher.leave();
      await component.stop();
      await router.close();
    }
  });
});

/**
 * The reconnecting Component against a router nobody here wrote: fox-wamp
 * (npm). The router process state is thrown away (every connection cut, the
 * server closed) and a new fox-wamp router listens on the same port; the
 * component reconnects, registers and subscribes again, and a caller on the
 * new router reaches it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { NodeComponent, connectNodeTransport } from '../../src/adapters/node/component-transports.js';
import { Session } from '../../src/wamp/session.js';
import { serializers } from '../../src/wamp/serializers/index.js';
import type { TransportDescriptor } from '../../src/wamp/component.js';

const require = createRequire(import.meta.url);

interface FoxServer {
  address(): AddressInfo;
  close(cb?: () => void): void;
  clients: Set<{ terminate(): void }>;
  once(event: 'listening', cb: () => void): void;
}
interface FoxRouterCtor {
  new (): { listenWAMP(options: { port: number; host?: string }): FoxServer };
}
const FoxRouter = require('fox-wamp') as FoxRouterCtor;

async function startFox(port: number): Promise<FoxServer> {
  const server = new FoxRouter().listenWAMP({ port, host: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', r));
  return server;
}

async function stopFox(server: FoxServer): Promise<void> {
  for (const c of server.clients) c.terminate();
  await new Promise<void>((r) => server.close(() => r()));
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

test('Component reconnects to a restarted fox-wamp router and re-declares', { timeout: 30_000 }, async () => {
  let fox = await startFox(0);
  const port = fox.address().port;
  // fox-wamp speaks JSON only and sends null payloads.
  const descriptor: TransportDescriptor = {
    url: `ws://127.0.0.1:${port}/`,
    serializers: [serializers.json],
    options: { acceptNullPayload: true, timeout: 3000 },
  };
  const log: string[] = [];
  const events: unknown[] = [];
  const component = new NodeComponent({
    transports: [descriptor],
    realm: 'realm1',
    retry: { initial_retry_delay: 0.1, max_retry_delay: 0.5, retry_delay_growth: 1.5, retry_delay_jitter: 0, max_retries: -1 },
    registrations: { 'com.example.double': (args) => Number(args[0]) * 2 },
    subscriptions: { 'com.example.feed': (args) => void events.push(args[0]) },
    onJoin: () => void log.push('join'),
    onLeave: (i) => void log.push(`leave ${i.reason}`),
    onDisconnect: (i) => void log.push(`disconnect ${i.delay}`),
    onConnectFailure: (_e, d) => void log.push(`failure ${d}`),
    timeout: 3000,
  });
  const caller = async (): Promise<Session> =>
    Session.join(await connectNodeTransport(descriptor, new AbortController().signal), 'realm1', { timeout: 3000 });
  let c: Session | undefined;
  try {
    await component.start();
    c = await caller();
    assert.equal((await c.call('com.example.double', [21])).args[0], 42);
    await c.publish('com.example.feed', ['one'], {}, { acknowledge: true, exclude_me: false });
    await until(() => events.length === 1, 3000, 'first event');

    await stopFox(fox);
    await until(() => log.some((l) => l.startsWith('failure')), 5000, 'a failed reconnect');
    fox = await startFox(port);
    await until(() => log.filter((l) => l === 'join').length === 2, 10_000, 'rejoin');

    c = await caller();
    assert.equal((await c.call('com.example.double', [50])).args[0], 100);
    await c.publish('com.example.feed', ['two'], {}, { acknowledge: true });
    await until(() => events.length === 2, 3000, 'event after restart');
    assert.deepEqual(events, ['one', 'two']);
    assert.deepEqual(log.slice(0, 3), ['join', 'leave wamp.close.transport_lost', 'disconnect 100']);
    assert.equal(log.at(-1), 'join');
    await c.leave();
    assert.equal((await component.stop()).reason, 'stopped');
  } finally {
    await component.stop();
    await stopFox(fox);
  }
});

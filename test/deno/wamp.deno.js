// The WAMP client under Deno, importing `autostrada` as a Deno user with an
// npm install does, against our Node router (--router=ws://…/ws, started by
// test/deno/deno.test.ts, which also registered `node.echo` there from Node).
// Transports: Deno's own global WebSocket (connectWebSocket's default) and
// our Deno WebSocket client (`connect`, which can send custom headers).

import { ApplicationError, Component, Session, WebSocketTransport, connect, connectWebSocket } from 'autostrada';

const args = Object.fromEntries(
  Deno.args.map((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [m[1], m[2]] : [a, ''];
  }),
);
const ROUTER = args.router;
if (!ROUTER) throw new Error('run me from test/deno/deno.test.ts (--router is required)');

function assertEquals(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

const join = async () => Session.join(await connectWebSocket(ROUTER), 'realm1');

Deno.test('WAMP under Deno: RPC both ways with a Node peer, binary payloads', async () => {
  const s = await join();
  const echoed = await s.call('node.echo', [1, 'two', { three: [3] }, new Uint8Array([0, 255])], { k: 'v' });
  assertEquals(echoed.args.slice(0, 3), [1, 'two', { three: [3] }], 'args');
  assertEquals(Array.from(echoed.args[3]), [0, 255], 'binary in JSON');
  assertEquals(echoed.kwargs, { k: 'v' }, 'kwargs');
  await s.register('deno.add', (a) => a[0] + a[1]);
  const other = await join();
  assertEquals((await other.call('deno.add', [20, 22])).args[0], 42, 'Deno callee');
  await other.leave();
  await s.leave();
});

Deno.test('WAMP under Deno: PubSub, application errors, progressive results, cancelling', async () => {
  const a = await join();
  const b = await join();
  const got = new Promise((resolve) => b.subscribe('deno.topic', (x) => resolve(x[0])));
  await new Promise((r) => setTimeout(r, 20));
  await a.publish('deno.topic', ['hi'], {}, { acknowledge: true });
  assertEquals(await got, 'hi', 'event');

  await a.register('deno.fail', () => {
    throw new ApplicationError('com.example.oops', [1], { why: 'because' });
  });
  try {
    await b.call('deno.fail');
    throw new Error('no error');
  } catch (e) {
    if (!(e instanceof ApplicationError)) throw e;
    assertEquals([e.uri, e.args, e.kwargs], ['com.example.oops', [1], { why: 'because' }], 'application error');
  }

  await a.register('deno.count', async (x, _kw, details) => {
    for (let i = 1; i < x[0]; i++) await details.sendProgress?.([i]);
    return x[0];
  });
  const call = b.callProgressive('deno.count', [4]);
  const seen = [];
  for await (const r of call) seen.push(r.args[0]);
  seen.push((await call.result).args[0]);
  assertEquals(seen, [1, 2, 3, 4], 'progressive results');

  let interrupted = false;
  await a.register('deno.slow', (_x, _kw, details) => new Promise((resolve) => details.signal.addEventListener('abort', () => {
    interrupted = true;
    resolve(null);
  })));
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 30);
  try {
    await b.call('deno.slow', [], {}, { signal: abort.signal, cancelMode: 'kill' });
    throw new Error('not canceled');
  } catch (e) {
    assertEquals(e.uri, 'wamp.error.canceled', 'cancel');
  }
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(interrupted, true, 'the callee saw INTERRUPT as an abort');
  await a.leave();
  await b.leave();
});

Deno.test('WAMP under Deno over our Deno WebSocket client (custom headers), and a Component', async () => {
  const ws = await connect(ROUTER, ['wamp.2.json'], { headers: { 'x-from': 'deno' } });
  const s = await Session.join(new WebSocketTransport(ws), 'realm1');
  assertEquals((await s.call('node.echo', ['via connect'])).args, ['via connect'], 'our client');
  await s.leave();

  const c = new Component({ transports: [{ url: ROUTER }], realm: 'realm1', registrations: { 'deno.component': () => 'declared' } });
  await c.start();
  const probe = await join();
  assertEquals((await probe.call('deno.component')).args[0], 'declared', 'component registration');
  await probe.leave();
  await c.stop();
});

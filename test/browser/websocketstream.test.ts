/**
 * WAMP over Chromium's WebSocketStream (src/wamp/transports/websocketstream.ts)
 * against our router: every serializer, authentication, backpressure on the
 * send side, the limits, the close paths, connect failures and reconnection.
 *
 * The transport is not in dist/ until src/index.ts exports it, so the page
 * loads a test bundle built here from src/ (the full UMD entry plus the
 * transport, an IIFE with global `Autostrada`, the same no-eval codecs as the
 * release build). Once dist/autostrada.umd.min.js exports
 * `connectWampWebSocketStream`, the last test runs it from there too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { rollup, type Plugin } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjsPlugin from '@rollup/plugin-commonjs';
import ts from 'typescript';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { BrowserFixture, closedPort, ROOT, TestPage, expectedBasics, requireDist, withoutTiming } from './fixture.js';
import { reconnectScenario } from './reconnect.js';

// The package's types give NodeNext a namespace for the default export; at run time it is the plugin factory.
const commonjs = commonjsPlugin as unknown as () => Plugin;

let fx: BrowserFixture;
let browser: Browser;
/** Accepts TCP connections and never answers the WebSocket handshake. */
let silent: Server;
const silentSockets = new Set<Socket>();

/** src/umd-full.ts + the WebSocketStream transport, as one IIFE (global `Autostrada`). */
async function buildTestBundle(): Promise<string> {
  const ENTRY = '\0wss-test-entry';
  const fromSrc: Plugin = {
    name: 'typescript-from-src',
    resolveId(source, importer) {
      if (source === ENTRY) return ENTRY;
      // Our sources import './x.js' meaning './x.ts'.
      if (importer && importer.endsWith('.ts') && source.startsWith('.') && source.endsWith('.js')) {
        const ts = join(importer, '..', source.replace(/\.js$/, '.ts'));
        if (existsSync(ts)) return ts;
      }
      return null;
    },
    load(id) {
      if (id !== ENTRY) return null;
      return [
        `export * from ${JSON.stringify(join(ROOT, 'src/umd-full.ts'))};`,
        `export { connectWampWebSocketStream, WebSocketStreamTransport } from ${JSON.stringify(join(ROOT, 'src/wamp/transports/websocketstream.ts'))};`,
      ].join('\n');
    },
    transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true, sourceMap: false },
      });
      return { code: out.outputText, map: null };
    },
  };
  // As rollup.config.mjs: the codecs' no-eval variants.
  const noEval: Plugin = {
    name: 'no-eval-codecs',
    resolveId(id) {
      if (id === 'msgpackr') return this.resolve('msgpackr/index-no-eval', join(ROOT, 'src/index.ts'), { skipSelf: true });
      if (id === 'cbor-x') return this.resolve('cbor-x/index-no-eval', join(ROOT, 'src/index.ts'), { skipSelf: true });
      return null;
    },
  };
  const bundle = await rollup({
    input: ENTRY,
    plugins: [fromSrc, noEval, nodeResolve({ browser: true, preferBuiltins: false, rootDir: ROOT }), commonjs()],
    onwarn(w, warn) {
      if (w.code !== 'CIRCULAR_DEPENDENCY' && w.code !== 'THIS_IS_UNDEFINED') warn(w);
    },
  });
  try {
    const { output } = await bundle.generate({ format: 'iife', name: 'Autostrada' });
    return output[0].code;
  } finally {
    await bundle.close();
  }
}

before(async () => {
  requireDist(['dist/autostrada.umd.min.js']);
  const code = await buildTestBundle();
  fx = await BrowserFixture.start({ 'wss-bundle.js': code });
  silent = createServer((s) => {
    silentSockets.add(s);
    s.on('close', () => silentSockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of silentSockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await fx?.close();
});

const WSS = 'websocketstream';

test('Chromium has WebSocketStream', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  assert.equal(await page.page.evaluate(() => typeof (globalThis as unknown as { WebSocketStream?: unknown }).WebSocketStream), 'function');
  await page.close();
});

for (const serializer of ['json', 'msgpack', 'cbor'] as const) {
  test(`WebSocketStream (${serializer}): RPC, PubSub, progressive results, cancel, 4 MiB binary, leave`, async () => {
    const page = await TestPage.open(browser, fx.url('wss.html'));
    const r = await page.run('basics', { transport: WSS, serializers: [serializer] });
    assert.deepEqual(withoutTiming(r), expectedBasics(`wamp.2.${serializer}`));
    page.assertNoErrors();
    await page.close();
  });
}

test('WebSocketStream (batched subprotocols): wamp.2.json.batched and wamp.2.msgpack.batched', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  for (const [serializer, protocol] of [['json', 'wamp.2.json.batched'], ['msgpack', 'wamp.2.msgpack.batched']] as const) {
    const r = await page.run('basics', { transport: WSS, serializers: [serializer], protocols: [protocol], binarySize: 256 * 1024 });
    assert.deepEqual(withoutTiming(r), expectedBasics(protocol, 256 * 1024));
  }
  page.assertNoErrors();
  await page.close();
});

test('WebSocketStream: every browser auth method', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  const c = fx.credentials;
  const cases: [Record<string, unknown>, string[]][] = [
    [{ method: 'ticket', ...c.ticket }, ['joe', 'user', 'ticket']],
    [{ method: 'wampcra', ...c.cra }, ['peter', 'user', 'wampcra']],
    [{ method: 'wampcra', ...c.craSalted }, ['salty', 'admin', 'wampcra']],
    [{ method: 'cryptosign', ...c.cryptosign }, ['alice', 'device', 'cryptosign']],
    [{ method: 'wamp-scram', ...c.scram }, ['user', 'frontend', 'wamp-scram']],
    [{ method: 'scram', ...c.scramAutobahn }, ['user', 'frontend', 'scram']],
  ];
  for (const [auth, [authid, authrole, authmethod]] of cases) {
    const who = await page.run('auth', { transport: WSS, serializers: ['cbor'], auth });
    assert.deepEqual(who, { authid, authrole, authmethod, add: 42 }, String(auth.method));
  }
  page.assertNoErrors();
  await page.close();
});

// 120 × 64 KiB (≈ 10.5 MB as base64 JSON): below the router's 16 MiB per-session
// send buffer even if the Node consumer falls behind on a loaded machine (WAMP
// has no end-to-end flow control; above it the router would rightly drop the session).
test('WebSocketStream: sendProgress waits on the writer — 7.5 MiB of progressive results with at most ~one message over the 64 KiB high-water mark queued', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  const r = await page.run<{ peakBuffered: number }>('sendProgressFlow', { transport: WSS, chunks: 120, chunkSize: 64 * 1024, highWaterMark: 64 * 1024 });
  const { peakBuffered, ...rest } = r;
  assert.deepEqual(rest, { count: 120, inOrder: true, bytes: 120 * 64 * 1024, final: 'end' });
  // One message is 64 KiB as base64 in JSON (~88 KB): queued bytes never go far past mark + message.
  assert.ok(peakBuffered > 0 && peakBuffered <= 64 * 1024 + 2 * 90_000, `peak bufferedAmount ${peakBuffered}`);
  console.log(`sendProgress over WebSocketStream: peak bufferedAmount ${peakBuffered} B`);
  page.assertNoErrors();
  await page.close();
});

test('WebSocketStream: bufferedAmount counts a queued 8 MiB message and returns to 0', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  const r = await page.run('bufferedAmount', { transport: WSS, size: 8 * 1024 * 1024 });
  assert.deepEqual(r, { before: 0, queuedAtLeastSize: true, after: 0, echoed: 8 * 1024 * 1024 });
  page.assertNoErrors();
  await page.close();
});

test('WebSocketStream: limits — a message above maxMessageSize, or more than maxBufferedBytes to send, ends the transport (WAMP_ERR_BUFFER_OVERFLOW)', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  const big = await page.run('tooBig', { transport: WSS, maxMessageSize: 16 * 1024, size: 64 * 1024 });
  assert.deepEqual(big, { call: 'WAMP_ERR_SESSION_CLOSED', reason: 'wamp.close.transport_lost', code: 1009, error: 'WAMP_ERR_BUFFER_OVERFLOW', isOpen: false });
  const overflow = await page.run('sendOverflow', { transport: WSS, maxBufferedBytes: 100_000, size: 1024 * 1024 });
  assert.deepEqual(overflow, { call: 'WAMP_ERR_SESSION_CLOSED', reason: 'wamp.close.transport_lost', code: 1009, error: 'WAMP_ERR_BUFFER_OVERFLOW' });
  page.assertNoErrors();
  await page.close();
});

test('WebSocketStream: the router killing the session closes it with the given reason', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  const r = await page.run('killedByRouter', { transport: WSS });
  assert.deepEqual(r, { reason: 'test.kicked', isOpen: false });
  page.assertNoErrors();
  await page.close();
});

test('WebSocketStream: connect failures — refused, timeout, aborted, protocol of no serializer, no WebSocketStream', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  const port = (silent.address() as { port: number }).port;
  const refused = await page.run('connectFails', { transport: WSS, options: { url: `ws://127.0.0.1:${await closedPort()}/ws`, timeout: 5000 } });
  assert.deepEqual([refused.code, refused.uri], ['WAMP_ERR_CONNECT', 'wamp.close.transport_lost']);
  const timedOut = await page.run('connectFails', { transport: WSS, options: { url: `ws://127.0.0.1:${port}/ws`, timeout: 300 } });
  assert.equal(timedOut.code, 'WAMP_ERR_CONNECT');
  assert.match(String(timedOut.message), /within 300 ms/);
  const aborted = await page.run<{ before: string[]; during: string[]; ms: number }>('abortedConnect', { transport: WSS, url: `ws://127.0.0.1:${port}/ws` });
  assert.deepEqual(aborted.before, ['WAMP_ERR_CONNECT', 'connecting was aborted']);
  assert.deepEqual(aborted.during, ['WAMP_ERR_CONNECT', 'connecting was aborted']);
  assert.ok(aborted.ms < 5000, `the abort took effect at once (${aborted.ms} ms)`);
  const badProtocol = await page.run('connectFails', { transport: WSS, options: { serializers: ['json'], protocols: ['wamp.2.cbor'] } });
  assert.deepEqual([badProtocol.code, badProtocol.uri], ['WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument']);
  const missing = await page.run('withoutWebSocketStream');
  assert.equal(missing.code, 'WAMP_ERR_CONNECT');
  assert.match(String(missing.message), /no WebSocketStream/);
  page.assertNoErrors(/WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed/);
  await page.close();
});

test('WebSocketStream: the page rejoins and re-subscribes after the router restarts on the same port', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  await reconnectScenario(fx, page, { transport: WSS, serializers: ['cbor'] });
  page.assertNoErrors(/WebSocket connection to .* failed/);
  await page.close();
});

test('WebSocketStream: Component with a WebSocketStream transport factory rejoins after the router restarts', async () => {
  const page = await TestPage.open(browser, fx.url('wss.html'));
  assert.equal(await page.page.evaluate(() => typeof (window as unknown as { Autostrada: Record<string, unknown> }).Autostrada.Component), 'function');
  await reconnectScenario(fx, page, { transport: WSS, serializers: ['json'], with: 'component' });
  page.assertNoErrors(/WebSocket connection to .* failed/);
  await page.close();
});

test('dist/autostrada.full.umd.min.js over WebSocketStream (autostrada/websocketstream is in the full build)', async () => {
  assert.ok(readFileSync(join(ROOT, 'dist/autostrada.full.umd.js'), 'utf8').includes('connectWampWebSocketStream'));
  const page = await TestPage.open(browser, fx.url('umd-full.html'));
  const r = await page.run('basics', { transport: WSS, serializers: ['json'] });
  assert.deepEqual(withoutTiming(r), expectedBasics('wamp.2.json'));
  page.assertNoErrors();
  await page.close();
});

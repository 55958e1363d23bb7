/**
 * The ESM build (dist/browser) in Chromium without a bundler: `<script
 * type="module">` importing 'autostrada', 'autostrada/msgpack', '/cbor' and
 * '/auth', with an import map for its bare dependencies (msgpackr, cbor-x,
 * @noble/*, pako) served from node_modules. Over the native WebSocket: every
 * serializer, every browser-capable auth method, a refused connection, and
 * reconnection after the router restarts.
 *
 * Needs `npm run build`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { BrowserFixture, closedPort, TestPage, expectedBasics, requireDist, withoutTiming } from './fixture.js';
import { reconnectScenario } from './reconnect.js';

let fx: BrowserFixture;
let browser: Browser;

before(async () => {
  requireDist(['dist/browser/index.js', 'dist/browser/msgpack.js', 'dist/browser/cbor.js', 'dist/browser/auth.js']);
  fx = await BrowserFixture.start();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await fx?.close();
});

for (const serializer of ['json', 'msgpack', 'cbor'] as const) {
  test(`ESM + import map (${serializer}): RPC, PubSub, progressive results, cancel, 4 MiB binary`, async () => {
    const page = await TestPage.open(browser, fx.url('esm.html'));
    const r = await page.run('basics', { transport: 'websocket', serializers: [serializer] });
    assert.deepEqual(withoutTiming(r), expectedBasics(`wamp.2.${serializer}`));
    page.assertNoErrors();
    await page.close();
  });
}

test('ESM: the client offers several serializers, the router picks its preferred (CBOR)', async () => {
  const page = await TestPage.open(browser, fx.url('esm.html'));
  const r = await page.run('basics', { transport: 'websocket', serializers: ['json', 'msgpack', 'cbor'], binarySize: 1024 });
  assert.deepEqual(withoutTiming(r), expectedBasics('wamp.2.cbor', 1024));
  page.assertNoErrors();
  await page.close();
});

test('ESM: ticket, wampcra (plain and salted), cryptosign, wamp-scram, scram from autostrada/auth', async () => {
  const page = await TestPage.open(browser, fx.url('esm.html'));
  const c = fx.credentials;
  const cases: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ method: 'ticket', ...c.ticket }, { authid: 'joe', authrole: 'user', authmethod: 'ticket', add: 42 }],
    [{ method: 'wampcra', ...c.cra }, { authid: 'peter', authrole: 'user', authmethod: 'wampcra', add: 42 }],
    [{ method: 'wampcra', ...c.craSalted }, { authid: 'salty', authrole: 'admin', authmethod: 'wampcra', add: 42 }],
    [{ method: 'cryptosign', ...c.cryptosign }, { authid: 'alice', authrole: 'device', authmethod: 'cryptosign', add: 42 }],
    // Cryptosign without an authid: the router finds the principal by the key.
    [{ method: 'cryptosign', privateKeyHex: c.cryptosign.privateKeyHex }, { authid: 'alice', authrole: 'device', authmethod: 'cryptosign', add: 42 }],
    [{ method: 'wamp-scram', ...c.scram }, { authid: 'user', authrole: 'frontend', authmethod: 'wamp-scram', add: 42 }],
    [{ method: 'scram', ...c.scramAutobahn }, { authid: 'user', authrole: 'frontend', authmethod: 'scram', add: 42 }],
  ];
  for (const [auth, want] of cases) {
    const who = await page.run('auth', { transport: 'websocket', serializers: ['msgpack'], auth });
    assert.deepEqual(who, want, String(auth.method));
  }
  const wrong = await page.run('authFails', { transport: 'websocket', serializers: ['json'], auth: { method: 'wamp-scram', authid: 'user', secret: 'pen' } });
  assert.deepEqual([wrong.code, wrong.uri], ['WAMP_ERR_JOIN_ABORTED', 'wamp.error.authentication_failed']);
  page.assertNoErrors();
  await page.close();
});

test('ESM: connecting to a closed port fails with WAMP_ERR_CONNECT; a protocol of no given serializer is refused', async () => {
  const page = await TestPage.open(browser, fx.url('esm.html'));
  const refused = await page.run('connectFails', { transport: 'websocket', options: { url: `ws://127.0.0.1:${await closedPort()}/ws`, timeout: 5000 } });
  assert.deepEqual([refused.code, refused.uri], ['WAMP_ERR_CONNECT', 'wamp.close.transport_lost']);
  const badProtocol = await page.run('connectFails', { transport: 'websocket', options: { serializers: ['json'], protocols: ['wamp.2.cbor'] } });
  assert.deepEqual([badProtocol.code, badProtocol.uri], ['WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument']);
  page.assertNoErrors(/WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed/);
  await page.close();
});

test('ESM: the page rejoins and re-subscribes after the router restarts on the same port', async () => {
  const page = await TestPage.open(browser, fx.url('esm.html'));
  await reconnectScenario(fx, page, { transport: 'websocket', serializers: ['msgpack'] });
  page.assertNoErrors(/WebSocket connection to .* failed/);
  await page.close();
});

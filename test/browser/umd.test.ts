/**
 * The <script> builds in Chromium against our router, over the browser's
 * native WebSocket: dist/autostrada.umd.min.js (JSON, ticket) and
 * dist/autostrada.full.umd.min.js (MessagePack, CBOR, every auth method),
 * both under a strict Content-Security-Policy (no eval, no inline script).
 * RPC, PubSub, progressive results, cancel, 4 MiB binary round trips,
 * authentication, and reconnection after the router restarts on the same port.
 *
 * Needs `npm run build`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { BrowserFixture, TestPage, expectedBasics, requireDist, withoutTiming } from './fixture.js';
import { reconnectScenario } from './reconnect.js';

let fx: BrowserFixture;
let browser: Browser;

before(async () => {
  requireDist(['dist/autostrada.umd.min.js', 'dist/autostrada.full.umd.min.js']);
  fx = await BrowserFixture.start();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await fx?.close();
});

test('UMD (JSON): RPC, PubSub, progressive results, cancel, 4 MiB binary, leave', async () => {
  const page = await TestPage.open(browser, fx.url('umd.html'));
  const r = await page.run('basics', { transport: 'websocket', serializers: ['json'] });
  assert.deepEqual(withoutTiming(r), expectedBasics('wamp.2.json'));
  page.assertNoErrors();
  await page.close();
});

test('UMD (JSON batched subprotocol): the same over wamp.2.json.batched', async () => {
  const page = await TestPage.open(browser, fx.url('umd.html'));
  const r = await page.run('basics', { transport: 'websocket', serializers: ['json'], protocols: ['wamp.2.json.batched'], binarySize: 64 * 1024 });
  assert.deepEqual(withoutTiming(r), expectedBasics('wamp.2.json.batched', 64 * 1024));
  page.assertNoErrors();
  await page.close();
});

test('UMD: ticket authentication; a wrong ticket is refused with wamp.error.not_authorized', async () => {
  const page = await TestPage.open(browser, fx.url('umd.html'));
  const t = fx.credentials.ticket;
  const who = await page.run('auth', { transport: 'websocket', serializers: ['json'], auth: { method: 'ticket', ...t } });
  assert.deepEqual(who, { authid: 'joe', authrole: 'user', authmethod: 'ticket', add: 42 });
  const bad = await page.run('authFails', { transport: 'websocket', serializers: ['json'], auth: { method: 'ticket', authid: t.authid, secret: 'wrong' } });
  assert.equal(bad.code, 'WAMP_ERR_JOIN_ABORTED');
  // As Crossbar: a wrong ticket is wamp.error.not_authorized (src/router/auth.ts).
  assert.equal(bad.uri, 'wamp.error.not_authorized');
  // The main build carries no challenge-response crypto: those live in the full build / autostrada/auth.
  const hasCra = await page.page.evaluate(() => typeof (window as unknown as { Autostrada: Record<string, unknown> }).Autostrada.wampcra);
  assert.equal(hasCra, 'undefined');
  page.assertNoErrors();
  await page.close();
});

for (const serializer of ['msgpack', 'cbor'] as const) {
  test(`full UMD (${serializer}): RPC, PubSub, progressive results, cancel, 4 MiB binary, under a no-eval CSP`, async () => {
    const page = await TestPage.open(browser, fx.url('umd-full.html'));
    const r = await page.run('basics', { transport: 'websocket', serializers: [serializer] });
    assert.deepEqual(withoutTiming(r), expectedBasics(`wamp.2.${serializer}`));
    page.assertNoErrors();
    await page.close();
  });
}

test('full UMD: wampcra (plain and salted), cryptosign, wamp-scram (PBKDF2), scram (Argon2id, Autobahn dialect)', async () => {
  const page = await TestPage.open(browser, fx.url('umd-full.html'));
  const c = fx.credentials;
  const cases: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ method: 'wampcra', ...c.cra }, { authid: 'peter', authrole: 'user', authmethod: 'wampcra', add: 42 }],
    [{ method: 'wampcra', ...c.craSalted }, { authid: 'salty', authrole: 'admin', authmethod: 'wampcra', add: 42 }],
    [{ method: 'cryptosign', ...c.cryptosign }, { authid: 'alice', authrole: 'device', authmethod: 'cryptosign', add: 42 }],
    [{ method: 'wamp-scram', ...c.scram }, { authid: 'user', authrole: 'frontend', authmethod: 'wamp-scram', add: 42 }],
    [{ method: 'scram', ...c.scramAutobahn }, { authid: 'user', authrole: 'frontend', authmethod: 'scram', add: 42 }],
  ];
  for (const [auth, want] of cases) {
    for (const serializer of ['json', 'cbor']) {
      const who = await page.run('auth', { transport: 'websocket', serializers: [serializer], auth });
      assert.deepEqual(who, want, `${String(auth.method)} over ${serializer}`);
    }
  }
  const wrong = await page.run('authFails', { transport: 'websocket', serializers: ['msgpack'], auth: { method: 'wampcra', authid: 'salty', secret: 'nope' } });
  assert.deepEqual([wrong.code, wrong.uri], ['WAMP_ERR_JOIN_ABORTED', 'wamp.error.authentication_failed']);
  const wrongKey = await page.run('authFails', {
    transport: 'websocket',
    serializers: ['json'],
    auth: { method: 'cryptosign', authid: 'alice', privateKeyHex: '11'.repeat(32) },
  });
  assert.deepEqual([wrongKey.code, wrongKey.uri], ['WAMP_ERR_JOIN_ABORTED', 'wamp.error.authentication_failed']);
  page.assertNoErrors();
  await page.close();
});

test('UMD: the page rejoins and re-subscribes after the router restarts on the same port (RetryPolicy loop)', async () => {
  const page = await TestPage.open(browser, fx.url('umd.html'));
  await reconnectScenario(fx, page, { transport: 'websocket', serializers: ['json'] });
  // While the router is down Chromium logs each refused connection attempt.
  page.assertNoErrors(/WebSocket connection to .* failed/);
  await page.close();
});

test('UMD: Component rejoins, re-registers and re-subscribes after the router restarts', async () => {
  const page = await TestPage.open(browser, fx.url('umd.html'));
  assert.equal(await page.page.evaluate(() => typeof (window as unknown as { Autostrada: Record<string, unknown> }).Autostrada.Component), 'function');
  await reconnectScenario(fx, page, { transport: 'websocket', serializers: ['json'], with: 'component' });
  page.assertNoErrors(/WebSocket connection to .* failed/);
  await page.close();
});

/**
 * Web Streams are optional for the browser client: the only use in the
 * 'autostrada' entry is ProgressiveCall.toReadableStream(). A page whose
 * ReadableStream & co. are deleted still connects, calls and iterates
 * progressive results; toReadableStream() then needs web-streams-polyfill,
 * which the user loads first (docs/BROWSER.md). test/build/size.test.ts checks
 * that no bundle of ours carries the polyfill.
 *
 * Needs `npm run build`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { BrowserFixture, TestPage, requireDist } from './fixture.js';

let fx: BrowserFixture;
let browser: Browser;

before(async () => {
  requireDist(['dist/autostrada.umd.min.js']);
  fx = await BrowserFixture.start();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await fx?.close();
});

test('without Web Streams: connect, call and iterate progressive results work; only toReadableStream() needs them', async () => {
  const page = await TestPage.open(browser, fx.url('no-streams.html'));
  assert.equal(await page.page.evaluate(() => (window as unknown as { nativeStreamsDeleted: boolean }).nativeStreamsDeleted), true);
  const r = await page.run('progressiveWithoutNativeStreams', { transport: 'websocket' });
  assert.deepEqual(r, { iterated: [0, 1, 2], final: 'done', streamed: null, streamError: 'ReferenceError: ReadableStream is not defined' });
  page.assertNoErrors();
  await page.close();
});

test('with web-streams-polyfill loaded first: toReadableStream() works on the polyfill', async () => {
  const page = await TestPage.open(browser, fx.url('polyfill.html'));
  const native = await page.page.evaluate(() => ({
    deleted: (window as unknown as { nativeStreamsDeleted: boolean }).nativeStreamsDeleted,
    polyfilled: typeof ReadableStream === 'function' && !/\[native code\]/.test(Function.prototype.toString.call(ReadableStream)),
  }));
  assert.deepEqual(native, { deleted: true, polyfilled: true });
  const r = await page.run('progressiveWithoutNativeStreams', { transport: 'websocket' });
  assert.deepEqual(r, { iterated: [0, 1, 2], final: 'done', streamed: [0, 1], streamError: null });
  page.assertNoErrors();
  await page.close();
});

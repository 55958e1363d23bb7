/**
 * The demo as users see it: the router serves the page and the UMD bundle;
 * two browser contexts (two users) see each other's chat messages, counter
 * clicks and whiteboard strokes, and the router statistics update. Takes the
 * screenshot (docs/demo.png with UPDATE_SCREENSHOT=1). Needs `npm run build` (the UMD bundle).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { Router } from '../../src/router/server.js';
import { routerSetup } from '../../src/cli/router-command.js';
import { startDemoBackend } from '../../src/router/demo-backend.js';
import { launchChromium } from '../helpers/browser.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let router: Router;
let stopDemo: () => Promise<void>;
let browser: Browser;
let url = '';

before(async () => {
  assert.ok(existsSync(join(ROOT, 'dist/autostrada.umd.min.js')), 'run `npm run build` first');
  const setup = routerSetup({ port: 0 });
  router = new Router(setup.router);
  const { port } = await router.listen(setup.listen);
  stopDemo = await startDemoBackend(router, 'realm1');
  url = `http://127.0.0.1:${port}/`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stopDemo?.();
  await router?.close();
});

async function openDemo(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  assert.deepEqual(errors, []);
  return page;
}

test('two users see each other: chat, counter, whiteboard, router statistics', async () => {
  const alice = await openDemo();
  const bob = await openDemo();
  assert.match(await alice.textContent('#status') ?? '', /connected · session \d+/);

  // Chat (PubSub): Alice writes, Bob reads.
  await alice.fill('#chat-name', 'alice');
  await alice.fill('#chat-text', 'hello from alice');
  await alice.click('#chat-form button[type=submit]');
  await bob.waitForFunction(() => document.querySelector('#chat-log')?.textContent?.includes('hello from alice'));
  assert.match(await alice.textContent('#chat-log li.mine') ?? '', /alice.*hello from alice/);

  // Counter (RPC + events): Bob clicks, Alice sees the value.
  const before = Number(await alice.textContent('#counter-value'));
  await bob.click('#counter-inc');
  await bob.click('#counter-inc');
  await alice.waitForFunction((v) => Number(document.querySelector('#counter-value')?.textContent) === v, before + 2);
  await alice.click('#counter-dec');
  await bob.waitForFunction((v) => Number(document.querySelector('#counter-value')?.textContent) === v, before + 1);

  // Whiteboard: Alice draws, pixels appear on Bob's canvas.
  const box = await alice.locator('#board').boundingBox();
  assert.ok(box);
  await alice.mouse.move(box.x + 40, box.y + 40);
  await alice.mouse.down();
  for (let i = 1; i <= 20; i++) await alice.mouse.move(box.x + 40 + i * 15, box.y + 40 + i * 6);
  await alice.mouse.up();
  await bob.waitForFunction(() => {
    const c = document.querySelector('#board') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
    return false;
  }, undefined, { timeout: 10_000 });

  // Statistics: two browser sessions plus the backend, and traffic counted.
  await alice.waitForFunction(() => Number(document.querySelector('#stat-sessions')?.textContent) >= 3, undefined, { timeout: 5_000 });

  // A late joiner gets the history: chat, counter value, strokes.
  const carol = await openDemo();
  assert.match(await carol.textContent('#chat-log') ?? '', /hello from alice/);
  assert.equal(Number(await carol.textContent('#counter-value')), before + 1);

  await alice.waitForTimeout(1200); // one more stats tick for the chart
  // UPDATE_SCREENSHOT=1 refreshes the one in docs/; otherwise it goes to the temp dir.
  const shot = process.env.UPDATE_SCREENSHOT ? join(ROOT, 'docs/demo.png') : join(tmpdir(), 'autostrada-demo.png');
  await alice.screenshot({ path: shot });
});

test('bad input from a page does not reach others: invalid counter delta is an error, malformed strokes are ignored', async () => {
  const page = await openDemo();
  const result = await page.evaluate(async () => {
    const { Session, connectWebSocket } = (globalThis as unknown as { Autostrada: typeof import('../../src/index.js') }).Autostrada;
    const s = await Session.join(await connectWebSocket(`ws://${location.host}/ws`), 'realm1');
    let uri = '';
    try {
      await s.call('demo.counter.add', [1e9]);
    } catch (e) {
      uri = (e as { uri: string }).uri;
    }
    await s.publish('demo.board.stroke', [{ color: 'javascript:alert(1)', width: 1e6, points: 'x' }], {}, { acknowledge: true });
    const strokes = await s.call('demo.board.get');
    await s.leave();
    return { uri, bad: (strokes.args[0] as Array<{ color: string }>).filter((x) => !/^#[0-9a-f]{6}$/i.test(x.color)).length };
  });
  assert.deepEqual(result, { uri: 'wamp.error.invalid_argument', bad: 0 });
});

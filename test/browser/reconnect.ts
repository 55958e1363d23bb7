/**
 * Reconnection as a user sees it: the page keeps a session with a RetryPolicy
 * loop (test/browser/pages/scenario.js `startKeeper`); the router stops and a
 * new one starts on the same port; the page rejoins, registers and subscribes
 * again, and both directions work on the new router.
 */
import assert from 'node:assert/strict';
import type { BrowserFixture, TestPage } from './fixture.js';

async function waitForJoins(page: TestPage, what: string, joins: number, timeoutMs = 20_000): Promise<void> {
  try {
    // A function, not a string: the pages' CSP forbids eval.
    await page.page.waitForFunction((n) => (window as unknown as { keeper: { joins: number } }).keeper.joins >= n, joins, { timeout: timeoutMs, polling: 50 });
  } catch (err) {
    const state = await page.page.evaluate(() => JSON.stringify((window as unknown as { keeper?: unknown }).keeper ?? null, (k, v) => (k === 'session' ? undefined : v)));
    throw new Error(`${what}: ${String(err)}\nkeeper: ${state}\n${page.errors.join('\n')}`);
  }
}

/** Publishes on test.ticks until the page has seen `value` (the subscription may be a moment behind the registration). */
async function tickUntilSeen(fx: BrowserFixture, page: TestPage, value: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await fx.backend.session.publish('test.ticks', [value], {}, { acknowledge: true });
    const seen = await page.page.evaluate((v) => (window as unknown as { keeper: { events: string[] } }).keeper.events.includes(v), value);
    if (seen) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the page never received the event '${value}'`);
}

/**
 * @param options.with - 'retry' (a RetryPolicy loop in the page) or 'component' (the library's Component)
 */
export async function reconnectScenario(
  fx: BrowserFixture,
  page: TestPage,
  options: { transport: string; serializers: string[]; with?: 'retry' | 'component' },
): Promise<void> {
  const { with: how = 'retry', ...arg } = options;
  await page.run(how === 'component' ? 'startComponent' : 'startKeeper', arg);
  await waitForJoins(page, 'first join', 1);
  await tickUntilSeen(fx, page, 'before restart');
  const pong1 = await fx.backend.session.call('page.ping', ['one']);
  assert.equal(pong1.args[0], 'pong one from join 0');

  await fx.restart(500);
  await waitForJoins(page, 'rejoin after restart', 2);
  await tickUntilSeen(fx, page, 'after restart');
  const pong2 = await fx.backend.session.call('page.ping', ['two']);
  assert.equal(pong2.args[0], 'pong two from join 1');

  const end = await page.run<{ joins: number; events: string[]; closes: string[] }>('stopKeeper');
  assert.equal(end.joins, 2);
  assert.ok(end.events.includes('before restart') && end.events.includes('after restart'), JSON.stringify(end.events));
  // The old router said GOODBYE on shutdown; the second close is our own leave().
  assert.deepEqual(end.closes, ['wamp.close.system_shutdown', 'wamp.close.normal']);
}

/** Timeouts on one shared interval timer (src/core/deadlines.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deadlines, tickFor } from '../../../src/core/deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('items expire once, after their deadline and within a tick of it; deleted items never; set() moves a deadline', async () => {
  const expired: string[] = [];
  const d = new Deadlines<string>(10, (item) => expired.push(item));
  const t0 = Date.now();
  d.set('soon', t0 + 30);
  d.set('later', t0 + 150);
  d.set('dropped', t0 + 20);
  d.delete('dropped');
  await sleep(80);
  assert.deepEqual(expired, ['soon']);
  assert.equal(d.size, 1);
  d.set('later', Date.now() + 20);
  await sleep(60);
  assert.deepEqual(expired, ['soon', 'later']);
  assert.equal(d.size, 0);
});

test('an item set again from onExpire is tracked again; clear() forgets everything unexpired', async () => {
  let rounds = 0;
  const d: Deadlines<object> = new Deadlines<object>(5, (item) => {
    if (++rounds < 3) d.set(item, Date.now() + 5);
  });
  d.set({}, Date.now() + 5);
  await sleep(100);
  assert.equal(rounds, 3);
  let fired = 0;
  const e = new Deadlines<number>(5, () => fired++);
  e.set(1, Date.now() + 20);
  e.clear();
  await sleep(40);
  assert.equal(fired, 0);
  assert.equal(e.size, 0);
});

test('tickFor: a quarter of the shortest timeout, within [5 ms, 1 s]', () => {
  assert.equal(tickFor(10_000, 20_000, 5_000), 1000);
  assert.equal(tickFor(400, 20_000), 100);
  assert.equal(tickFor(8), 5);
});

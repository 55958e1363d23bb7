/** The router's shared timeout sweeper (src/router/deadlines.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineSweeper, tickFor, type Expiring } from '../../../src/router/deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Item implements Expiring {
  expired = 0;
  constructor(public deadline: number) {}
  expire(): void {
    this.expired++;
  }
}

test('items expire once, after their deadline and within a tick of it; deleted items never', async () => {
  const sweeper = new DeadlineSweeper<Item>(10);
  const t0 = Date.now();
  const soon = new Item(t0 + 30);
  const later = new Item(t0 + 120);
  const dropped = new Item(t0 + 20);
  for (const i of [soon, later, dropped]) sweeper.add(i);
  sweeper.delete(dropped);
  await sleep(70);
  assert.deepEqual([soon.expired, later.expired, dropped.expired], [1, 0, 0]);
  assert.equal(sweeper.size, 1);
  // Re-arming moves the deadline (the item is read at each tick).
  later.deadline = Date.now() + 20;
  sweeper.add(later);
  await sleep(60);
  assert.deepEqual([soon.expired, later.expired, dropped.expired], [1, 1, 0]);
  assert.equal(sweeper.size, 0);
});

test('an item re-added from expire() is tracked again; clear() forgets everything unexpired', async () => {
  const sweeper = new DeadlineSweeper<Item>(5);
  let rounds = 0;
  const again: Item = Object.assign(new Item(Date.now() + 5), {
    expire(this: Item) {
      this.expired++;
      if (++rounds < 3) {
        this.deadline = Date.now() + 5;
        sweeper.add(this);
      }
    },
  });
  sweeper.add(again);
  await sleep(80);
  assert.equal(again.expired, 3);
  const never = new Item(Date.now() + 20);
  sweeper.add(never);
  sweeper.clear();
  await sleep(40);
  assert.equal(never.expired, 0);
  assert.equal(sweeper.size, 0);
});

test('tickFor: a quarter of the shortest timeout, within [5 ms, 1 s]', () => {
  assert.equal(tickFor(10_000, 20_000, 5_000), 1000);
  assert.equal(tickFor(400, 20_000), 100);
  assert.equal(tickFor(8), 5);
});

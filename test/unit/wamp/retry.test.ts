import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY, RetryPolicy, retrySettings } from '../../../src/wamp/retry.js';

test('defaults are Autobahn|JS\'s', () => {
  assert.deepEqual(retrySettings(), {
    initial_retry_delay: 1.5,
    max_retry_delay: 300,
    retry_delay_growth: 1.5,
    retry_delay_jitter: 0.1,
    max_retries: 15,
  });
  assert.deepEqual(retrySettings({ max_retries: undefined }), DEFAULT_RETRY);
});

test('exponential growth capped at max_retry_delay, without jitter', () => {
  const p = new RetryPolicy({ initial_retry_delay: 1, max_retry_delay: 10, retry_delay_growth: 2, retry_delay_jitter: 0, max_retries: -1 });
  const got = Array.from({ length: 7 }, () => p.nextDelay());
  assert.deepEqual(got, [1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  assert.equal(p.attempts, 7);
});

test('jitter stays inside ± jitter × delay, and at the bounds for the extreme random values', () => {
  const lo = new RetryPolicy({ initial_retry_delay: 10, retry_delay_jitter: 0.2 }, () => 0);
  const hi = new RetryPolicy({ initial_retry_delay: 10, retry_delay_jitter: 0.2 }, () => 0.999999);
  assert.equal(lo.nextDelay(), 8000);
  assert.ok(Math.abs((hi.nextDelay() as number) - 12000) <= 1);
  const r = new RetryPolicy({ initial_retry_delay: 2, retry_delay_growth: 1, retry_delay_jitter: 0.1, max_retries: -1 });
  for (let i = 0; i < 1000; i++) {
    const d = r.nextDelay() as number;
    assert.ok(d >= 1800 && d <= 2200, `delay ${d} outside [1800, 2200]`);
  }
});

test('jitter never exceeds max_retry_delay nor goes below 0', () => {
  const p = new RetryPolicy({ initial_retry_delay: 5, max_retry_delay: 5, retry_delay_jitter: 1 }, () => 0.999);
  assert.equal(p.nextDelay(), 5000);
  const z = new RetryPolicy({ initial_retry_delay: 5, retry_delay_jitter: 1 }, () => 0);
  assert.equal(z.nextDelay(), 0);
});

test('max_retries: gives up after that many, reset() starts over', () => {
  const p = new RetryPolicy({ initial_retry_delay: 1, retry_delay_growth: 3, retry_delay_jitter: 0, max_retries: 2 });
  assert.equal(p.nextDelay(), 1000);
  assert.equal(p.nextDelay(), 3000);
  assert.equal(p.nextDelay(), null);
  assert.equal(p.nextDelay(), null);
  p.reset();
  assert.equal(p.nextDelay(), 1000);
  const never = new RetryPolicy({ max_retries: 0 });
  assert.equal(never.nextDelay(), null);
});

test('bad settings are refused with the setting named', () => {
  assert.throws(() => retrySettings({ initial_retry_delay: -1 }), /initial_retry_delay must be a number ≥ 0/);
  assert.throws(() => retrySettings({ initial_retry_delay: 10, max_retry_delay: 5 }), /max_retry_delay/);
  assert.throws(() => retrySettings({ retry_delay_growth: 0.5 }), /retry_delay_growth/);
  assert.throws(() => retrySettings({ retry_delay_jitter: 2 }), /retry_delay_jitter/);
  assert.throws(() => retrySettings({ max_retries: 1.5 }), /max_retries/);
  assert.throws(() => retrySettings({ initial_retry_delay: Number.NaN }), /initial_retry_delay/);
});

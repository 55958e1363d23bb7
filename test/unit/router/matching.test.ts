/** PatternMap: exact/prefix/wildcard storage, matchAll, and the best-match precedence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PatternMap } from '../../../src/router/matching.js';
import { MemoryRealmStore } from '../../../src/router/state.js';

test('get/set/delete per policy; size; values', () => {
  const m = new PatternMap<string>();
  m.set('a.b', 'exact', 'E');
  m.set('a.b', 'prefix', 'P');
  m.set('a..c', 'wildcard', 'W');
  assert.equal(m.size, 3);
  assert.deepEqual([m.get('a.b', 'exact'), m.get('a.b', 'prefix'), m.get('a..c', 'wildcard'), m.get('a.b', 'wildcard')], ['E', 'P', 'W', undefined]);
  assert.deepEqual([...m.values()].sort(), ['E', 'P', 'W']);
  assert.deepEqual([...m.values('prefix')], ['P']);
  assert.equal(m.delete('a..c', 'wildcard'), true);
  assert.equal(m.delete('a..c', 'wildcard'), false);
  assert.equal(m.size, 2);
});

test('matchAll finds every matching pattern; wildcards match whole components only', () => {
  const m = new PatternMap<string>();
  m.set('a.b.c', 'exact', 'exact');
  m.set('a.b', 'prefix', 'prefix');
  m.set('', 'prefix', 'everything');
  m.set('a..c', 'wildcard', 'wild');
  m.set('a.b.', 'wildcard', 'wild-last');
  assert.deepEqual([...m.matchAll('a.b.c')].sort(), ['everything', 'exact', 'prefix', 'wild', 'wild-last']);
  assert.deepEqual([...m.matchAll('a.x.c')].sort(), ['everything', 'wild']);
  assert.deepEqual([...m.matchAll('a.x.c.d')], ['everything']);
});

test('prefix lookups agree whichever side is smaller (many prefixes vs a short URI)', () => {
  const m = new PatternMap<number>();
  for (let i = 0; i < 50; i++) m.set(`p${i}`, 'prefix', i);
  m.set('a', 'prefix', 100);
  m.set('ab', 'prefix', 101);
  assert.deepEqual([...m.matchAll('abc')].sort(), [100, 101]);
  assert.equal(m.best('abc'), 101);
  const few = new PatternMap<number>();
  few.set('a', 'prefix', 100);
  few.set('ab', 'prefix', 101);
  assert.deepEqual([...few.matchAll('abc')].sort(), [100, 101]);
  assert.equal(few.best('abc'), 101);
});

test('best: exact > longest prefix > wildcard with the longest literal runs, left to right', () => {
  const m = new PatternMap<string>();
  m.set('a1.b2..d4.e5', 'wildcard', '4');
  m.set('a1.b2.c33..e5', 'wildcard', '5');
  m.set('a1.b2..d4.e5..g7', 'wildcard', '6');
  m.set('a1.b2..d4..f6.g7', 'wildcard', '7');
  assert.equal(m.best('a1.b2.c55.d4.e5'), '4');
  assert.equal(m.best('a1.b2.c33.d4.e5'), '5');
  assert.equal(m.best('a1.b2.c88.d4.e5.f6.g7'), '6');
  m.set('a1.b2', 'prefix', 'short');
  m.set('a1.b2.c3', 'prefix', 'long');
  assert.equal(m.best('a1.b2.c3.d4.e5'), 'long');
  assert.equal(m.best('a1.b2.c55.d4.e5'), 'short');
  m.set('a1.b2.c55.d4.e5', 'exact', 'exact');
  assert.equal(m.best('a1.b2.c55.d4.e5'), 'exact');
  assert.equal(m.best('zz'), undefined);
});

test('MemoryRealmStore: shared registrations pick callees by policy; unregister keeps round-robin order', () => {
  const s = new MemoryRealmStore();
  const callee = (session: number) => ({ session, discloseCaller: false, forwardTimeout: false });
  const r = s.register('p', 'exact', 'roundrobin', callee(1));
  assert.ok(typeof r !== 'string' && r.created);
  s.register('p', 'exact', 'roundrobin', callee(2));
  s.register('p', 'exact', 'roundrobin', callee(3));
  assert.equal(s.register('p', 'exact', 'first', callee(4)), 'wamp.error.procedure_already_exists');
  assert.equal(s.register('p', 'exact', 'roundrobin', callee(1)), 'wamp.error.procedure_already_exists');
  const id = (r as { record: { id: number } }).record.id;
  assert.deepEqual([s.pickCallees(id)[0], s.pickCallees(id)[0]], [1, 2]);
  s.unregister(id, 1);
  assert.deepEqual([s.pickCallees(id)[0], s.pickCallees(id)[0]], [3, 2]);
  s.unregister(id, 2);
  assert.deepEqual(s.unregister(id, 3)?.deleted, true);
  assert.equal(s.getRegistration(id), undefined);
});

test('MemoryRealmStore: retained events are bounded (oldest topic dropped)', () => {
  const s = new MemoryRealmStore(undefined, 2);
  const ev = (topic: string) => ({ topic, publication: 1, details: {}, audience: {}, publisher: 0, excludeMe: true });
  s.retain(ev('a'));
  s.retain(ev('b'));
  s.retain(ev('c'));
  assert.deepEqual([...s.retained('', 'prefix')].map((e) => e.topic), ['b', 'c']);
  assert.deepEqual([...s.retained('a', 'exact')], []);
});

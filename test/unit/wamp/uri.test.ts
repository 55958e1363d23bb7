/**
 * WAMP identifiers (src/wamp/uri.ts): URIs under the strict and loose rules with
 * their empty-component variants, cross-checked against the spec's own regular
 * expressions (WAMP basic profile, "URIs"); IDs in [1, 2^53] ("IDs"); the dict
 * and list guards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_WAMP_ID,
  emptyComponentsForMatch,
  isDict,
  isList,
  isValidUri,
  isWampId,
  toWampId,
  type EmptyComponents,
} from '../../../src/wamp/uri.js';

// The spec's regular expressions, verbatim (Python syntax is the same here).
const SPEC = {
  loose: /^([^\s\.#]+\.)*([^\s\.#]+)$/,
  looseEmpty: /^(([^\s\.#]+\.)|\.)*([^\s\.#]+)?$/,
  strict: /^([0-9a-z_]+\.)*([0-9a-z_]+)$/,
  strictEmpty: /^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$/,
  // autobahn's allow_last_empty (prefix matching) variants
  looseLast: /^([^\s\.#]+\.)*([^\s\.#]*)$/,
  strictLast: /^([0-9a-z_]+\.)*([0-9a-z_]*)$/,
};

describe('isValidUri', () => {
  test('accepts ordinary URIs under both rules', () => {
    for (const uri of ['com.myapp.mytopic1', 'wamp.error.not_authorized', 'a', 'x_1.y_2', '1.2.3']) {
      assert.equal(isValidUri(uri), true, uri);
      assert.equal(isValidUri(uri, { strict: true }), true, uri);
    }
  });

  test('loose rules allow upper case, unicode and punctuation other than "." and "#"', () => {
    for (const uri of ['com.MyApp.Topic', 'com.myapp.größe', 'com.my-app.topic!', 'com.myapp.😀']) {
      assert.equal(isValidUri(uri), true, uri);
      assert.equal(isValidUri(uri, { strict: true }), false, uri);
    }
  });

  test('rejects empty components, "#", whitespace and non-strings under both rules', () => {
    for (const uri of ['', '.', 'com..topic', '.com.topic', 'com.topic.', 'com.my#app', 'com.my app', 'com.\tx', 'com.x\n']) {
      assert.equal(isValidUri(uri), false, JSON.stringify(uri));
      assert.equal(isValidUri(uri, { strict: true }), false, JSON.stringify(uri));
    }
    for (const v of [1, null, undefined, {}, ['com'], new Uint8Array(1)]) assert.equal(isValidUri(v), false);
  });

  test("'all' (wildcard) allows any empty component, 'last' (prefix) only the last", () => {
    assert.equal(isValidUri('com..update', { empty: 'all' }), true);
    assert.equal(isValidUri('.myapp.', { empty: 'all' }), true);
    assert.equal(isValidUri('com..update', { empty: 'last' }), false);
    assert.equal(isValidUri('com.myapp.', { empty: 'last' }), true);
    assert.equal(isValidUri('com.myapp.', { empty: 'none' }), false);
    assert.equal(isValidUri('com..#', { empty: 'all' }), false);
    assert.equal(isValidUri('com..Up', { empty: 'all', strict: true }), false);
  });

  test('agrees with the spec regular expressions on generated strings', () => {
    // Every string of length <= 5 over an alphabet that hits each rule.
    const alphabet = ['a', '_', '1', 'A', '.', '#', ' ', 'é'];
    const strings: string[] = [''];
    for (let len = 1, frontier = ['']; len <= 5; len++) {
      const next: string[] = [];
      for (const s of frontier) for (const c of alphabet) next.push(s + c);
      strings.push(...next);
      frontier = next;
    }
    const cases: [boolean, EmptyComponents, RegExp][] = [
      [false, 'none', SPEC.loose],
      [false, 'all', SPEC.looseEmpty],
      [false, 'last', SPEC.looseLast],
      [true, 'none', SPEC.strict],
      [true, 'all', SPEC.strictEmpty],
      [true, 'last', SPEC.strictLast],
    ];
    let checked = 0;
    for (const s of strings) {
      for (const [strict, empty, re] of cases) {
        assert.equal(isValidUri(s, { strict, empty }), re.test(s), `${JSON.stringify(s)} strict=${strict} empty=${empty}`);
        checked++;
      }
    }
    assert.equal(checked, strings.length * cases.length);
  });

  test('stays linear on long hostile input', () => {
    const long = 'a'.repeat(200_000) + '#';
    const t0 = performance.now();
    assert.equal(isValidUri(long), false);
    assert.equal(isValidUri(long, { empty: 'all' }), false);
    assert.equal(isValidUri('a.'.repeat(100_000) + ' ', { empty: 'all' }), false);
    assert.ok(performance.now() - t0 < 1000);
  });
});

describe('emptyComponentsForMatch', () => {
  test('maps the match policy to the empty-component rule', () => {
    assert.equal(emptyComponentsForMatch(undefined), 'none');
    assert.equal(emptyComponentsForMatch('exact'), 'none');
    assert.equal(emptyComponentsForMatch('prefix'), 'last');
    assert.equal(emptyComponentsForMatch('wildcard'), 'all');
  });
});

describe('IDs', () => {
  test('isWampId accepts integers in [1, 2^53] only', () => {
    assert.equal(MAX_WAMP_ID, 2 ** 53);
    for (const n of [1, 2, 7814135, 2 ** 53 - 1, 2 ** 53]) assert.equal(isWampId(n), true, String(n));
    for (const n of [0, -1, -0, 1.5, 2 ** 53 + 2, 2 ** 64, NaN, Infinity, -Infinity, '1', 1n, null, undefined, [1]]) {
      assert.equal(isWampId(n), false, String(n));
    }
  });

  test('toWampId also reads bigints in range (64-bit decoders)', () => {
    assert.equal(toWampId(5), 5);
    assert.equal(toWampId(5n), 5);
    assert.equal(toWampId(2n ** 53n), 2 ** 53);
    assert.equal(toWampId(2n ** 53n + 1n), undefined);
    assert.equal(toWampId(0n), undefined);
    assert.equal(toWampId(-1n), undefined);
    assert.equal(toWampId(0), undefined);
    assert.equal(toWampId('5'), undefined);
  });
});

describe('isDict / isList', () => {
  test('isDict accepts plain objects only', () => {
    assert.equal(isDict({}), true);
    assert.equal(isDict({ a: 1 }), true);
    assert.equal(isDict(Object.create(null)), true);
    for (const v of [null, undefined, [], new Uint8Array(0), new Map(), new Date(0), 'x', 1, new (class X {})()]) {
      assert.equal(isDict(v), false, String(v));
    }
  });

  test('isList accepts arrays only', () => {
    assert.equal(isList([]), true);
    assert.equal(isList([1, 'a']), true);
    for (const v of [null, {}, 'abc', new Uint8Array(2), { length: 0 }]) assert.equal(isList(v), false);
  });
});

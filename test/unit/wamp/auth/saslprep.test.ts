import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saslprep } from '../../../../src/wamp/auth/saslprep.js';

// RFC 4013 §3 examples; each also checked against passlib's saslprep
// (/usr/bin/python3 -c 'from passlib.utils import saslprep; print(saslprep(...))').
test('RFC 4013 §3 examples', () => {
  assert.equal(saslprep('I\u00ADX'), 'IX'); // 1. SOFT HYPHEN mapped to nothing
  assert.equal(saslprep('user'), 'user'); // 2. no transformation
  assert.equal(saslprep('USER'), 'USER'); // 3. case preserved
  assert.equal(saslprep('\u00AA'), 'a'); // 4. output is NFKC
  assert.equal(saslprep('\u2168'), 'IX'); // 5. output is NFKC
  assert.throws(() => saslprep('\u0007'), RangeError); // 6. prohibited character
  assert.throws(() => saslprep('\u0627\u0031'), RangeError); // 7. bidi check
});

test('mapping, prohibited output and bidi', () => {
  assert.equal(saslprep('a\u00A0b\u3000c'), 'a b c'); // non-ASCII spaces -> SPACE
  assert.equal(saslprep('a\u200Bb'), 'ab'); // ZWSP is in B.1: removed before C.1.2 mapping (as passlib)
  assert.equal(saslprep('\u0627\u0031\u0628'), '\u0627\u0031\u0628'); // RandALCat at both ends
  assert.throws(() => saslprep('\u0627a\u0628'), RangeError); // RandALCat with LCat
  assert.throws(() => saslprep('a\uE000'), RangeError); // private use
  assert.throws(() => saslprep('a\uD800'), RangeError); // lone surrogate
  assert.throws(() => saslprep('a\u007F'), RangeError); // DEL
  assert.throws(() => saslprep('a\uFFFE'), RangeError); // non-character
  assert.equal(saslprep('pässwörd \u{1F600}'), 'pässwörd \u{1F600}'); // astral, assigned: allowed
  assert.equal(saslprep(''), '');
});

test('errors never echo the input', () => {
  try {
    saslprep('secret\u0000');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(!(e as Error).message.includes('secret'));
  }
});

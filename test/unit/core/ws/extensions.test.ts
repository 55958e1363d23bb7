import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ExtensionOffer,
  formatExtensions,
  isToken,
  parseExtensions,
} from '../../../../src/core/ws/extensions.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';

/** Assert that parsing fails the way RFC 6455 §9.1 syntax errors must. */
function assertSyntaxError(header: string): void {
  assert.throws(
    () => parseExtensions(header),
    (err: unknown) =>
      err instanceof WebSocketError && err.code === 'WS_ERR_INVALID_EXTENSION' && err.status === 400,
    `expected a syntax error for ${JSON.stringify(header)}`,
  );
}

const ext = (name: string, ...params: Array<[string, string | true]>): ExtensionOffer => ({ name, params });

describe('parseExtensions: valid headers (RFC 6455 §9.1)', () => {
  const cases: Array<[string, ExtensionOffer[]]> = [
    ['permessage-deflate', [ext('permessage-deflate')]],
    ['permessage-deflate; client_max_window_bits', [ext('permessage-deflate', ['client_max_window_bits', true])]],
    [
      'permessage-deflate; server_max_window_bits=10; client_no_context_takeover',
      [ext('permessage-deflate', ['server_max_window_bits', '10'], ['client_no_context_takeover', true])],
    ],
    // quoted-string values are unescaped (RFC 7230 §3.2.6)
    ['permessage-deflate; server_max_window_bits="10"', [ext('permessage-deflate', ['server_max_window_bits', '10'])]],
    ['x; a="\\1\\0"', [ext('x', ['a', '10'])]],
    ['x; a="b\\c"', [ext('x', ['a', 'bc'])]],
    // several extensions, several offers of the same one (RFC 7692 §5.1)
    [
      'permessage-deflate; client_max_window_bits=10, permessage-deflate, x-webkit-deflate-frame',
      [
        ext('permessage-deflate', ['client_max_window_bits', '10']),
        ext('permessage-deflate'),
        ext('x-webkit-deflate-frame'),
      ],
    ],
    // whitespace (SP and HTAB) around every separator
    [
      '  a ;\tb = 1 ;c=\t"2"  ,\td ; e  ',
      [ext('a', ['b', '1'], ['c', '2']), ext('d', ['e', true])],
    ],
    ['a;b;c', [ext('a', ['b', true], ['c', true])]],
    // case is preserved; meaning is the extension's business
    ['Permessage-Deflate; Server_No_Context_Takeover', [ext('Permessage-Deflate', ['Server_No_Context_Takeover', true])]],
    // duplicates are kept for the extension module to judge
    ['x; a=1; a=2', [ext('x', ['a', '1'], ['a', '2'])]],
    // empty list elements are ignored (RFC 7230 §7)
    ['', []],
    ['   ', []],
    [',', []],
    ['a, , b,', [ext('a'), ext('b')]],
    [', a', [ext('a')]],
    // every tchar is allowed in names and values
    ["!#$%&'*+-.^_`|~09AZaz; !#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~09AZaz", [
      ext("!#$%&'*+-.^_`|~09AZaz", ["!#$%&'*+-.^_`|~09AZaz", "!#$%&'*+-.^_`|~09AZaz"]),
    ]],
  ];
  for (const [header, expected] of cases) {
    it(JSON.stringify(header), () => {
      assert.deepEqual(parseExtensions(header), expected);
    });
  }

  it('parses several header lines joined with ", "', () => {
    const lines = ['permessage-deflate; client_max_window_bits', 'x-foo'];
    assert.deepEqual(parseExtensions(lines.join(', ')), [
      ext('permessage-deflate', ['client_max_window_bits', true]),
      ext('x-foo'),
    ]);
  });
});

describe('parseExtensions: syntax errors', () => {
  const bad = [
    ';', // no extension name
    '; a',
    'a;', // parameter without a name
    'a; ;b',
    'a;=1',
    'a; b=', // = without a value
    'a; b= ,c',
    'a; b=;',
    'a b', // two tokens
    'a; b c',
    'a; b=1 2',
    'a; b="1" 2',
    'a; b=1=2',
    'a=1', // a value on the extension name
    'a; b="1', // unterminated quoted-string
    'a; b="1\\',
    'a; b="', 
    'a; b=""', // empty quoted value is not a token
    'a; b="1 0"', // unescaped value must be a token (§9.1)
    'a; b="1,0"',
    'a; b="\\ "',
    'a; b="é"',
    '"a"', // quoted names are not allowed
    'a; "b"=1',
    'a; b=1"',
    'a/b', // separators are not tchars
    'a; b@=1',
    'a; b=(1)',
    'a\r\n; b', // control characters
    'a;\0b',
    'a; b=1\x7f',
    'permessage-deflate; client_max_window_bits=1\n0',
    'ä',
  ];
  for (const header of bad) {
    it(JSON.stringify(header), () => assertSyntaxError(header));
  }

  it('names the offending position', () => {
    assert.throws(() => parseExtensions('abc; d e'), /index 7/);
    assert.throws(() => parseExtensions('a; b="12'), /unterminated quoted-string opened at index 5/);
  });
});

describe('formatExtensions', () => {
  it('writes names, flags and values', () => {
    assert.equal(
      formatExtensions([
        ext('permessage-deflate', ['server_no_context_takeover', true], ['client_max_window_bits', '10']),
        ext('x-foo'),
      ]),
      'permessage-deflate; server_no_context_takeover; client_max_window_bits=10, x-foo',
    );
    assert.equal(formatExtensions([]), '');
  });

  it('round-trips through parseExtensions', () => {
    const headers = [
      'permessage-deflate',
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=15',
      'permessage-deflate; client_max_window_bits=10, permessage-deflate; client_max_window_bits, x-foo; a=b; c',
    ];
    for (const h of headers) {
      assert.equal(formatExtensions(parseExtensions(h)), h);
      assert.deepEqual(parseExtensions(formatExtensions(parseExtensions(h))), parseExtensions(h));
    }
    // Quoted and spaced input comes back canonical.
    assert.equal(formatExtensions(parseExtensions(' a ;b = "1" ,c')), 'a; b=1, c');
  });

  it('refuses non-token names and values (header injection)', () => {
    const bad: ExtensionOffer[] = [
      ext(''),
      ext('a b'),
      ext('a\r\nX-Injected: 1'),
      ext('a', ['', true]),
      ext('a', ['b\n', true]),
      ext('a', ['b', '']),
      ext('a', ['b', '1\r\nX-Injected: 1']),
      ext('a', ['b', '"1"']),
      ext('a', ['b', '1,2']),
    ];
    for (const e of bad) {
      assert.throws(() => formatExtensions([e]), TypeError, JSON.stringify(e));
    }
  });
});

describe('isToken', () => {
  it('follows RFC 7230 §3.2.6', () => {
    assert.equal(isToken('wamp.2.json'), true);
    assert.equal(isToken("!#$%&'*+-.^_`|~"), true);
    for (const s of ['', ' ', 'a b', 'a,b', 'a;b', 'a=b', 'a"b', 'a/b', 'a\tb', 'a\r', 'é', '(a)', '{a}', '[a]', 'a?', 'a@b', 'a:b', 'a\\b']) {
      assert.equal(isToken(s), false, JSON.stringify(s));
    }
  });
});

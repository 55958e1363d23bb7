import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import WebSocket, { WebSocketServer } from 'ws';
import {
  type HttpHead,
  HttpHeadParser,
  buildAcceptResponse,
  buildRejectResponse,
  buildUpgradeRequest,
  computeAccept,
  generateKey,
  parseUpgradeRequest,
  validateUpgradeResponse,
} from '../../../../src/core/ws/handshake.js';
import { formatExtensions } from '../../../../src/core/ws/extensions.js';
import {
  type DeflateOptions,
  type DeflateParams,
  acceptDeflateResponse,
  buildDeflateOffer,
  deflaterWindowBits,
  negotiateDeflate,
} from '../../../../src/core/deflate/negotiate.js';
import { type ErrorCode, WebSocketError } from '../../../../src/core/ws/errors.js';

// ---------------------------------------------------------------- helpers

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const nodeSha1 = (data: Uint8Array): Uint8Array => createHash('sha1').update(data).digest();

/** RFC 6455 §1.3's example key and its accept value. */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function parseHead(text: string, max = 16 * 1024): { head: HttpHead; rest: Uint8Array } {
  const r = new HttpHeadParser(max).push(bytes(text));
  assert.ok(r, 'head incomplete');
  return r;
}

function assertWsError(fn: () => unknown, code: ErrorCode, status?: number, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WebSocketError, `not a WebSocketError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (status !== undefined) assert.equal(err.status, status, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

/** The upgrade request of RFC 6455 §1.3, with overrides (null removes a header). */
function request(overrides: Record<string, string | null> = {}, startLine = 'GET /chat HTTP/1.1'): string {
  const headers: Record<string, string | null> = {
    Host: 'server.example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    Origin: 'http://example.com',
    'Sec-WebSocket-Protocol': 'chat, superchat',
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  let s = `${startLine}\r\n`;
  for (const [k, v] of Object.entries(headers)) if (v !== null) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

/** A 101 response to KEY, with overrides (null removes a header). */
function response(overrides: Record<string, string | null> = {}, statusLine = 'HTTP/1.1 101 Switching Protocols'): HttpHead {
  const headers: Record<string, string | null> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Accept': ACCEPT,
    ...overrides,
  };
  let s = `${statusLine}\r\n`;
  for (const [k, v] of Object.entries(headers)) if (v !== null) s += `${k}: ${v}\r\n`;
  return parseHead(s + '\r\n').head;
}

// ---------------------------------------------------------------- HttpHeadParser

describe('HttpHeadParser', () => {
  const text =
    'GET /chat?x=1 HTTP/1.1\r\n' +
    'Host: server.example.com\r\n' +
    'X-Multi: a\r\n' +
    'upgrade:websocket\r\n' +
    'x-multi:  b \t\r\n' +
    'X-Empty:\r\n' +
    'X-Latin1: caf\xe9\r\n' +
    '\r\n';
  const frame = new Uint8Array([0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e]);
  const input = new Uint8Array([...Array.from(text, (c) => c.charCodeAt(0)), ...frame]);

  function check(r: { head: HttpHead; rest: Uint8Array } | null, rest: Uint8Array = frame): void {
    assert.ok(r);
    assert.deepEqual(r.head.startLine, ['GET', '/chat?x=1', 'HTTP/1.1']);
    assert.deepEqual(
      [...r.head.headers],
      [
        ['host', 'server.example.com'],
        ['x-multi', 'a, b'],
        ['upgrade', 'websocket'],
        ['x-empty', ''],
        ['x-latin1', 'café'],
      ],
    );
    assert.deepEqual(r.head.rawHeaders, ['Host', 'server.example.com', 'X-Multi', 'a', 'upgrade', 'websocket', 'x-multi', 'b', 'X-Empty', '', 'X-Latin1', 'café']);
    assert.deepEqual(r.rest, rest);
  }

  it('parses a request head and returns what follows it', () => {
    check(new HttpHeadParser(1024).push(input));
  });

  it('gives the same result for input split at every byte', () => {
    for (let cut = 0; cut <= input.length; cut++) {
      const p = new HttpHeadParser(1024);
      const headEnd = text.length;
      const first = p.push(input.subarray(0, cut));
      if (cut < headEnd) {
        assert.equal(first, null, `cut ${cut}`);
        check(p.push(input.subarray(cut)));
      } else {
        check(first, input.subarray(headEnd, cut));
      }
    }
  });

  it('gives the same result fed one byte at a time', () => {
    const p = new HttpHeadParser(1024);
    for (let i = 0; i < text.length - 1; i++) assert.equal(p.push(input.subarray(i, i + 1)), null, `byte ${i}`);
    check(p.push(input.subarray(text.length - 1)));
  });

  it('copies what it buffers (the caller may reuse its buffer)', () => {
    const p = new HttpHeadParser(1024);
    const buf = input.slice(0, 10);
    assert.equal(p.push(buf), null);
    buf.fill(0);
    check(p.push(input.subarray(10)));
  });

  it('ignores empty chunks', () => {
    const p = new HttpHeadParser(1024);
    assert.equal(p.push(new Uint8Array(0)), null);
    check(p.push(input));
  });

  it('finds CRLFCRLF after CRs and LFs that do not complete it', () => {
    const { head } = parseHead('HTTP/1.1 101 OK\r\nA: 1\r\nB: 2\r\n\r\n');
    assert.equal(head.headers.get('b'), '2');
    // "\r\r\n\r\n": the first CR is a bare CR inside the last line.
    assertWsError(() => parseHead('HTTP/1.1 101 OK\r\nA: 1\r\r\n\r\n'), 'WS_ERR_HANDSHAKE_INVALID', 400, /bare CR/);
  });

  it('parses status lines', () => {
    assert.deepEqual(parseHead('HTTP/1.1 101 Switching Protocols\r\n\r\n').head.startLine, ['HTTP/1.1', '101', 'Switching Protocols']);
    assert.deepEqual(parseHead('HTTP/1.1 404 \r\n\r\n').head.startLine, ['HTTP/1.1', '404', '']);
    assert.deepEqual(parseHead('HTTP/1.1 404\r\n\r\n').head.startLine, ['HTTP/1.1', '404', '']);
    assert.deepEqual(parseHead('HTTP/1.0 200 OK\r\nA: b\r\n\r\n').head.startLine, ['HTTP/1.0', '200', 'OK']);
  });

  it('parses the next head after one is complete', () => {
    const p = new HttpHeadParser(1024);
    const r1 = p.push(bytes('HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 101 Switching'));
    assert.ok(r1);
    assert.equal(r1.head.startLine[1], '200');
    assert.equal(p.push(r1.rest), null);
    const r2 = p.push(bytes(' Protocols\r\nUpgrade: websocket\r\n\r\n'));
    assert.ok(r2);
    assert.deepEqual(r2.head.startLine, ['HTTP/1.1', '101', 'Switching Protocols']);
    assert.equal(r2.rest.length, 0);
  });

  describe('rejects malformed heads with 400', () => {
    const bad: Array<[string, string]> = [
      ['empty start line', '\r\n\r\n'],
      ['leading empty line', '\r\nGET / HTTP/1.1\r\n\r\n'],
      ['request line with two parts', 'GET /\r\n\r\n'],
      ['request line with four parts', 'GET / x HTTP/1.1\r\n\r\n'],
      ['double space', 'GET  / HTTP/1.1\r\n\r\n'],
      ['lower-case version', 'GET / http/1.1\r\n\r\n'],
      ['bad version', 'GET / HTTP/1\r\n\r\n'],
      ['method not a token', 'G(T / HTTP/1.1\r\n\r\n'],
      ['control char in target', 'GET /\x01 HTTP/1.1\r\n\r\n'],
      ['non-ASCII target', 'GET /\xe9 HTTP/1.1\r\n\r\n'],
      ['status not 3 digits', 'HTTP/1.1 1010 X\r\n\r\n'],
      ['status not digits', 'HTTP/1.1 abc X\r\n\r\n'],
      ['bad status version', 'HTTP/1 101 X\r\n\r\n'],
      ['control char in reason', 'HTTP/1.1 101 X\x00\r\n\r\n'],
      ['header without colon', 'GET / HTTP/1.1\r\nHost example.com\r\n\r\n'],
      ['empty header name', 'GET / HTTP/1.1\r\n: x\r\n\r\n'],
      ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
      ['bad char in name', 'GET / HTTP/1.1\r\nHo(st: x\r\n\r\n'],
      ['non-ASCII name', 'GET / HTTP/1.1\r\nHöst: x\r\n\r\n'],
      ['obs-fold (SP)', 'GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n'],
      ['obs-fold (HTAB)', 'GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n'],
      ['bare LF in a line', 'GET / HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n'],
      ['bare CR in a line', 'GET / HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n\r\n'],
      ['NUL in value', 'GET / HTTP/1.1\r\nX-A: 1\x002\r\n\r\n'],
      ['DEL in value', 'GET / HTTP/1.1\r\nX-A: 1\x7f\r\n\r\n'],
      ['control char in value', 'GET / HTTP/1.1\r\nX-A: \x1b[31m\r\n\r\n'],
    ];
    for (const [name, text] of bad) {
      it(name, () => assertWsError(() => parseHead(text), 'WS_ERR_HANDSHAKE_INVALID', 400));
    }
  });

  it('keeps failing after an error', () => {
    const p = new HttpHeadParser(1024);
    assert.throws(() => p.push(bytes('GET /\r\n\r\n')));
    assertWsError(() => p.push(bytes('GET / HTTP/1.1\r\n\r\n')), 'WS_ERR_HANDSHAKE_INVALID');
  });

  describe('size limit', () => {
    const head = request();
    const size = head.length;

    it('accepts a head of exactly maxSize bytes, in any chunking', () => {
      assert.ok(new HttpHeadParser(size).push(bytes(head)));
      const p = new HttpHeadParser(size);
      for (let i = 0; i < size - 1; i++) assert.equal(p.push(bytes(head[i]!)), null);
      assert.ok(p.push(bytes(head[size - 1]!)));
    });

    it('throws 431 one byte over, whatever follows', () => {
      assertWsError(() => new HttpHeadParser(size - 1).push(bytes(head)), 'WS_ERR_HANDSHAKE_TOO_BIG', 431);
      // Fed byte by byte: the byte past the limit throws.
      const p = new HttpHeadParser(size - 1);
      for (let i = 0; i < size - 1; i++) assert.equal(p.push(bytes(head[i]!)), null);
      assertWsError(() => p.push(bytes(head[size - 1]!)), 'WS_ERR_HANDSHAKE_TOO_BIG', 431);
      // And keeps throwing.
      assertWsError(() => p.push(new Uint8Array(0)), 'WS_ERR_HANDSHAKE_TOO_BIG', 431);
    });

    it('throws at once on a huge chunk without buffering it', () => {
      const p = new HttpHeadParser(1024);
      assert.equal(p.push(bytes('GET / HTTP/1.1\r\n')), null);
      const huge = new Uint8Array(10 * 1024 * 1024).fill(0x61);
      assertWsError(() => p.push(huge), 'WS_ERR_HANDSHAKE_TOO_BIG', 431, /1024 bytes/);
    });

    it('counts frames after the head as rest, not head', () => {
      const r = new HttpHeadParser(size).push(bytes(head + 'x'.repeat(10_000)));
      assert.ok(r);
      assert.equal(r.rest.length, 10_000);
    });

    it('rejects a nonsensical maxSize', () => {
      for (const m of [0, 3, -1, 1.5, NaN]) assert.throws(() => new HttpHeadParser(m), RangeError);
    });
  });
});

// ---------------------------------------------------------------- computeAccept / generateKey

describe('computeAccept', () => {
  it('matches RFC 6455 §1.3', () => {
    assert.equal(computeAccept(KEY), ACCEPT);
    assert.equal(computeAccept(KEY, nodeSha1), ACCEPT);
  });

  it('agrees with node:crypto for random keys', () => {
    for (let i = 0; i < 50; i++) {
      const key = randomBytes(16).toString('base64');
      const expected = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      assert.equal(computeAccept(key), expected);
    }
  });

  it('uses the injected SHA-1', () => {
    let calls = 0;
    const fake = (d: Uint8Array): Uint8Array => {
      calls++;
      assert.equal(new TextDecoder().decode(d), KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
      return new Uint8Array([0xfb, 0xff, 0x00]);
    };
    assert.equal(computeAccept(KEY, fake), '+/8A');
    assert.equal(calls, 1);
  });
});

describe('generateKey', () => {
  it('base64-encodes 16 random bytes (RFC 6455 §4.1)', () => {
    for (let i = 0; i < 50; i++) {
      let filled: Uint8Array | undefined;
      const key = generateKey((out) => {
        assert.equal(out.length, 16);
        randomFillSync(out);
        filled = out.slice();
      });
      assert.ok(filled);
      assert.equal(key, Buffer.from(filled).toString('base64'));
      assert.match(key, /^[A-Za-z0-9+/]{22}==$/);
    }
    assert.equal(generateKey((out) => out.fill(0)), 'AAAAAAAAAAAAAAAAAAAAAA==');
    assert.equal(generateKey((out) => out.fill(0xff)), '/////////////////////w==');
  });
});

// ---------------------------------------------------------------- server side

describe('parseUpgradeRequest (RFC 6455 §4.2.1)', () => {
  it('parses the RFC 6455 §1.3 example', () => {
    const r = parseUpgradeRequest(parseHead(request()).head);
    assert.equal(r.path, '/chat');
    assert.equal(r.key, KEY);
    assert.equal(r.version, 13);
    assert.deepEqual(r.protocols, ['chat', 'superchat']);
    assert.deepEqual(r.extensions, []);
    assert.equal(r.origin, 'http://example.com');
    assert.equal(r.headers.get('host'), 'server.example.com');
  });

  it('accepts what browsers and proxies really send', () => {
    const r = parseUpgradeRequest(
      parseHead(
        request({
          Upgrade: 'WebSocket',
          Connection: 'keep-alive, Upgrade',
          'Sec-WebSocket-Protocol': 'wamp.2.cbor,wamp.2.msgpack , wamp.2.json',
          'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
          Origin: null,
        }, 'GET /ws?token=abc HTTP/1.1'),
      ).head,
    );
    assert.equal(r.path, '/ws?token=abc');
    assert.deepEqual(r.protocols, ['wamp.2.cbor', 'wamp.2.msgpack', 'wamp.2.json']);
    assert.deepEqual(r.extensions, [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }]);
    assert.equal(r.origin, null);
    // Upgrade as a list, Connection in any case, HTTP/1.1+.
    assert.ok(parseUpgradeRequest(parseHead(request({ Upgrade: 'h2c, websocket', Connection: 'UPGRADE' })).head));
    assert.ok(parseUpgradeRequest(parseHead(request({}, 'GET / HTTP/2.0')).head));
    // Header names are case-insensitive; repeated Protocol lines are joined.
    const text = request({ 'Sec-WebSocket-Protocol': 'a' }).replace('\r\n\r\n', '\r\nsec-websocket-protocol: b\r\n\r\n');
    assert.deepEqual(parseUpgradeRequest(parseHead(text).head).protocols, ['a', 'b']);
    // No subprotocol header.
    assert.deepEqual(parseUpgradeRequest(parseHead(request({ 'Sec-WebSocket-Protocol': null })).head).protocols, []);
  });

  it('reads the origin of hybi-08 clients from Sec-WebSocket-Origin', () => {
    const r = parseUpgradeRequest(
      parseHead(request({ 'Sec-WebSocket-Version': '8', Origin: null, 'Sec-WebSocket-Origin': 'http://old.example' })).head,
    );
    assert.equal(r.version, 8);
    assert.equal(r.origin, 'http://old.example');
    const r2 = parseUpgradeRequest(parseHead(request({ 'Sec-WebSocket-Version': '8' })).head);
    assert.equal(r2.origin, 'http://example.com');
  });

  const rejections: Array<[string, string, ErrorCode, number]> = [
    ['a POST', request({}, 'POST /chat HTTP/1.1'), 'WS_ERR_HANDSHAKE_INVALID', 405],
    ['a HEAD', request({}, 'HEAD /chat HTTP/1.1'), 'WS_ERR_HANDSHAKE_INVALID', 405],
    ['a lower-case get', request({}, 'get /chat HTTP/1.1'), 'WS_ERR_HANDSHAKE_INVALID', 405],
    ['HTTP/1.0', request({}, 'GET /chat HTTP/1.0'), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['a response', request({}, 'HTTP/1.1 101 Switching Protocols'), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['no Host', request({ Host: null }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['an empty Host', request({ Host: '' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['two Host headers', request({}).replace('\r\n\r\n', '\r\nhost: evil.example\r\n\r\n'), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['no Upgrade', request({ Upgrade: null }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['Upgrade: h2c', request({ Upgrade: 'h2c' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['Upgrade: websockets', request({ Upgrade: 'websockets' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['no Connection', request({ Connection: null }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['Connection: keep-alive', request({ Connection: 'keep-alive' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['Connection: upgraded', request({ Connection: 'upgraded' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['no key', request({ 'Sec-WebSocket-Key': null }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['an empty key', request({ 'Sec-WebSocket-Key': '' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['a key of 15 bytes', request({ 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['a key of 17 bytes', request({ 'Sec-WebSocket-Key': Buffer.alloc(17).toString('base64') }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['a key without padding', request({ 'Sec-WebSocket-Key': KEY.slice(0, 22) }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['a key with bad chars', request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ-_' }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['two keys', request({}).replace('\r\n\r\n', `\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['no version', request({ 'Sec-WebSocket-Version': null }), 'WS_ERR_HANDSHAKE_INVALID', 400],
    ['version 7', request({ 'Sec-WebSocket-Version': '7' }), 'WS_ERR_UNSUPPORTED_VERSION', 426],
    ['version 14', request({ 'Sec-WebSocket-Version': '14' }), 'WS_ERR_UNSUPPORTED_VERSION', 426],
    ['version 013', request({ 'Sec-WebSocket-Version': '013' }), 'WS_ERR_UNSUPPORTED_VERSION', 426],
    ['version "13, 8"', request({ 'Sec-WebSocket-Version': '13, 8' }), 'WS_ERR_UNSUPPORTED_VERSION', 426],
    ['a duplicate subprotocol', request({ 'Sec-WebSocket-Protocol': 'chat, chat' }), 'WS_ERR_INVALID_SUBPROTOCOL', 400],
    ['a subprotocol with a space', request({ 'Sec-WebSocket-Protocol': 'chat room' }), 'WS_ERR_INVALID_SUBPROTOCOL', 400],
    ['a subprotocol with a separator', request({ 'Sec-WebSocket-Protocol': 'a/b' }), 'WS_ERR_INVALID_SUBPROTOCOL', 400],
    ['a malformed extension header', request({ 'Sec-WebSocket-Extensions': 'permessage-deflate; ' }), 'WS_ERR_INVALID_EXTENSION', 400],
    ['an unterminated quoted value', request({ 'Sec-WebSocket-Extensions': 'x; a="1' }), 'WS_ERR_INVALID_EXTENSION', 400],
  ];
  for (const [name, text, code, status] of rejections) {
    it(`rejects ${name} with ${status}`, () => {
      assertWsError(() => parseUpgradeRequest(parseHead(text).head), code, status);
    });
  }
});

describe('buildAcceptResponse (RFC 6455 §4.2.2)', () => {
  it('writes the RFC 6455 §1.3 response', () => {
    assert.equal(
      buildAcceptResponse({ accept: computeAccept(KEY), protocol: 'chat' }),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
  });

  it('adds extensions and extra headers, omits empty ones', () => {
    const text = buildAcceptResponse({
      accept: ACCEPT,
      protocol: '',
      extensions: 'permessage-deflate; server_max_window_bits=10',
      headers: [['Set-Cookie', 'a=b; Path=/'], ['X-Empty', '']],
    });
    assert.equal(
      text,
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n' +
        'Set-Cookie: a=b; Path=/\r\nX-Empty: \r\n\r\n',
    );
    assert.equal(buildAcceptResponse({ accept: ACCEPT, extensions: '' }).includes('Extensions'), false);
  });

  it('refuses header injection and invalid values with TypeError', () => {
    const bad: Array<Parameters<typeof buildAcceptResponse>[0]> = [
      { accept: 'abc' },
      { accept: `${ACCEPT}\r\nX: 1` },
      { accept: ACCEPT, protocol: 'chat\r\nX-Injected: 1' },
      { accept: ACCEPT, protocol: 'a b' },
      { accept: ACCEPT, protocol: 'a,b' },
      { accept: ACCEPT, extensions: 'permessage-deflate\r\nX-Injected: 1' },
      { accept: ACCEPT, extensions: 'x\ny' },
      { accept: ACCEPT, headers: [['X-A', 'b\r\nX-Injected: 1']] },
      { accept: ACCEPT, headers: [['X-A', 'b\nc']] },
      { accept: ACCEPT, headers: [['X-A', 'b\0']] },
      { accept: ACCEPT, headers: [['X-A\r\nX-Injected', '1']] },
      { accept: ACCEPT, headers: [['X A', '1']] },
      { accept: ACCEPT, headers: [['', '1']] },
      // Headers the handshake writes itself.
      { accept: ACCEPT, headers: [['Upgrade', 'h2c']] },
      { accept: ACCEPT, headers: [['connection', 'close']] },
      { accept: ACCEPT, headers: [['Sec-WebSocket-Accept', ACCEPT]] },
      { accept: ACCEPT, headers: [['sec-websocket-protocol', 'chat']] },
    ];
    for (const opts of bad) assert.throws(() => buildAcceptResponse(opts), TypeError, JSON.stringify(opts));
  });
});

describe('buildRejectResponse', () => {
  function parseResponse(text: string): { head: HttpHead; body: string } {
    const r = parseHead(text);
    return { head: r.head, body: new TextDecoder().decode(r.rest) };
  }

  it('writes a complete response with Connection: close and Content-Length', () => {
    const text = buildRejectResponse(400);
    assert.equal(
      text,
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n\r\nBad Request',
    );
  });

  it('announces the versions we speak on 426 (RFC 6455 §4.4)', () => {
    const { head } = parseResponse(buildRejectResponse(426));
    assert.deepEqual(head.startLine, ['HTTP/1.1', '426', 'Upgrade Required']);
    assert.equal(head.headers.get('sec-websocket-version'), '13, 8');
    assert.equal(head.headers.get('upgrade'), 'websocket');
  });

  it('sends Allow: GET on 405 and the status of every handshake error', () => {
    assert.equal(parseResponse(buildRejectResponse(405)).head.headers.get('allow'), 'GET');
    assert.deepEqual(parseResponse(buildRejectResponse(431)).head.startLine, ['HTTP/1.1', '431', 'Request Header Fields Too Large']);
  });

  it('counts the body in UTF-8 bytes', () => {
    const body = 'Accès refusé 🚫';
    const text = buildRejectResponse(403, { body });
    const raw = enc.encode(text);
    const r = new HttpHeadParser(1024).push(raw);
    assert.ok(r);
    assert.equal(r.head.headers.get('content-length'), String(enc.encode(body).length));
    assert.equal(r.rest.length, enc.encode(body).length);
    assert.equal(new TextDecoder().decode(r.rest), body);
  });

  it('takes extra headers; they override Content-Type and status-specific headers', () => {
    const { head, body } = parseResponse(
      buildRejectResponse(401, {
        headers: [['WWW-Authenticate', 'Basic realm="wamp"'], ['Content-Type', 'application/json']],
        body: '{"error":"auth"}',
      }),
    );
    assert.deepEqual(head.startLine, ['HTTP/1.1', '401', 'Unauthorized']);
    assert.equal(head.headers.get('www-authenticate'), 'Basic realm="wamp"');
    assert.equal(head.headers.get('content-type'), 'application/json');
    assert.equal(body, '{"error":"auth"}');
    const r426 = parseResponse(buildRejectResponse(426, { headers: [['Sec-WebSocket-Version', '13']] })).head;
    assert.equal(r426.headers.get('sec-websocket-version'), '13');
    // Redirects and unknown statuses.
    const r302 = parseResponse(buildRejectResponse(302, { headers: [['Location', '/elsewhere']], body: '' })).head;
    assert.equal(r302.headers.get('location'), '/elsewhere');
    assert.equal(r302.headers.get('content-length'), '0');
    assert.deepEqual(parseResponse(buildRejectResponse(499)).head.startLine, ['HTTP/1.1', '499', 'Client Error']);
    assert.deepEqual(parseResponse(buildRejectResponse(599)).head.startLine, ['HTTP/1.1', '599', 'Server Error']);
  });

  it('refuses invalid statuses and header injection with TypeError', () => {
    for (const s of [101, 200, 299, 600, 99, 400.5, NaN]) assert.throws(() => buildRejectResponse(s), TypeError, String(s));
    const badHeaders: Array<Array<[string, string]>> = [
      [['X-A', '1\r\nX-Injected: 1']],
      [['X-A\n', '1']],
      [['Content-Length', '0']],
      [['connection', 'keep-alive']],
      [['Transfer-Encoding', 'chunked']],
    ];
    for (const headers of badHeaders) assert.throws(() => buildRejectResponse(400, { headers }), TypeError);
  });
});

// ---------------------------------------------------------------- client side

describe('buildUpgradeRequest (RFC 6455 §4.1)', () => {
  it('writes the RFC 6455 §1.3 request', () => {
    assert.equal(
      buildUpgradeRequest({
        host: 'server.example.com',
        path: '/chat',
        key: KEY,
        protocols: ['chat', 'superchat'],
        origin: 'http://example.com',
      }),
      'GET /chat HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        'Origin: http://example.com\r\n' +
        '\r\n',
    );
  });

  it('round-trips through HttpHeadParser and parseUpgradeRequest', () => {
    const text = buildUpgradeRequest({
      host: '[::1]:8080',
      path: '/ws?realm=realm1',
      key: KEY,
      protocols: ['wamp.2.json'],
      extensions: formatExtensions([buildDeflateOffer()]),
      authorization: 'Bearer abc.def',
      headers: { 'User-Agent': 'autostrada', 'X-Empty': '' },
    });
    const r = parseUpgradeRequest(parseHead(text).head);
    assert.equal(r.path, '/ws?realm=realm1');
    assert.deepEqual(r.protocols, ['wamp.2.json']);
    assert.deepEqual(r.extensions, [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }]);
    assert.equal(r.origin, null);
    assert.equal(r.headers.get('authorization'), 'Bearer abc.def');
    assert.equal(r.headers.get('user-agent'), 'autostrada');
    assert.equal(r.headers.get('host'), '[::1]:8080');
  });

  it('speaks hybi-08: Sec-WebSocket-Version 8 and Sec-WebSocket-Origin', () => {
    const text = buildUpgradeRequest({ host: 'h', path: '/', key: KEY, version: 8, origin: 'http://o' });
    assert.match(text, /\r\nSec-WebSocket-Version: 8\r\n/);
    assert.match(text, /\r\nSec-WebSocket-Origin: http:\/\/o\r\n/);
    assert.doesNotMatch(text, /\r\nOrigin:/);
    const r = parseUpgradeRequest(parseHead(text).head);
    assert.equal(r.version, 8);
    assert.equal(r.origin, 'http://o');
  });

  it('accepts headers as pairs (repeats allowed) or a record', () => {
    const text = buildUpgradeRequest({ host: 'h', path: '/', key: KEY, headers: [['Cookie', 'a=1'], ['Cookie', 'b=2']] });
    assert.equal(parseHead(text).head.headers.get('cookie'), 'a=1, b=2');
  });

  it('refuses invalid values and header injection with TypeError', () => {
    const base = { host: 'h', path: '/', key: KEY };
    const bad: Array<Parameters<typeof buildUpgradeRequest>[0]> = [
      { ...base, path: 'chat' },
      { ...base, path: '' },
      { ...base, path: '/a b' },
      { ...base, path: '/a\r\nX-Injected: 1' },
      { ...base, path: '/\xe9' },
      { ...base, host: '' },
      { ...base, host: 'h\r\nX-Injected: 1' },
      { ...base, host: 'h h' },
      { ...base, key: 'short' },
      { ...base, key: `${KEY}\r\n` },
      { ...base, version: 7 as 13 },
      { ...base, protocols: ['a', 'a'] },
      { ...base, protocols: ['a b'] },
      { ...base, protocols: [''] },
      { ...base, protocols: ['a,b'] },
      { ...base, protocols: ['a\r\nX-Injected: 1'] },
      { ...base, extensions: 'permessage-deflate\r\nX-Injected: 1' },
      { ...base, origin: 'http://o\r\nX-Injected: 1' },
      { ...base, authorization: 'Basic x\nX-Injected: 1' },
      { ...base, headers: { 'X-A': 'b\r\nX-Injected: 1' } },
      { ...base, headers: { 'X-A\r\nX-Injected': '1' } },
      { ...base, headers: [['X-A', '\0']] },
      // Headers the handshake writes itself, or given as options.
      { ...base, headers: { Host: 'other' } },
      { ...base, headers: { 'sec-websocket-key': KEY } },
      { ...base, headers: { 'Sec-WebSocket-Version': '8' } },
      { ...base, headers: { Upgrade: 'websocket' } },
      { ...base, headers: { Connection: 'Upgrade' } },
      { ...base, protocols: ['a'], headers: { 'Sec-WebSocket-Protocol': 'b' } },
      { ...base, origin: 'http://o', headers: { Origin: 'http://evil' } },
    ];
    for (const opts of bad) assert.throws(() => buildUpgradeRequest(opts), TypeError, JSON.stringify(opts));
  });
});

describe('validateUpgradeResponse (RFC 6455 §4.1)', () => {
  const opts: Parameters<typeof validateUpgradeResponse>[1] = { key: KEY, protocols: ['chat', 'superchat'], extensionsOffered: false };

  it('accepts the RFC 6455 §1.3 response', () => {
    const r = validateUpgradeResponse(parseHead(buildAcceptResponse({ accept: ACCEPT, protocol: 'chat' })).head, opts);
    assert.equal(r.protocol, 'chat');
    assert.deepEqual(r.extensions, []);
    assert.equal(r.headers.get('sec-websocket-accept'), ACCEPT);
  });

  it('accepts case variations, a Connection list, no subprotocol', () => {
    const r = validateUpgradeResponse(response({ Upgrade: 'WebSocket', Connection: 'keep-alive, upgrade' }), opts);
    assert.equal(r.protocol, '');
    assert.equal(validateUpgradeResponse(response({ 'Sec-WebSocket-Protocol': '' }), opts).protocol, '');
    assert.equal(validateUpgradeResponse(response({}, 'HTTP/1.1 101 '), opts).protocol, '');
  });

  it('returns the accepted extensions', () => {
    const head = response({ 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=10' });
    const expected = [{ name: 'permessage-deflate', params: [['server_max_window_bits', '10']] }];
    assert.deepEqual(validateUpgradeResponse(head, { ...opts, extensionsOffered: true }).extensions, expected);
    assert.deepEqual(validateUpgradeResponse(head, { ...opts, extensionsOffered: ['permessage-deflate'] }).extensions, expected);
    // An empty header is no extension at all.
    assert.deepEqual(validateUpgradeResponse(response({ 'Sec-WebSocket-Extensions': '' }), opts).extensions, []);
  });

  it('uses the injected SHA-1', () => {
    let calls = 0;
    const sha1 = (d: Uint8Array): Uint8Array => {
      calls++;
      return nodeSha1(d);
    };
    validateUpgradeResponse(response(), { ...opts, sha1 });
    assert.equal(calls, 1);
  });

  it('reports a non-101 status with that status', () => {
    const head = parseHead(buildRejectResponse(403, { body: 'go away' })).head;
    assertWsError(() => validateUpgradeResponse(head, opts), 'WS_ERR_HANDSHAKE_REJECTED', 403, /403 Forbidden/);
    assertWsError(
      () => validateUpgradeResponse(parseHead('HTTP/1.1 200 OK\r\n\r\n').head, opts),
      'WS_ERR_HANDSHAKE_REJECTED',
      200,
    );
    assertWsError(
      () => validateUpgradeResponse(parseHead('HTTP/1.1 302 \r\nLocation: /x\r\n\r\n').head, opts),
      'WS_ERR_HANDSHAKE_REJECTED',
      302,
      /302$/,
    );
  });

  type Opts = Partial<Parameters<typeof validateUpgradeResponse>[1]>;
  const failures: Array<[string, HttpHead, Opts, ErrorCode]> = [
    ['a request', parseHead(request()).head, {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['HTTP/1.0', response({}, 'HTTP/1.0 101 Switching Protocols'), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['no Upgrade', response({ Upgrade: null }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['Upgrade: h2c', response({ Upgrade: 'h2c' }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['Upgrade: websocket, h2c', response({ Upgrade: 'websocket, h2c' }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['no Connection', response({ Connection: null }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['Connection: close', response({ Connection: 'close' }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['no Accept', response({ 'Sec-WebSocket-Accept': null }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['a wrong Accept', response({ 'Sec-WebSocket-Accept': computeAccept(Buffer.alloc(16).toString('base64')) }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['an Accept for another key', response(), { key: Buffer.alloc(16, 1).toString('base64') }, 'WS_ERR_HANDSHAKE_INVALID'],
    ['a lower-cased Accept', response({ 'Sec-WebSocket-Accept': ACCEPT.toLowerCase() }), {}, 'WS_ERR_HANDSHAKE_INVALID'],
    ['a subprotocol not offered', response({ 'Sec-WebSocket-Protocol': 'other' }), {}, 'WS_ERR_INVALID_SUBPROTOCOL'],
    ['a subprotocol of another case', response({ 'Sec-WebSocket-Protocol': 'Chat' }), {}, 'WS_ERR_INVALID_SUBPROTOCOL'],
    ['two subprotocols', response({ 'Sec-WebSocket-Protocol': 'chat, superchat' }), {}, 'WS_ERR_INVALID_SUBPROTOCOL'],
    ['a subprotocol when none was offered', response({ 'Sec-WebSocket-Protocol': 'chat' }), { protocols: [] }, 'WS_ERR_INVALID_SUBPROTOCOL'],
    ['extensions when none were offered', response({ 'Sec-WebSocket-Extensions': 'permessage-deflate' }), {}, 'WS_ERR_INVALID_EXTENSION'],
    ['an extension not offered', response({ 'Sec-WebSocket-Extensions': 'x-foo' }), { extensionsOffered: ['permessage-deflate'] }, 'WS_ERR_INVALID_EXTENSION'],
    [
      'an extension twice',
      response({ 'Sec-WebSocket-Extensions': 'permessage-deflate, permessage-deflate' }),
      { extensionsOffered: ['permessage-deflate'] },
      'WS_ERR_INVALID_EXTENSION',
    ],
    ['a malformed extension header', response({ 'Sec-WebSocket-Extensions': 'permessage-deflate;' }), { extensionsOffered: true }, 'WS_ERR_INVALID_EXTENSION'],
  ];
  for (const [name, head, o, code] of failures) {
    it(`fails on ${name}`, () => assertWsError(() => validateUpgradeResponse(head, { ...opts, ...o }), code));
  }
});

// ---------------------------------------------------------------- against ws

/** A minimal frame codec for the cross-checks (RFC 6455 §5.2). */
function encodeFrame(opcode: number, payload: Uint8Array, opts: { mask: boolean; rsv1?: boolean }): Buffer {
  const len = payload.length;
  const head: number[] = [0x80 | (opts.rsv1 ? 0x40 : 0) | opcode];
  const m = opts.mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else throw new Error('test frames stay under 64 KiB');
  if (!opts.mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** Decode one frame from the front of `buf`, or null if incomplete. */
function decodeFrame(buf: Buffer): { frame: Frame; size: number } | null {
  if (buf.length < 2) return null;
  let len = buf[1]! & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    throw new Error('test frames stay under 64 KiB');
  }
  const masked = (buf[1]! & 0x80) !== 0;
  const keyOff = off;
  if (masked) off += 4;
  if (buf.length < off + len) return null;
  const payload = Buffer.from(buf.subarray(off, off + len));
  if (masked) for (let i = 0; i < len; i++) payload[i]! ^= buf[keyOff + (i & 3)]!;
  return {
    frame: { fin: (buf[0]! & 0x80) !== 0, rsv1: (buf[0]! & 0x40) !== 0, opcode: buf[0]! & 0x0f, payload },
    size: off + len,
  };
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** RFC 7692 §7.2.1: compress, sync-flush, drop the 00 00 ff ff tail. */
function compress(data: Uint8Array, windowBits: number): Buffer {
  const out = zlib.deflateRawSync(data, { windowBits: deflaterWindowBits(windowBits), finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(out.subarray(-4), TAIL);
  return out.subarray(0, -4);
}

/**
 * RFC 7692 §7.2.2: append the tail, inflate. A stream, so that the window
 * carries over between messages (context takeover, §7.1.1).
 */
class Inflater {
  private readonly z: zlib.InflateRaw;
  constructor(windowBits: number) {
    this.z = zlib.createInflateRaw({ windowBits });
  }
  inflate(data: Uint8Array): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer): number => chunks.push(c);
    this.z.on('data', onData);
    this.z.write(Buffer.concat([data, TAIL]));
    return new Promise((resolve) =>
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('data', onData);
        resolve(Buffer.concat(chunks));
      }),
    );
  }
  close(): void {
    this.z.close();
  }
}

/** Reads frames from a socket, after the handshake's `rest`. */
class FrameReader {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  constructor(socket: net.Socket, rest: Uint8Array) {
    this.buf = Buffer.from(rest);
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async next(): Promise<Frame> {
    for (;;) {
      const r = decodeFrame(this.buf);
      if (r) {
        this.buf = this.buf.subarray(r.size);
        return r.frame;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

/** Connect, send the upgrade request, read the response head with HttpHeadParser. */
function rawHandshake(port: number, requestText: string): Promise<{ socket: net.Socket; head: HttpHead; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(requestText));
    const parser = new HttpHeadParser(16 * 1024);
    const onData = (chunk: Buffer): void => {
      try {
        const r = parser.push(chunk);
        if (r) {
          socket.off('data', onData);
          socket.pause();
          resolve({ socket, head: r.head, rest: r.rest });
        }
      } catch (err) {
        socket.destroy();
        reject(err);
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

/** A long, compressible message (above ws's 1024-byte threshold). */
const LONG = Buffer.from(
  Array.from({ length: 60 }, (_, i) => `[36,${i},{"topic":"com.example.tick"},["autostrada"]]`).join('\n'),
);

describe('cross-check: our client handshake against a ws server', () => {
  let wss: WebSocketServer;
  let port: number;

  async function listen(options: ConstructorParameters<typeof WebSocketServer>[0]): Promise<void> {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    port = (wss.address() as net.AddressInfo).port;
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.send('hello');
    });
  }
  async function close(): Promise<void> {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  /** Handshake with our functions; returns the validated result and a frame reader. */
  async function connect(deflate: DeflateOptions | null, protocols: string[] = ['wamp.2.cbor', 'wamp.2.json']) {
    const key = generateKey((b) => randomFillSync(b));
    const text = buildUpgradeRequest({
      host: `127.0.0.1:${port}`,
      path: '/ws',
      key,
      protocols,
      ...(deflate ? { extensions: formatExtensions([buildDeflateOffer(deflate)]) } : {}),
      origin: 'http://127.0.0.1',
    });
    const { socket, head, rest } = await rawHandshake(port, text);
    const result = validateUpgradeResponse(head, {
      key,
      protocols,
      extensionsOffered: deflate ? ['permessage-deflate'] : false,
    });
    const params = deflate && result.extensions.length > 0 ? acceptDeflateResponse(result.extensions[0]!, deflate) : null;
    const reader = new FrameReader(socket, rest);
    socket.resume();
    return { socket, result, params, reader };
  }

  /** The server's greeting, then a compressed echo in both directions. */
  async function exchange(c: Awaited<ReturnType<typeof connect>>, params: DeflateParams): Promise<void> {
    // ws compresses with the agreed server window; we inflate with it.
    const inflater = new Inflater(params.serverMaxWindowBits);
    try {
      const hello = await c.reader.next();
      assert.equal(hello.opcode, 1);
      // ws compresses even tiny messages while it keeps its context.
      const greeting = hello.rsv1 ? await inflater.inflate(hello.payload) : hello.payload;
      assert.equal(greeting.toString(), 'hello');
      // We compress with the agreed client window; ws inflates.
      c.socket.write(encodeFrame(1, compress(LONG, params.clientMaxWindowBits), { mask: true, rsv1: true }));
      const echo = await c.reader.next();
      assert.equal(echo.opcode, 1);
      assert.equal(echo.rsv1, true, 'ws compresses a message above its threshold');
      assert.deepEqual(await inflater.inflate(echo.payload), LONG);
    } finally {
      inflater.close();
    }
  }

  describe('ws server with permessage-deflate defaults', () => {
    before(() =>
      listen({
        perMessageDeflate: true,
        handleProtocols: (set) => (set.has('wamp.2.json') ? 'wamp.2.json' : false),
      }),
    );
    after(close);

    it('completes a handshake without an extension offer', async () => {
      const c = await connect(null);
      try {
        assert.equal(c.result.protocol, 'wamp.2.json');
        assert.deepEqual(c.result.extensions, []);
        const hello = await c.reader.next();
        assert.deepEqual([hello.fin, hello.opcode, hello.payload.toString()], [true, 1, 'hello']);
      } finally {
        c.socket.destroy();
      }
    });

    it('agrees on permessage-deflate with our default offer', async () => {
      const c = await connect({});
      try {
        assert.equal(c.result.headers.get('sec-websocket-extensions'), 'permessage-deflate');
        assert.deepEqual(c.params, {
          serverNoContextTakeover: false,
          clientNoContextTakeover: false,
          serverMaxWindowBits: 15,
          clientMaxWindowBits: 15,
        });
        await exchange(c, c.params!);
      } finally {
        c.socket.destroy();
      }
    });

    it('gets the server window it asks for', async () => {
      const c = await connect({ serverMaxWindowBits: 10, serverNoContextTakeover: true, clientMaxWindowBits: 12 });
      try {
        assert.deepEqual(c.params, {
          serverNoContextTakeover: true,
          clientNoContextTakeover: false,
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 12,
        });
        await exchange(c, c.params!);
      } finally {
        c.socket.destroy();
      }
    });

    it('sees no subprotocol when ws picks none', async () => {
      const c = await connect(null, ['mqtt']);
      try {
        assert.equal(c.result.protocol, '');
      } finally {
        c.socket.destroy();
      }
    });
  });

  describe('ws server that limits both windows', () => {
    before(() =>
      listen({
        perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: 11, serverNoContextTakeover: true },
      }),
    );
    after(close);

    it('accepts the limits ws imposes', async () => {
      const c = await connect({});
      try {
        assert.deepEqual(c.params, {
          serverNoContextTakeover: true,
          clientNoContextTakeover: false,
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 11,
        });
        await exchange(c, c.params!);
      } finally {
        c.socket.destroy();
      }
    });

    it('is refused when it cannot limit our window below its own limit', async () => {
      // We offer client_max_window_bits=10; ws wants 11 and may not answer
      // more than we offered (RFC 7692 §7.1.2.2), so it declines the offer,
      // and having no other, answers 400.
      const key = generateKey((b) => randomFillSync(b));
      const offer = { clientMaxWindowBits: 10 };
      const text = buildUpgradeRequest({ host: 'h', path: '/', key, extensions: formatExtensions([buildDeflateOffer(offer)]) });
      const { socket, head } = await rawHandshake(port, text);
      socket.destroy();
      assertWsError(
        () => validateUpgradeResponse(head, { key, protocols: [], extensionsOffered: ['permessage-deflate'] }),
        'WS_ERR_HANDSHAKE_REJECTED',
        400,
      );
    });
  });

  describe('ws server that rejects', () => {
    before(() => listen({ verifyClient: () => false }));
    after(close);

    it('reports its status as WS_ERR_HANDSHAKE_REJECTED', async () => {
      const key = generateKey((b) => randomFillSync(b));
      const { socket, head } = await rawHandshake(port, buildUpgradeRequest({ host: 'h', path: '/', key }));
      socket.destroy();
      assertWsError(() => validateUpgradeResponse(head, { key, protocols: [], extensionsOffered: false }), 'WS_ERR_HANDSHAKE_REJECTED', 401);
    });
  });
});

describe('cross-check: a ws client against our server handshake', () => {
  let server: net.Server;
  let port: number;
  let serverOptions: DeflateOptions = {};
  /** What the last connection agreed, seen from our side. */
  let lastParams: DeflateParams | null = null;
  let lastRequest: { version: number; origin: string | null; protocols: string[] } | null = null;
  const sockets = new Set<net.Socket>();

  before(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      const parser = new HttpHeadParser(16 * 1024);
      const onData = (chunk: Buffer): void => {
        let r;
        try {
          r = parser.push(chunk);
        } catch (err) {
          socket.end(buildRejectResponse((err as WebSocketError).status || 400));
          return;
        }
        if (!r) return;
        socket.off('data', onData);
        let req;
        try {
          req = parseUpgradeRequest(r.head);
        } catch (err) {
          socket.end(buildRejectResponse((err as WebSocketError).status));
          return;
        }
        if (req.path === '/forbidden') {
          socket.end(buildRejectResponse(403, { body: 'no' }));
          return;
        }
        lastRequest = { version: req.version, origin: req.origin, protocols: req.protocols };
        const agreed = negotiateDeflate(req.extensions, serverOptions);
        lastParams = agreed && agreed.params;
        const protocol = req.protocols.find((p) => p === 'wamp.2.json');
        socket.write(
          buildAcceptResponse({
            accept: computeAccept(req.key, nodeSha1),
            ...(protocol ? { protocol } : {}),
            ...(agreed ? { extensions: formatExtensions([agreed.response]) } : {}),
          }),
        );
        const params = agreed?.params;
        const reader = new FrameReader(socket, r.rest);
        // ws compresses with the client window we agreed; we inflate with it.
        const inflater = params ? new Inflater(params.clientMaxWindowBits) : null;
        socket.on('close', () => inflater?.close());
        // Greet: compressed when deflate was agreed (RFC 7692 §6: RSV1 on the first frame).
        const greeting = Buffer.from('hello from autostrada, '.repeat(20));
        socket.write(
          params
            ? encodeFrame(1, compress(greeting, params.serverMaxWindowBits), { mask: false, rsv1: true })
            : encodeFrame(1, greeting, { mask: false }),
        );
        // Echo the client's messages back, decompressed, uncompressed.
        void (async () => {
          for (;;) {
            const f = await reader.next();
            if (f.opcode === 8) {
              socket.end(encodeFrame(8, f.payload.subarray(0, 2), { mask: false }));
              return;
            }
            const data = f.rsv1 ? await inflater!.inflate(f.payload) : f.payload;
            socket.write(encodeFrame(f.opcode, data, { mask: false }));
          }
        })();
      };
      socket.on('data', onData);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /**
   * Open a ws client, collect the greeting and one echo of LONG (compressed
   * by ws). Returns the Sec-WebSocket-Extensions header ws accepted and the
   * parameters ws's PerMessageDeflate settled on (an internal of ws, read
   * only to cross-check our negotiation).
   */
  async function talk(wsOptions: WebSocket.ClientOptions, path = '/ws') {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, ['wamp.2.cbor', 'wamp.2.json'], wsOptions);
    const messages: string[] = [];
    let header: string | undefined;
    ws.once('upgrade', (res) => {
      header = res.headers['sec-websocket-extensions'] as string | undefined;
    });
    // Listen before 'open': the greeting may come in the same packet as the
    // 101 and be emitted before an await after 'open' returns.
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        messages.push(data.toString());
        if (messages.length === 2) resolve();
      });
      ws.once('error', reject);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const internal = ws as unknown as { _extensions: Record<string, { params: Record<string, unknown> } | undefined> };
      const wsParams = internal._extensions['permessage-deflate']?.params ?? null;
      ws.send(LONG.toString());
      await done;
      return { protocol: ws.protocol, header, wsParams: wsParams && { ...wsParams }, messages };
    } finally {
      ws.terminate();
    }
  }

  /** ws's accepted parameters in our shape (absent window bits mean 15). */
  function wsAgreed(p: Record<string, unknown> | null): DeflateParams | null {
    if (p === null) return null;
    return {
      serverNoContextTakeover: p.server_no_context_takeover === true,
      clientNoContextTakeover: p.client_no_context_takeover === true,
      serverMaxWindowBits: typeof p.server_max_window_bits === 'number' ? p.server_max_window_bits : 15,
      clientMaxWindowBits: typeof p.client_max_window_bits === 'number' ? p.client_max_window_bits : 15,
    };
  }
  const GREETING = 'hello from autostrada, '.repeat(20);

  it('ws connects with permessage-deflate and both sides agree (defaults)', async () => {
    serverOptions = {};
    const r = await talk({ perMessageDeflate: true });
    assert.equal(r.protocol, 'wamp.2.json');
    assert.equal(r.header, 'permessage-deflate');
    assert.deepEqual(lastParams, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
    assert.deepEqual(wsAgreed(r.wsParams), lastParams);
    assert.deepEqual(r.messages, [GREETING, LONG.toString()]);
  });

  it('ws honours the windows our server imposes', async () => {
    serverOptions = { serverMaxWindowBits: 10, clientMaxWindowBits: 11, clientNoContextTakeover: true };
    const r = await talk({ perMessageDeflate: true });
    assert.equal(r.header, 'permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11');
    assert.deepEqual(lastParams, {
      serverNoContextTakeover: false,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
    });
    assert.deepEqual(wsAgreed(r.wsParams), lastParams);
    assert.deepEqual(r.messages, [GREETING, LONG.toString()]);
  });

  it('honours what a ws client asks for', async () => {
    serverOptions = {};
    const r = await talk({
      perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
    });
    assert.equal(r.header, 'permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10');
    assert.deepEqual(lastParams, {
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 9,
      clientMaxWindowBits: 10,
    });
    assert.deepEqual(wsAgreed(r.wsParams), lastParams);
    assert.deepEqual(r.messages, [GREETING, LONG.toString()]);
  });

  it('accepts a ws client that demands server_max_window_bits=8 (compressing with 9)', async () => {
    serverOptions = {};
    const r = await talk({ perMessageDeflate: { serverMaxWindowBits: 8 } });
    assert.match(String(r.header), /server_max_window_bits=8/);
    assert.equal(lastParams?.serverMaxWindowBits, 8);
    assert.deepEqual(r.messages, [GREETING, LONG.toString()]);
  });

  it('works without permessage-deflate', async () => {
    serverOptions = {};
    const r = await talk({ perMessageDeflate: false });
    assert.equal(r.header, undefined);
    assert.equal(lastParams, null);
    assert.deepEqual(r.messages, [GREETING, LONG.toString()]);
  });

  it('accepts a hybi-08 ws client', async () => {
    serverOptions = {};
    await talk({ protocolVersion: 8, origin: 'http://example.com' });
    assert.deepEqual(lastRequest, { version: 8, origin: 'http://example.com', protocols: ['wamp.2.cbor', 'wamp.2.json'] });
  });

  it('ws sees our rejection', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/forbidden`);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          assert.equal(body, 'no');
          resolve(res.statusCode ?? 0);
        });
      });
      ws.once('open', () => reject(new Error('opened')));
    });
    assert.equal(status, 403);
    // Terminating a socket that never opened reports an error: expected here.
    ws.on('error', () => {});
    ws.terminate();
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFLATE_DEFAULTS,
  type DeflateOptions,
  type DeflateParams,
  acceptDeflateResponse,
  buildDeflateOffer,
  deflaterWindowBits,
  negotiateDeflate,
} from '../../../../src/core/deflate/negotiate.js';
import { formatExtensions, parseExtensions } from '../../../../src/core/ws/extensions.js';
import { WebSocketError } from '../../../../src/core/ws/errors.js';

/** Agreed parameters, written as the differences from the defaults. */
function agreed(p: Partial<DeflateParams> = {}): DeflateParams {
  return {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    ...p,
  };
}

/** Server side: negotiate a request's Sec-WebSocket-Extensions value. */
function serverNegotiates(header: string, opts: DeflateOptions = {}) {
  const r = negotiateDeflate(parseExtensions(header), opts);
  return r && { params: r.params, response: formatExtensions([r.response]) };
}

/** Client side: validate a response's Sec-WebSocket-Extensions value. */
function clientAccepts(header: string, opts: DeflateOptions = {}): DeflateParams {
  const exts = parseExtensions(header);
  assert.equal(exts.length, 1);
  return acceptDeflateResponse(exts[0]!, opts);
}

function assertClientFails(header: string, opts: DeflateOptions = {}, pattern?: RegExp): void {
  assert.throws(
    () => clientAccepts(header, opts),
    (err: unknown) =>
      err instanceof WebSocketError &&
      err.code === 'WS_ERR_INVALID_EXTENSION' &&
      (pattern === undefined || pattern.test(err.message)),
    `expected the client to fail on ${JSON.stringify(header)} with ${JSON.stringify(opts)}`,
  );
}

describe('buildDeflateOffer (client, RFC 7692 §7.1)', () => {
  const cases: Array<[DeflateOptions, string]> = [
    // By default we let the server limit our window, as browsers do (§7.1.2.2).
    [{}, 'permessage-deflate; client_max_window_bits'],
    [{ clientMaxWindowBits: true }, 'permessage-deflate; client_max_window_bits'],
    [{ clientMaxWindowBits: false }, 'permessage-deflate'],
    [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=10'],
    [{ serverMaxWindowBits: 8 }, 'permessage-deflate; server_max_window_bits=8; client_max_window_bits'],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 9 },
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9',
    ],
    // Tuning options never go on the wire.
    [{ threshold: 0, level: 9, memLevel: 1 }, 'permessage-deflate; client_max_window_bits'],
  ];
  for (const [opts, header] of cases) {
    it(`${JSON.stringify(opts)} → ${header}`, () => {
      assert.equal(formatExtensions([buildDeflateOffer(opts)]), header);
    });
  }

  it('rejects invalid window bits; 8 only for the window we inflate with', () => {
    for (const bad of [7, 16, 0, -1, 10.5, NaN]) {
      assert.throws(() => buildDeflateOffer({ serverMaxWindowBits: bad }), RangeError);
      assert.throws(() => buildDeflateOffer({ clientMaxWindowBits: bad }), RangeError);
    }
    // We would compress with it: zlib cannot.
    assert.throws(() => buildDeflateOffer({ clientMaxWindowBits: 8 }), /use 9/);
  });
});

describe('acceptDeflateResponse (client)', () => {
  const valid: Array<[string, DeflateOptions, Partial<DeflateParams>]> = [
    ['permessage-deflate', {}, {}],
    ['permessage-deflate', { clientMaxWindowBits: false }, {}],
    ['permessage-deflate; client_max_window_bits=10', {}, { clientMaxWindowBits: 10 }],
    ['permessage-deflate; client_max_window_bits="10"', {}, { clientMaxWindowBits: 10 }],
    // The server may choose any client window when we offered no value,
    // including 8: we compress with 9 (deflaterWindowBits).
    ['permessage-deflate; client_max_window_bits=8', {}, { clientMaxWindowBits: 8 }],
    ['permessage-deflate; client_max_window_bits=15', {}, { clientMaxWindowBits: 15 }],
    // Offered 12: the server may answer the same or less, or nothing (we still use 12).
    ['permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 12 }, { clientMaxWindowBits: 12 }],
    ['permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: 12 }, { clientMaxWindowBits: 9 }],
    ['permessage-deflate', { clientMaxWindowBits: 12 }, { clientMaxWindowBits: 12 }],
    // server_max_window_bits: unasked is fine (§7.1.2.1), asked: same or less.
    ['permessage-deflate; server_max_window_bits=11', {}, { serverMaxWindowBits: 11 }],
    ['permessage-deflate; server_max_window_bits=8', {}, { serverMaxWindowBits: 8 }],
    ['permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }, { serverMaxWindowBits: 10 }],
    ['permessage-deflate; server_max_window_bits=8', { serverMaxWindowBits: 10 }, { serverMaxWindowBits: 8 }],
    ['permessage-deflate', { serverMaxWindowBits: 15 }, {}],
    // no_context_takeover: the server may add either unasked (§7.1.1.1, §7.1.1.2).
    ['permessage-deflate; server_no_context_takeover', {}, { serverNoContextTakeover: true }],
    ['permessage-deflate; client_no_context_takeover', {}, { clientNoContextTakeover: true }],
    ['permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: true }, { serverNoContextTakeover: true }],
    // We announced client_no_context_takeover: we keep to it whatever the answer.
    ['permessage-deflate', { clientNoContextTakeover: true }, { clientNoContextTakeover: true }],
    // Case-insensitive names, any order.
    [
      'PerMessage-Deflate; Client_Max_Window_Bits=9; SERVER_NO_CONTEXT_TAKEOVER',
      {},
      { clientMaxWindowBits: 9, serverNoContextTakeover: true },
    ],
    [
      'permessage-deflate; client_max_window_bits=10; server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover',
      {},
      { clientMaxWindowBits: 10, serverMaxWindowBits: 9, clientNoContextTakeover: true, serverNoContextTakeover: true },
    ],
  ];
  for (const [header, opts, expected] of valid) {
    it(`accepts ${header} for ${JSON.stringify(opts)}`, () => {
      assert.deepEqual(clientAccepts(header, opts), agreed(expected));
    });
  }

  const invalid: Array<[string, DeflateOptions, RegExp]> = [
    // §7: parameters not defined for a response, bad values, duplicates.
    ['permessage-deflate; foo', {}, /unknown parameter "foo"/],
    ['permessage-deflate; foo=1', {}, /unknown parameter/],
    ['permessage-deflate; client_max_window_bits', {}, /must have a value in a response/],
    ['permessage-deflate; client_max_window_bits=7', {}, /invalid value/],
    ['permessage-deflate; client_max_window_bits=16', {}, /invalid value/],
    ['permessage-deflate; client_max_window_bits=010', {}, /invalid value/],
    ['permessage-deflate; client_max_window_bits=09', {}, /invalid value/],
    ['permessage-deflate; client_max_window_bits=+9', {}, /invalid value/],
    ['permessage-deflate; client_max_window_bits=1e1', {}, /invalid value/],
    ['permessage-deflate; client_max_window_bits=abc', {}, /invalid value/],
    ['permessage-deflate; server_max_window_bits', {}, /invalid value/],
    ['permessage-deflate; server_max_window_bits=0', {}, /invalid value/],
    ['permessage-deflate; server_max_window_bits=9.0', {}, /invalid value/],
    ['permessage-deflate; server_no_context_takeover=1', {}, /must have no value/],
    ['permessage-deflate; client_no_context_takeover="x"', {}, /must have no value/],
    ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, /duplicate/],
    ['permessage-deflate; server_max_window_bits=10; Server_Max_Window_Bits=10', {}, /duplicate/],
    ['permessage-deflate; client_max_window_bits=10; client_max_window_bits=9', {}, /duplicate/],
    // §7.1.2.2: MUST NOT answer client_max_window_bits when we did not offer it,
    ['permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: false }, /not in the offer/],
    // nor above the value we offered.
    ['permessage-deflate; client_max_window_bits=13', { clientMaxWindowBits: 12 }, /larger than the 12 offered/],
    // §7.1.2.1: the same or smaller value than we asked for, and not omitted.
    ['permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }, /larger than the 10 requested/],
    ['permessage-deflate', { serverMaxWindowBits: 10 }, /was requested but not accepted/],
    // §7.1.1.1: a server accepts server_no_context_takeover by including it.
    ['permessage-deflate', { serverNoContextTakeover: true }, /server_no_context_takeover was requested/],
    // Not a permessage-deflate response at all.
    ['x-webkit-deflate-frame', {}, /not a permessage-deflate response/],
  ];
  for (const [header, opts, pattern] of invalid) {
    it(`fails on ${header} for ${JSON.stringify(opts)}`, () => assertClientFails(header, opts, pattern));
  }
});

describe('negotiateDeflate (server)', () => {
  const valid: Array<[string, DeflateOptions, string, Partial<DeflateParams>]> = [
    // Browsers' offer.
    ['permessage-deflate; client_max_window_bits', {}, 'permessage-deflate', {}],
    ['permessage-deflate', {}, 'permessage-deflate', {}],
    // §7.1.1.1: accept server_no_context_takeover by echoing it.
    ['permessage-deflate; server_no_context_takeover', {}, 'permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: true }],
    // §7.1.1.2: echo client_no_context_takeover (lets our inflater drop its window).
    ['permessage-deflate; client_no_context_takeover', {}, 'permessage-deflate; client_no_context_takeover', { clientNoContextTakeover: true }],
    // Our own options are announced unasked.
    ['permessage-deflate', { serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: true }],
    ['permessage-deflate', { clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover', { clientNoContextTakeover: true }],
    ['permessage-deflate', { serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }],
    ['permessage-deflate', { serverMaxWindowBits: 15 }, 'permessage-deflate', {}],
    // §7.1.2.1: the same or a smaller value than offered.
    ['permessage-deflate; server_max_window_bits=10', {}, 'permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }],
    ['permessage-deflate; server_max_window_bits="10"', {}, 'permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }],
    ['permessage-deflate; server_max_window_bits=9', {}, 'permessage-deflate; server_max_window_bits=9', { serverMaxWindowBits: 9 }],
    ['permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }],
    ['permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 12 }, 'permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 10 }],
    // §7.1.2.2: limit the client only when it offered client_max_window_bits.
    ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: 10 }],
    ['permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: 10 }],
    ['permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: 9 }],
    ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 8 }, 'permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: 8 }],
    ['permessage-deflate', { clientMaxWindowBits: 15 }, 'permessage-deflate', {}],
    ['permessage-deflate', { clientMaxWindowBits: true }, 'permessage-deflate', {}],
    // A value the client offered is echoed: our inflater may use the smaller window.
    ['permessage-deflate; client_max_window_bits=11', {}, 'permessage-deflate; client_max_window_bits=11', { clientMaxWindowBits: 11 }],
    // The client may compress with 8: we only inflate with it.
    ['permessage-deflate; client_max_window_bits=8', {}, 'permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: 8 }],
    // Case-insensitive names; the response is written in lower case.
    ['PERMESSAGE-DEFLATE; Server_Max_Window_Bits=11', {}, 'permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 11 }],
    // Everything at once.
    [
      'permessage-deflate; client_max_window_bits=14; server_max_window_bits=13; client_no_context_takeover; server_no_context_takeover',
      { clientMaxWindowBits: 12, serverMaxWindowBits: 11 },
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12',
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 12 },
    ],
  ];
  for (const [header, opts, response, expected] of valid) {
    it(`accepts ${header} for ${JSON.stringify(opts)}`, () => {
      assert.deepEqual(serverNegotiates(header, opts), { params: agreed(expected), response });
    });
  }

  const declined: Array<[string, DeflateOptions, string]> = [
    // §7: invalid offers are declined.
    ['permessage-deflate; foo', {}, 'unknown parameter'],
    ['permessage-deflate; server_max_window_bits', {}, 'server_max_window_bits needs a value'],
    ['permessage-deflate; server_max_window_bits=16', {}, 'out of range'],
    ['permessage-deflate; server_max_window_bits=7', {}, 'out of range'],
    ['permessage-deflate; client_max_window_bits=16', {}, 'out of range'],
    ['permessage-deflate; client_max_window_bits=08', {}, 'leading zero'],
    ['permessage-deflate; server_no_context_takeover=true', {}, 'value on a flag'],
    ['permessage-deflate; client_no_context_takeover; client_no_context_takeover', {}, 'duplicate'],
    ['permessage-deflate; client_max_window_bits; client_max_window_bits=10', {}, 'duplicate'],
    // We would have to compress with a 256-byte window (zlib cannot).
    // Our inflater needs a limit the client did not let us set (§7.1.2.2).
    ['permessage-deflate', { clientMaxWindowBits: 10 }, 'cannot limit the client'],
    // Not ours.
    ['x-webkit-deflate-frame', {}, 'other extension'],
    ['', {}, 'no offer'],
  ];
  for (const [header, opts, why] of declined) {
    it(`declines ${JSON.stringify(header)} for ${JSON.stringify(opts)} (${why})`, () => {
      assert.equal(serverNegotiates(header, opts), null);
    });
  }

  it('accepts server_max_window_bits=8 (we compress with 9: matches never reach back past 250 bytes)', () => {
    for (const opts of [{}, { serverMaxWindowBits: 9 }]) {
      assert.deepEqual(serverNegotiates('permessage-deflate; server_max_window_bits=8', opts), {
        params: agreed({ serverMaxWindowBits: 8 }),
        response: 'permessage-deflate; server_max_window_bits=8',
      });
    }
  });

  it('takes the first acceptable of several offers (§5.1)', () => {
    // First is declined (7 is out of range), second invalid, third accepted.
    const header =
      'permessage-deflate; server_max_window_bits=7, permessage-deflate; bogus, x-foo, ' +
      'permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate';
    assert.deepEqual(serverNegotiates(header), {
      params: agreed({ serverMaxWindowBits: 10 }),
      response: 'permessage-deflate; server_max_window_bits=10',
    });
    // In preference order: the first valid one wins even if a later one is "better".
    assert.deepEqual(serverNegotiates('permessage-deflate, permessage-deflate; server_no_context_takeover'), {
      params: agreed(),
      response: 'permessage-deflate',
    });
    // A client that can be limited is preferred when we need a limit.
    assert.deepEqual(
      serverNegotiates('permessage-deflate, permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 9 }),
      { params: agreed({ clientMaxWindowBits: 9 }), response: 'permessage-deflate; client_max_window_bits=9' },
    );
  });

  it('rejects invalid options with RangeError', () => {
    const offer = parseExtensions('permessage-deflate; client_max_window_bits');
    assert.throws(() => negotiateDeflate(offer, { serverMaxWindowBits: 8 }), /use 9/);
    assert.throws(() => negotiateDeflate(offer, { serverMaxWindowBits: 16 }), RangeError);
    assert.throws(() => negotiateDeflate(offer, { clientMaxWindowBits: 7 }), RangeError);
    assert.throws(() => negotiateDeflate(offer, { clientMaxWindowBits: 9.5 }), RangeError);
  });
});

describe('both roles together', () => {
  const pairs: Array<[DeflateOptions, DeflateOptions]> = [
    [{}, {}],
    [{ serverNoContextTakeover: true }, {}],
    [{ clientNoContextTakeover: true }, {}],
    [{}, { clientNoContextTakeover: true, serverNoContextTakeover: true }],
    [{ serverMaxWindowBits: 10 }, {}],
    [{ serverMaxWindowBits: 12 }, { serverMaxWindowBits: 10 }],
    [{ serverMaxWindowBits: 10 }, { serverMaxWindowBits: 12 }],
    [{ clientMaxWindowBits: 11 }, {}],
    [{}, { clientMaxWindowBits: 11 }],
    [{}, { clientMaxWindowBits: 8 }],
    [{ clientMaxWindowBits: 12 }, { clientMaxWindowBits: 10 }],
    [{ clientMaxWindowBits: false }, {}],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    ],
  ];
  for (const [client, server] of pairs) {
    it(`client ${JSON.stringify(client)} / server ${JSON.stringify(server)}: both agree`, () => {
      // Through the wire format, as in a real handshake.
      const offerHeader = formatExtensions([buildDeflateOffer(client)]);
      const r = negotiateDeflate(parseExtensions(offerHeader), server);
      assert.ok(r, `server declined ${offerHeader}`);
      const [resp] = parseExtensions(formatExtensions([r.response]));
      const clientParams = acceptDeflateResponse(resp!, client);
      assert.deepEqual(clientParams, r.params);
    });
  }
});

describe('defaults and window bits', () => {
  it('has the documented defaults', () => {
    assert.deepEqual({ ...DEFLATE_DEFAULTS }, { threshold: 1024, level: 1, memLevel: 8 });
  });

  it('deflaterWindowBits raises 8 to 9 only', () => {
    assert.equal(deflaterWindowBits(8), 9);
    for (let b = 9; b <= 15; b++) assert.equal(deflaterWindowBits(b), b);
  });
});

/**
 * The RawSocket opening handshake (WAMP Advanced Profile, "RawSocket
 * Transport" → "Handshake"): four octets each way, sans-I/O.
 *
 * ```
 * request / success reply:  0111 1111  LLLL SSSS  RRRR RRRR  RRRR RRRR
 * error reply:              0111 1111  EEEE 0000  RRRR RRRR  RRRR RRRR
 * ```
 *
 * `L` announces the largest message the sender is willing to RECEIVE,
 * 2^(9+L) octets (512 B … 16 MiB); `S` the serializer (1 JSON, 2 MessagePack,
 * 3 CBOR); `E` an error number; `R` reserved, zero.
 *
 * @module
 */
import { RawSocketCloseCode, RawSocketError, RawSocketHandshakeError } from './errors.js';

/** First octet of every handshake request and reply (never the first octet of an HTTP request). */
export const RAWSOCKET_MAGIC = 0x7f;
/** Smallest maximum message length a handshake can announce (L = 0). */
export const RAWSOCKET_MIN_LENGTH = 2 ** 9;
/** Largest maximum message length a handshake can announce (L = 15), 16 MiB. */
export const RAWSOCKET_MAX_LENGTH = 2 ** 24;

/** RawSocket SERIALIZER values (WAMP: "1: JSON, 2: MessagePack, 3: CBOR"). */
export const RawSocketSerializer = { JSON: 1, MSGPACK: 2, CBOR: 3 } as const;

const HANDSHAKE_ERROR_TEXT: Readonly<Record<number, string>> = {
  0: 'illegal error number 0',
  1: 'serializer unsupported',
  2: 'maximum message length unacceptable',
  3: 'use of reserved bits (unsupported feature)',
  4: 'maximum connection count reached',
};

/** The spec's text for a handshake error number. */
export function handshakeErrorText(n: number): string {
  return HANDSHAKE_ERROR_TEXT[n] ?? `undefined handshake error ${n}`;
}

/**
 * The LENGTH exponent that announces at least `maxMessageSize` octets:
 * `ceil(log2(size)) - 9`, clamped to 0…15 (512 B … 16 MiB).
 *
 * @example
 * ```ts
 * console.log(lengthExponent(1000), lengthExponent(1 << 20), lengthExponent(1 << 30)); // 1 11 15
 * ```
 */
export function lengthExponent(maxMessageSize: number): number {
  if (!(maxMessageSize > 0)) throw new RangeError(`maxMessageSize must be > 0, got ${maxMessageSize}`);
  let e = 0;
  while (e < 15 && 2 ** (e + 9) < maxMessageSize) e++;
  return e;
}

/** Octets announced by a LENGTH exponent: 2^(9+L). */
export function exponentToLength(exponent: number): number {
  return 2 ** (9 + (exponent & 0x0f));
}

/** The 4-octet client request (also the success reply's shape). */
export function encodeHandshake(serializer: number, lengthExp: number): Uint8Array {
  if (!Number.isInteger(serializer) || serializer < 1 || serializer > 15) throw new RangeError(`serializer must be 1..15, got ${serializer}`);
  if (!Number.isInteger(lengthExp) || lengthExp < 0 || lengthExp > 15) throw new RangeError(`length exponent must be 0..15, got ${lengthExp}`);
  return Uint8Array.of(RAWSOCKET_MAGIC, (lengthExp << 4) | serializer, 0, 0);
}

/** A 4-octet error reply (`error` 1…15; 0 is illegal). */
export function encodeHandshakeError(error: number): Uint8Array {
  if (!Number.isInteger(error) || error < 1 || error > 15) throw new RangeError(`handshake error must be 1..15, got ${error}`);
  return Uint8Array.of(RAWSOCKET_MAGIC, error << 4, 0, 0);
}

/** Server-side rules for {@link acceptHandshake}. */
export interface HandshakePolicy {
  /** SERIALIZER values this side speaks. */
  serializers: readonly number[];
  /** Largest message we accept; announced rounded up to a power of two (see {@link lengthExponent}). */
  maxMessageSize: number;
  /**
   * Smallest receive limit we accept from the client: a client announcing
   * less is refused with error 2 ("maximum message length unacceptable").
   * Default 512 (any).
   */
  minPeerMaxLength?: number;
  /** Refuse with this error number whatever the request (e.g. 4 when at the connection limit). */
  refuse?: number;
}

/** The outcome of {@link acceptHandshake}. */
export type ServerHandshakeResult =
  | { ok: true; reply: Uint8Array; serializer: number; maxSendLength: number; maxReceiveLength: number }
  | { ok: false; reply: Uint8Array | null; error: RawSocketError };

/**
 * Router side: checks a client request (exactly 4 octets) and builds the
 * reply. On refusal `reply` is the error reply to send before closing, or
 * null where the spec says to fail without one (bad magic octet: "not a
 * WAMP-over-RawSocket request ... the Router MUST fail the connection").
 */
export function acceptHandshake(request: Uint8Array, policy: HandshakePolicy): ServerHandshakeResult {
  const b0 = request[0] as number;
  const b1 = request[1] as number;
  if (b0 !== RAWSOCKET_MAGIC) {
    return { ok: false, reply: null, error: new RawSocketError('RAWSOCKET_ERR_BAD_MAGIC', `handshake octet 1 is 0x${hex(b0)}, not 0x7f`) };
  }
  const refuse = (n: number, code: ConstructorParameters<typeof RawSocketError>[0], message: string): ServerHandshakeResult => ({
    ok: false,
    reply: encodeHandshakeError(n),
    error: new RawSocketError(code, message, RawSocketCloseCode.PROTOCOL_ERROR, n),
  });
  if (policy.refuse !== undefined) {
    const n = policy.refuse;
    const code = n === RawSocketHandshakeError.MAX_CONNECTIONS ? 'RAWSOCKET_ERR_MAX_CONNECTIONS' : 'RAWSOCKET_ERR_HANDSHAKE_REJECTED';
    return refuse(n, code, `refused: ${handshakeErrorText(n)}`);
  }
  // "The third and forth octet are reserved and MUST be all zeros for now."
  if (request[2] !== 0 || request[3] !== 0) {
    return refuse(RawSocketHandshakeError.RESERVED_BITS, 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS', 'reserved handshake octets 3-4 are not zero');
  }
  const serializer = b1 & 0x0f;
  // Serializer 0 is "illegal"; we answer as for any serializer we do not speak.
  if (serializer === 0 || !policy.serializers.includes(serializer)) {
    return refuse(RawSocketHandshakeError.SERIALIZER_UNSUPPORTED, 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED', `serializer ${serializer} is not supported`);
  }
  const maxSendLength = exponentToLength(b1 >> 4);
  if (maxSendLength < (policy.minPeerMaxLength ?? RAWSOCKET_MIN_LENGTH)) {
    return refuse(
      RawSocketHandshakeError.MAX_LENGTH_UNACCEPTABLE,
      'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE',
      `client accepts at most ${maxSendLength} octets per message, we need ${policy.minPeerMaxLength}`,
    );
  }
  const exp = lengthExponent(policy.maxMessageSize);
  // "the Router MUST echo the serializer value in SERIALIZER as requested by the Client"
  return { ok: true, reply: encodeHandshake(serializer, exp), serializer, maxSendLength, maxReceiveLength: exponentToLength(exp) };
}

/** The outcome of {@link parseHandshakeReply}. */
export type ClientHandshakeResult = { ok: true; maxSendLength: number } | { ok: false; error: RawSocketError };

/**
 * Client side: checks the router's 4-octet reply to a request for `serializer`.
 */
export function parseHandshakeReply(reply: Uint8Array, serializer: number): ClientHandshakeResult {
  const b0 = reply[0] as number;
  const b1 = reply[1] as number;
  if (b0 !== RAWSOCKET_MAGIC) {
    return { ok: false, error: new RawSocketError('RAWSOCKET_ERR_BAD_MAGIC', `handshake reply octet 1 is 0x${hex(b0)}, not 0x7f`) };
  }
  if (reply[2] !== 0 || reply[3] !== 0) {
    return { ok: false, error: new RawSocketError('RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS', 'reserved octets 3-4 of the handshake reply are not zero') };
  }
  const s = b1 & 0x0f;
  if (s === 0) {
    // Error reply: "The second octet has its lower 4 bits zero'ed".
    const n = b1 >> 4;
    const code =
      n === RawSocketHandshakeError.SERIALIZER_UNSUPPORTED ? 'RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED'
      : n === RawSocketHandshakeError.MAX_LENGTH_UNACCEPTABLE ? 'RAWSOCKET_ERR_MAX_LENGTH_UNACCEPTABLE'
      : n === RawSocketHandshakeError.RESERVED_BITS ? 'RAWSOCKET_ERR_HANDSHAKE_RESERVED_BITS'
      : n === RawSocketHandshakeError.MAX_CONNECTIONS ? 'RAWSOCKET_ERR_MAX_CONNECTIONS'
      : 'RAWSOCKET_ERR_HANDSHAKE_REJECTED';
    return { ok: false, error: new RawSocketError(code, `router refused the handshake: ${handshakeErrorText(n)}`, RawSocketCloseCode.PROTOCOL_ERROR, n) };
  }
  // "verify the serializer is the one we requested! if not, fail the connection!"
  if (s !== serializer) {
    return { ok: false, error: new RawSocketError('RAWSOCKET_ERR_SERIALIZER_MISMATCH', `router replied serializer ${s}, we requested ${serializer}`) };
  }
  return { ok: true, maxSendLength: exponentToLength(b1 >> 4) };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

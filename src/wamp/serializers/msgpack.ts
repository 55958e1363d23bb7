/**
 * `wamp.2.msgpack` (WAMP spec, Basic Profile "Serializers" → MessagePack).
 *
 * msgpackr options, chosen for interoperability with other WAMP peers:
 * - `useRecords: false`: no msgpackr record extension; objects are plain maps
 *   and maps decode to plain objects (`mapsAsObjects: true`). This also means
 *   msgpackr never builds record readers with `new Function`, so the codec
 *   runs under a CSP without `unsafe-eval` (msgpackr's own try/catch falls back
 *   if a peer sends record data anyway).
 * - `int64AsType: 'number'`: uint64/int64 decode to numbers, exact up to 2^53
 *   (every WAMP ID), like JSON; larger application integers round.
 * - `encodeUndefinedAsNil: true`: `undefined` becomes nil, not a msgpackr ext.
 * - `copyBuffers: true`: decoded binary does not alias the input buffer, which
 *   the transport may reuse.
 * - `variableMapSize: true`: fixmap/map16/map32 by size, like other encoders.
 * Binary (Uint8Array) is written as `bin`; decoded `bin` is a Uint8Array
 * (a Node Buffer, which is a Uint8Array subclass, under Node).
 */
import { C1, Packr, Unpackr } from 'msgpackr';
import { SerializationError, toSerializationError, type Serializer } from './types.js';
import { someLeaf, widenLargeIntegers } from './walk.js';

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
});
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  copyBuffers: true,
});

/** Serializes one WAMP message as MessagePack. */
export function encodeMsgpack(msg: unknown[]): Uint8Array {
  try {
    // msgpackr writes integers beyond 32 bits as float64; see widenLargeIntegers.
    return packr.pack(widenLargeIntegers(msg, false));
  } catch (err) {
    throw toSerializationError('MessagePack', 'encode', err);
  }
}

/** Deserializes exactly one MessagePack value (trailing bytes are an error). */
export function decodeMsgpack(data: string | Uint8Array): unknown {
  if (typeof data === 'string') throw toSerializationError('MessagePack', 'decode', 'text frame received, binary expected');
  try {
    const value: unknown = unpackr.unpack(data);
    // 0xC1 is "never used" in MessagePack; msgpackr decodes it to a marker
    // object instead of failing. Only look when the byte occurs at all.
    if (data.indexOf(0xc1) !== -1 && someLeaf(value, (v) => v === C1)) {
      throw new SerializationError('MessagePack decode failed: reserved byte 0xC1');
    }
    return value;
  } catch (err) {
    throw toSerializationError('MessagePack', 'decode', err);
  }
}

/** MessagePack serializer (`wamp.2.msgpack`, RawSocket serializer 2, binary frames). */
export class MsgpackSerializer implements Serializer {
  readonly id = 'msgpack' as const;
  readonly subprotocol = 'wamp.2.msgpack';
  readonly rawSocketId = 2;
  readonly binary = true;
  encode(msg: unknown[]): Uint8Array {
    return encodeMsgpack(msg);
  }
  decode(data: string | Uint8Array): unknown {
    return decodeMsgpack(data);
  }
}

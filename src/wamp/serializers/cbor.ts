/**
 * `wamp.2.cbor` (WAMP spec, Basic Profile "Serializers" → CBOR, RFC 8949).
 *
 * cbor-x options, chosen for interoperability with other WAMP peers:
 * - `useRecords: false`, `mapsAsObjects: true`, `useTag259ForMaps: false`:
 *   plain CBOR maps both ways, no cbor-x record tags (and so no record readers
 *   compiled with `new Function`).
 * - `tagUint8Array: false`: binary is a plain byte string (major type 2), no
 *   tag 64.
 * - `int64AsNumber: true`: 64-bit integers decode to numbers, exact up to 2^53
 *   (every WAMP ID), like JSON.
 * - `copyBuffers: true`: decoded byte strings do not alias the input.
 * - `variableMapSize: true`: the shortest map header (cbor-x otherwise always
 *   writes map16, which is valid but not the preferred serialization).
 */
import { Encoder, type Options } from 'cbor-x';
import { toSerializationError, type Serializer } from './types.js';
import { widenLargeIntegers } from './walk.js';

// `useTag259ForMaps` and `int64AsNumber` exist in cbor-x 1.6 but are missing from its typings.
const options: Options & { useTag259ForMaps: boolean; int64AsNumber: boolean } = {
  useRecords: false,
  mapsAsObjects: true,
  useTag259ForMaps: false,
  tagUint8Array: false,
  variableMapSize: true,
  int64AsNumber: true,
  copyBuffers: true,
};
const codec = new Encoder(options);

/** Serializes one WAMP message as CBOR. */
export function encodeCbor(msg: unknown[]): Uint8Array {
  try {
    // cbor-x writes integers beyond 32 bits as float64; see widenLargeIntegers.
    return codec.encode(widenLargeIntegers(msg, true));
  } catch (err) {
    throw toSerializationError('CBOR', 'encode', err);
  }
}

/** Deserializes exactly one CBOR data item (trailing bytes are an error). */
export function decodeCbor(data: string | Uint8Array): unknown {
  if (typeof data === 'string') throw toSerializationError('CBOR', 'decode', 'text frame received, binary expected');
  try {
    return codec.decode(data);
  } catch (err) {
    throw toSerializationError('CBOR', 'decode', err);
  }
}

/** CBOR serializer (`wamp.2.cbor`, RawSocket serializer 3, binary frames). */
export class CborSerializer implements Serializer {
  readonly id = 'cbor' as const;
  readonly subprotocol = 'wamp.2.cbor';
  readonly rawSocketId = 3;
  readonly binary = true;
  encode(msg: unknown[]): Uint8Array {
    return encodeCbor(msg);
  }
  decode(data: string | Uint8Array): unknown {
    return decodeCbor(data);
  }
}

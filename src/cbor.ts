/**
 * autostrada/cbor — the CBOR serializer (`wamp.2.cbor`, RawSocket
 * serializer 3), on cbor-x.
 *
 * @example
 * ```ts
 * import { CborSerializer } from 'autostrada/cbor';
 * const s = new CborSerializer();
 * const bytes = s.encode([1, 'realm1', {}]);
 * console.assert(JSON.stringify(s.decode(bytes)) === '[1,"realm1",{}]');
 * ```
 */
export { CborSerializer, encodeCbor, decodeCbor } from './wamp/serializers/cbor.js';
export { SerializationError } from './wamp/serializers/types.js';

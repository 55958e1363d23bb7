/**
 * WAMP serializers: registry and WebSocket subprotocol negotiation.
 */
import { CborSerializer } from './cbor.js';
import { JsonSerializer } from './json.js';
import { MsgpackSerializer } from './msgpack.js';
import { JsonBatchedSerializer, MsgpackBatchedSerializer, type BatchedSerializer } from './batched.js';
import type { Serializer, SerializerId } from './types.js';

export { SerializationError, WAMP_ERR_SERIALIZATION, type Serializer, type SerializerId } from './types.js';
export { JsonSerializer, encodeJson, decodeJson } from './json.js';
export { MsgpackSerializer, encodeMsgpack, decodeMsgpack } from './msgpack.js';
export { CborSerializer, encodeCbor, decodeCbor } from './cbor.js';
export {
  JsonBatchedSerializer,
  MsgpackBatchedSerializer,
  encodeJsonBatch,
  decodeJsonBatch,
  encodeMsgpackBatch,
  decodeMsgpackBatch,
  DEFAULT_MAX_BATCH_MESSAGES,
  type BatchedSerializer,
  type BatchLimits,
} from './batched.js';
export { base64Encode, base64Decode } from './base64.js';

/** The single-message serializers, by id. */
export const serializers: Readonly<Record<SerializerId, Serializer>> = Object.freeze({
  json: new JsonSerializer(),
  msgpack: new MsgpackSerializer(),
  cbor: new CborSerializer(),
});

/** The single-message serializers, by WebSocket subprotocol (`wamp.2.json`, ...). */
export const serializersBySubprotocol: ReadonlyMap<string, Serializer> = new Map(
  Object.values(serializers).map((s) => [s.subprotocol, s]),
);

/** The single-message serializers, by RawSocket handshake SERIALIZER value (1, 2, 3). */
export const serializersByRawSocketId: ReadonlyMap<number, Serializer> = new Map(
  Object.values(serializers).map((s) => [s.rawSocketId, s]),
);

/** The batched serializers, by WebSocket subprotocol (`wamp.2.json.batched`, ...). */
export const batchedSerializersBySubprotocol: ReadonlyMap<string, BatchedSerializer> = new Map(
  [new JsonBatchedSerializer(), new MsgpackBatchedSerializer()].map((s) => [s.subprotocol, s]),
);

/** Our default subprotocol preference: binary formats first. */
export const DEFAULT_SUBPROTOCOL_PREFERENCE: readonly string[] = Object.freeze([
  'wamp.2.cbor',
  'wamp.2.msgpack',
  'wamp.2.json',
]);

/**
 * Picks the WebSocket subprotocol: the first entry of `ourPreference` that the
 * peer offered (the chooser's preference decides, not the offer order).
 * Returns `null` when nothing matches (the handshake should then fail).
 */
export function negotiateSubprotocol(offeredByPeer: readonly string[], ourPreference: readonly string[]): string | null {
  const offered = new Set(offeredByPeer.map((p) => p.trim()));
  for (const p of ourPreference) if (offered.has(p)) return p;
  return null;
}

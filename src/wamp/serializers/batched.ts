/**
 * Batched WebSocket modes (WAMP spec, Advanced Profile "Message Batching"):
 *
 * - `wamp.2.json.batched`: each JSON message followed by one 0x1E (record
 *   separator): `msg1 0x1E msg2 0x1E ...`. JSON text never contains a raw
 *   0x1E (JSON.stringify escapes control characters as \u001e), so splitting
 *   on it is exact.
 * - `wamp.2.msgpack.batched`: each MessagePack message prefixed with its
 *   length as a uint32, big-endian (prefix excluded from the length).
 *
 * "Sending a batch of length 0 (no WAMP message) is illegal and a Peer MUST
 * fail the transport" — encoding and decoding an empty batch both throw.
 * `wamp.2.cbor.batched` is listed by the spec without a framing and is not
 * implemented.
 */
export { DEFAULT_MAX_BATCH_MESSAGES, type BatchLimits, type BatchedSerializer } from './types.js';
export { encodeJsonBatch, decodeJsonBatch, JsonBatchedSerializer } from './json.js';
export { encodeMsgpackBatch, decodeMsgpackBatch, MsgpackBatchedSerializer } from './msgpack.js';

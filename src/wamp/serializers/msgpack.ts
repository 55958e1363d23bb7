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
import {
  SerializationError,
  maxOf,
  requireNonEmpty,
  toSerializationError,
  type BatchedSerializer,
  type BatchLimits,
  type Serializer,
} from './types.js';
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

/** Encodes messages as `wamp.2.msgpack.batched` bytes. */
export function encodeMsgpackBatch(msgs: readonly unknown[][]): Uint8Array {
  requireNonEmpty(msgs.length);
  const parts = msgs.map(encodeMsgpack);
  let total = 0;
  for (const p of parts) {
    if (p.length > 0xffffffff) throw new SerializationError('MessagePack message too long for a uint32 length prefix');
    total += 4 + p.length;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const p of parts) {
    view.setUint32(pos, p.length); // big-endian
    out.set(p, pos + 4);
    pos += 4 + p.length;
  }
  return out;
}

/** Decodes `wamp.2.msgpack.batched` bytes. */
export function decodeMsgpackBatch(data: string | Uint8Array, limits?: BatchLimits): unknown[] {
  if (typeof data === 'string') throw new SerializationError('MessagePack batch decode failed: text frame received, binary expected');
  requireNonEmpty(data.length);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const max = maxOf(limits);
  const out: unknown[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 4) {
      throw new SerializationError('MessagePack batch decode failed (truncated input): incomplete length prefix', {
        incomplete: true,
      });
    }
    const len = view.getUint32(pos);
    pos += 4;
    if (len > data.length - pos) {
      throw new SerializationError(
        `MessagePack batch decode failed (truncated input): message declares ${len} bytes, ${data.length - pos} remain`,
        { incomplete: true },
      );
    }
    if (out.length === max) throw new SerializationError(`MessagePack batch holds more than ${max} messages`);
    out.push(decodeMsgpack(data.subarray(pos, pos + len)));
    pos += len;
  }
  return out;
}

/** `wamp.2.msgpack.batched` (binary frames). */
export class MsgpackBatchedSerializer implements BatchedSerializer {
  readonly id = 'msgpack' as const;
  readonly subprotocol = 'wamp.2.msgpack.batched';
  readonly binary = true;
  encodeBatch(msgs: readonly unknown[][]): Uint8Array {
    return encodeMsgpackBatch(msgs);
  }
  decodeBatch(data: string | Uint8Array, limits?: BatchLimits): unknown[] {
    return decodeMsgpackBatch(data, limits);
  }
}

/** MessagePack serializer (`wamp.2.msgpack`, RawSocket serializer 2, binary frames). */
export class MsgpackSerializer implements Serializer {
  readonly id = 'msgpack' as const;
  readonly subprotocol = 'wamp.2.msgpack';
  readonly rawSocketId = 2;
  readonly binary = true;
  readonly batched: BatchedSerializer = new MsgpackBatchedSerializer();
  encode(msg: unknown[]): Uint8Array {
    return encodeMsgpack(msg);
  }
  decode(data: string | Uint8Array): unknown {
    return decodeMsgpack(data);
  }
}

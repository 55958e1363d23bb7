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
import { decodeJson, encodeJson } from './json.js';
import { decodeMsgpack, encodeMsgpack } from './msgpack.js';
import { SerializationError } from './types.js';

/** Limits applied while decoding a batch. */
export interface BatchLimits {
  /** Maximum number of messages accepted in one batch (default 10000). */
  readonly maxMessages?: number;
}

/** Default for {@link BatchLimits.maxMessages}. */
export const DEFAULT_MAX_BATCH_MESSAGES = 10000;

/** A batched WAMP serialization binding. */
export interface BatchedSerializer {
  /** Underlying format id. */
  readonly id: 'json' | 'msgpack';
  /** WebSocket subprotocol, e.g. `'wamp.2.json.batched'`. */
  readonly subprotocol: string;
  /** Whether the transport message is binary. */
  readonly binary: boolean;
  /**
   * Serializes one or more WAMP messages into one transport message.
   * @throws {@link SerializationError} on an empty batch or unencodable value.
   */
  encodeBatch(msgs: readonly unknown[][]): string | Uint8Array;
  /**
   * Deserializes one transport message into its messages, in order.
   * @throws {@link SerializationError} on an empty, truncated or malformed batch.
   */
  decodeBatch(data: string | Uint8Array, limits?: BatchLimits): unknown[];
}

const RS = '\u001e';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function requireNonEmpty(n: number): void {
  if (n === 0) throw new SerializationError('a batch of length 0 is illegal (WAMP "Message Batching")');
}

function maxOf(limits: BatchLimits | undefined): number {
  return limits?.maxMessages ?? DEFAULT_MAX_BATCH_MESSAGES;
}

/** Encodes messages as `wamp.2.json.batched` text. */
export function encodeJsonBatch(msgs: readonly unknown[][]): string {
  requireNonEmpty(msgs.length);
  let out = '';
  for (const m of msgs) out += encodeJson(m) + RS;
  return out;
}

/** Decodes `wamp.2.json.batched` text (or its UTF-8 bytes). */
export function decodeJsonBatch(data: string | Uint8Array, limits?: BatchLimits): unknown[] {
  let text: string;
  try {
    text = typeof data === 'string' ? data : utf8.decode(data);
  } catch (err) {
    throw new SerializationError('JSON batch decode failed: invalid UTF-8', { cause: err });
  }
  requireNonEmpty(text.length);
  if (text.charCodeAt(text.length - 1) !== 0x1e) {
    throw new SerializationError('JSON batch decode failed (truncated input): last message lacks its 0x1E terminator', {
      incomplete: true,
    });
  }
  const max = maxOf(limits);
  const out: unknown[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf(RS, start);
    if (out.length === max) throw new SerializationError(`JSON batch holds more than ${max} messages`);
    out.push(decodeJson(text.slice(start, end)));
    start = end + 1;
  }
  return out;
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

/** `wamp.2.json.batched` (text frames). */
export class JsonBatchedSerializer implements BatchedSerializer {
  readonly id = 'json' as const;
  readonly subprotocol = 'wamp.2.json.batched';
  readonly binary = false;
  encodeBatch(msgs: readonly unknown[][]): string {
    return encodeJsonBatch(msgs);
  }
  decodeBatch(data: string | Uint8Array, limits?: BatchLimits): unknown[] {
    return decodeJsonBatch(data, limits);
  }
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

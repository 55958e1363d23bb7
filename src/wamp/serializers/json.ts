/**
 * `wamp.2.json` (WAMP spec, Basic Profile "Serializers" → JSON, RFC 7159) with
 * the Advanced Profile "Binary support in JSON" convention: a byte array is
 * sent as the string "\u0000" + Base64(bytes); a string starting with "\u0000"
 * is received as a byte array.
 */
import { base64Decode, base64Encode } from './base64.js';
import {
  SerializationError,
  maxOf,
  requireNonEmpty,
  toSerializationError,
  type BatchedSerializer,
  type BatchLimits,
  type Serializer,
} from './types.js';
import { MAX_EXACT, mapLeaves } from './walk.js';

const MAX_EXACT_BIG = BigInt(MAX_EXACT);

const RS = '\u001e';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function binaryToString(v: unknown): unknown {
  if (v instanceof Uint8Array) return '\u0000' + base64Encode(v);
  if (typeof v === 'bigint') {
    // JSON numbers are doubles for every mainstream peer; refuse silently lossy output.
    if (v >= -MAX_EXACT_BIG && v <= MAX_EXACT_BIG) return Number(v);
    throw new SerializationError(`JSON cannot carry integer ${v} exactly (beyond 2^53)`);
  }
  return v;
}

function reviveBinary(_key: string, v: unknown): unknown {
  return typeof v === 'string' && v.charCodeAt(0) === 0 ? base64Decode(v, 1) : v;
}

/** Serializes one WAMP message as JSON text (binary as "\u0000"+Base64). */
export function encodeJson(msg: unknown[]): string {
  try {
    // One copy-on-write walk; a message without binary or bigint is not copied.
    // Measured on a typical 6-element EVENT (Node 20): stringify alone ~1.5 µs,
    // walk + stringify ~1.9 µs, stringify with a replacer function ~3.9 µs.
    return JSON.stringify(mapLeaves(msg, binaryToString));
  } catch (err) {
    throw toSerializationError('JSON', 'encode', err);
  }
}

/** Parses one JSON text (string or UTF-8 bytes); "\u0000"-strings become Uint8Array. */
export function decodeJson(data: string | Uint8Array): unknown {
  try {
    const text = typeof data === 'string' ? data : utf8.decode(data);
    // A NUL inside a JSON string must be written as the escape \u0000 (raw control
    // characters are invalid JSON), so without that escape there is no binary
    // value and the reviver (much slower) is skipped.
    return text.includes('\\u0000') ? JSON.parse(text, reviveBinary) : JSON.parse(text);
  } catch (err) {
    throw toSerializationError('JSON', 'decode', err);
  }
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

/** JSON serializer (`wamp.2.json`, RawSocket serializer 1, text frames). */
export class JsonSerializer implements Serializer {
  readonly id = 'json' as const;
  readonly subprotocol = 'wamp.2.json';
  readonly rawSocketId = 1;
  readonly binary = false;
  readonly batched: BatchedSerializer = new JsonBatchedSerializer();
  encode(msg: unknown[]): string {
    return encodeJson(msg);
  }
  decode(data: string | Uint8Array): unknown {
    return decodeJson(data);
  }
}

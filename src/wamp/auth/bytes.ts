/**
 * Byte helpers shared by the authentication methods: strict hex and Base64
 * decoding that reports failure as `undefined` (callers turn that into a
 * {@link WampAuthError} naming the field), constant-time comparison, XOR.
 *
 * @internal
 * @module
 */
import { base64Decode, base64Encode } from '../serializers/base64.js';

export { base64Encode };

const UTF8 = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return UTF8.encode(s);
}

/** Standard Base64 (RFC 4648 §4), padding optional; `undefined` when malformed. */
export function fromBase64(s: unknown): Uint8Array | undefined {
  if (typeof s !== 'string') return undefined;
  try {
    return base64Decode(s);
  } catch {
    return undefined;
  }
}

/** Standard Base64 without `=` padding (the PHC string format argon2 uses). */
export function base64Unpadded(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/=+$/, '');
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return s;
}

/**
 * Hex (either case) to bytes; `undefined` when not hex or (with `length`) not
 * exactly that many bytes.
 */
export function fromHex(s: unknown, length?: number): Uint8Array | undefined {
  if (typeof s !== 'string' || !HEX.test(s)) return undefined;
  if (length !== undefined && s.length !== length * 2) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Compares two byte strings in time that depends only on their lengths
 * (never on where they differ).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Bytewise XOR of two equally long byte strings. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xor: lengths differ (${a.length} vs ${b.length})`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Cryptographically strong random bytes (WebCrypto, present in every runtime we support). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** Whether `v` is a safe integer in [min, max]. */
export function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

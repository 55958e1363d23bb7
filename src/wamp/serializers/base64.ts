/**
 * Standard Base64 (RFC 4648 section 4), as required by the WAMP JSON binary
 * convention ("Binary support in JSON"). Works on Uint8Array only, no Buffer.
 */
import { SerializationError } from './types.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes to padded standard Base64. */
export function base64Encode(bytes: Uint8Array): string {
  const n = bytes.length;
  const parts: string[] = [];
  let chunk = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const t = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    chunk +=
      ALPHABET[t >> 18]! + ALPHABET[(t >> 12) & 63]! + ALPHABET[(t >> 6) & 63]! + ALPHABET[t & 63]!;
    // Keep string ropes short: flatten every ~48 KiB of output.
    if (chunk.length >= 49152) {
      parts.push(chunk);
      chunk = '';
    }
  }
  const rest = n - i;
  if (rest === 1) {
    const t = bytes[i]! << 16;
    chunk += ALPHABET[t >> 18]! + ALPHABET[(t >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const t = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    chunk += ALPHABET[t >> 18]! + ALPHABET[(t >> 12) & 63]! + ALPHABET[(t >> 6) & 63]! + '=';
  }
  parts.push(chunk);
  return parts.join('');
}

/**
 * Decodes standard Base64. Padding is optional; any other character, or a
 * length that cannot come from Base64 (4k+1), is rejected.
 * @throws {@link SerializationError}
 */
export function base64Decode(text: string, start = 0): Uint8Array {
  let end = text.length;
  if (end > start && text.charCodeAt(end - 1) === 61) end--;
  if (end > start && text.charCodeAt(end - 1) === 61) end--;
  const len = end - start;
  if (len % 4 === 1) throw new SerializationError('invalid Base64: bad length');
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) throw new SerializationError(`invalid Base64 character at offset ${i - start}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

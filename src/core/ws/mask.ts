/**
 * Payload masking (RFC 6455 §5.3).
 *
 * Three paths, chosen by size from measurement (bench/micro/mask.mjs, Node
 * 20.20, x64, 2 shared cores so expect ±30% noise; ns/op, best of 3):
 *
 *   in place        byte loop  applyMask  bufferutil (native)
 *     16 B               21        23          70
 *    125 B              271       140          83
 *     1 KiB            2363       330         136
 *    64 KiB          137692     13022        4133
 *     1 MiB         2267477    219867       64034
 *
 *   copy + mask     byte loop  maskInto   bufferutil (native)
 *     16 B               31        26          99
 *    125 B              336       163         109
 *     1 KiB            2953       374         168
 *    64 KiB          200265     18869        4833
 *     1 MiB         3272121    276958       89358
 *
 * - Up to ~128 B a byte loop wins, unrolled by four with the key bytes in
 *   locals (2-3x the plain `key[i & 3]` loop): building a Uint32Array view
 *   costs ~50-100 ns, a fixed price the word loop only earns back from about
 *   128-192 B (crossover table in the benchmark). Hence WORD_MIN / COPY_MIN.
 * - Above that, XOR a 32-bit word at a time over the aligned middle: ~10x the
 *   byte loop, ~5 GB/s. A DataView word loop was 2x slower than Uint32Array.
 * - Native bufferutil is still 3-4x faster from 1 KiB on (64-bit words, C),
 *   but costs ~70 ns per call below that and cannot run off Node; a Node
 *   adapter may plug it in for large payloads. The core stays pure JS.
 */

// RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i") is
// the XOR of octet i of the original data ("original-octet-i") with octet at
// index i modulo 4 of the masking key ("masking-key-octet-j"):
//     j                   = i MOD 4
//     transformed-octet-i = original-octet-i XOR masking-key-octet-j"

/** From this many bytes on, applyMask works a word at a time (see the figures above). */
const WORD_MIN = 128;
/** From this many bytes on, maskInto copies then masks words in place. */
const COPY_MIN = 128;

// The key as one 32-bit word in the platform's byte order: write the key bytes
// in memory order into `keyBytes` and read them back through `keyWord`, which
// reinterprets them in whatever endianness the platform has. So the word XOR
// below is correct on little- and big-endian hosts without a branch. Used only
// synchronously inside applyMask, so sharing one scratch buffer is safe.
const keyBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyBytes.buffer);

function checkRange(length: number, start: number, end: number): void {
  if (!(start >= 0 && start <= end && end <= length)) {
    throw new RangeError(`mask range [${start}, ${end}) outside 0..${length}`);
  }
}

/**
 * XOR `data[start..end)` in place with the 4-byte masking `key`.
 *
 * `phase` is the key index for `data[start]`: the offset of that byte within
 * the frame payload, mod 4 (only its low two bits are used). A payload that
 * arrives in pieces is unmasked piece by piece by passing the running offset.
 * Masking and unmasking are the same operation.
 *
 * @example
 * ```ts
 * const key = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
 * const payload = new TextEncoder().encode('Hello'); // RFC 6455 §5.7 example
 * applyMask(payload, key);                            // 7f 9f 4d 51 58
 * // The same payload in two pieces: the second starts at payload offset 3.
 * const a = payload.subarray(0, 3), b = payload.subarray(3);
 * applyMask(a, key, 0);
 * applyMask(b, key, 3);                               // "Hello" again
 * ```
 */
export function applyMask(data: Uint8Array, key: Uint8Array, phase = 0, start = 0, end: number = data.length): void {
  if (key.length < 4) throw new RangeError('masking key must be 4 bytes');
  checkRange(data.length, start, end);
  // Key index of data[i] is (i + shift) & 3.
  const shift = (phase - start) & 3;
  let i = start;

  if (end - start >= WORD_MIN) {
    // Unaligned head, byte by byte, up to a 4-byte-aligned address.
    const head = (4 - ((data.byteOffset + i) & 3)) & 3;
    for (const h = i + head; i < h; i++) data[i] ^= key[(i + shift) & 3];

    // Aligned middle, a word at a time, with the key rotated to start at i's phase.
    const r = i + shift;
    keyBytes[0] = key[r & 3];
    keyBytes[1] = key[(r + 1) & 3];
    keyBytes[2] = key[(r + 2) & 3];
    keyBytes[3] = key[(r + 3) & 3];
    const k = keyWord[0];
    const n = (end - i) >>> 2;
    const words = new Uint32Array(data.buffer, data.byteOffset + i, n);
    let w = 0;
    for (const n4 = n & ~3; w < n4; w += 4) {
      words[w] ^= k;
      words[w + 1] ^= k;
      words[w + 2] ^= k;
      words[w + 3] ^= k;
    }
    for (; w < n; w++) words[w] ^= k;
    i += n * 4;
  } else {
    // Small input: bytes, four per iteration with the key bytes in locals.
    const r = i + shift;
    const k0 = key[r & 3];
    const k1 = key[(r + 1) & 3];
    const k2 = key[(r + 2) & 3];
    const k3 = key[(r + 3) & 3];
    for (const e = end - 3; i < e; i += 4) {
      data[i] ^= k0;
      data[i + 1] ^= k1;
      data[i + 2] ^= k2;
      data[i + 3] ^= k3;
    }
  }

  // Tail (fewer than 4 bytes).
  for (; i < end; i++) data[i] ^= key[(i + shift) & 3];
}

/**
 * Write `src` XOR `key` (phase 0) into `dst` starting at `dstOffset`, leaving
 * `src` untouched: the encoder builds a masked frame (RFC 6455 §5.3) in its
 * output buffer, right after the header, without a separate copy.
 * `src` and the target range of `dst` must not partly overlap.
 */
export function maskInto(src: Uint8Array, key: Uint8Array, dst: Uint8Array, dstOffset: number): void {
  if (key.length < 4) throw new RangeError('masking key must be 4 bytes');
  const len = src.length;
  checkRange(dst.length, dstOffset, dstOffset + len);
  if (len < COPY_MIN) {
    const k0 = key[0];
    const k1 = key[1];
    const k2 = key[2];
    const k3 = key[3];
    let i = 0;
    for (let o = dstOffset, e = len - 3; i < e; i += 4, o += 4) {
      dst[o] = src[i] ^ k0;
      dst[o + 1] = src[i + 1] ^ k1;
      dst[o + 2] = src[i + 2] ^ k2;
      dst[o + 3] = src[i + 3] ^ k3;
    }
    for (; i < len; i++) dst[dstOffset + i] = src[i] ^ key[i & 3];
    return;
  }
  // Copy (memcpy), then mask in place with the aligned word loop: src and dst
  // rarely share an alignment (the header is 2, 4, 8 or 14 bytes), and
  // copy + word XOR beats a fused byte loop (see the figures above).
  dst.set(src, dstOffset);
  applyMask(dst, key, 0, dstOffset, dstOffset + len);
}

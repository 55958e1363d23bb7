/** Small byte helpers shared by the stages (isomorphic: Uint8Array only). */

const EMPTY = new Uint8Array(0);

/**
 * Join chunks into one array: no copy for a single chunk; `alloc` lets a
 * runtime supply an uninitialised buffer (Node: Buffer.allocUnsafe) instead
 * of a zero-filled one that is overwritten at once.
 */
export function joinChunks(chunks: readonly Uint8Array[], total: number, alloc?: (size: number) => Uint8Array): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  if (chunks.length === 0) return EMPTY;
  const out = alloc ? alloc(total) : new Uint8Array(total);
  let off = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i] as Uint8Array;
    out.set(c, off);
    off += c.length;
  }
  return out;
}

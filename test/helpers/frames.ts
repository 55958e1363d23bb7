/** Test helpers that make tests read like the spec. */
import { encodeFrame } from '../../src/core/ws/encoder.js';

export const enc = new TextEncoder();

/** Bytes of one frame, as a peer would send it (masked when `mask` is given). */
export function frame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), opts: { fin?: boolean; rsv1?: boolean; rsv2?: boolean; rsv3?: boolean; mask?: Uint8Array | null } = {}): Uint8Array {
  const data = typeof payload === 'string' ? enc.encode(payload) : payload;
  const out: Uint8Array[] = [];
  encodeFrame({ write: (c) => out.push(c.slice()) }, opcode, opts.fin ?? true, opts.rsv1 ?? false, data, opts.mask ?? null);
  const bytes = join(out);
  if (opts.rsv2) bytes[0] = (bytes[0] as number) | 0x20;
  if (opts.rsv3) bytes[0] = (bytes[0] as number) | 0x10;
  return bytes;
}

/** A client frame (masked with a fixed key). */
export function clientFrame(opcode: number, payload: Uint8Array | string = new Uint8Array(0), opts: { fin?: boolean; rsv1?: boolean; rsv2?: boolean; rsv3?: boolean } = {}): Uint8Array {
  return frame(opcode, payload, { ...opts, mask: new Uint8Array([0x37, 0xfa, 0x21, 0x3d]) });
}

export function join(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Every way of cutting `bytes` in two, plus byte-by-byte. Copies (the decoder unmasks in place). */
export function* splits(bytes: Uint8Array): Generator<Uint8Array[]> {
  yield [bytes.slice()];
  for (let i = 1; i < bytes.length; i++) yield [bytes.slice(0, i), bytes.slice(i)];
  yield Array.from(bytes, (b) => new Uint8Array([b]));
}

export function close(code?: number, reason = ''): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const r = enc.encode(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(r, 2);
  return out;
}

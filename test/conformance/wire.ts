/**
 * A raw WebSocket peer for the conformance suites, in the role of the
 * Autobahn Testsuite's fuzzer: its own framing and handshake over node:net,
 * written independently of src/ (sharing code with the implementation under
 * test would let one bug hide another).
 *
 * It sends frames exactly as a case says — masked or not, any RSV bits and
 * opcode, chopped into TCP writes — and reads the peer's frames, checking
 * every rule RFC 6455 / RFC 7692 sets for them (masking direction, RSV bits,
 * control-frame limits, fragmentation order, UTF-8 of text and close
 * reasons). Received messages become Autobahn-style events
 * (`message` / `ping` / `pong`); the Close frame and the TCP close are
 * recorded apart, so a case can assert who closed, with what, and when.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** RFC 7692 §7.2.2: the tail a sender strips and a receiver appends. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** mulberry32: a small seeded PRNG, so every run sends the same bytes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function bytes(p: Uint8Array | string | undefined): Buffer {
  if (p === undefined) return Buffer.alloc(0);
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  /** RSV1..3 as a 3-bit number (RSV1 = 4, RSV2 = 2, RSV3 = 1), as Autobahn's `rsv`. */
  rsv?: number;
  /** 4-byte masking key, or null for an unmasked frame. */
  mask?: Uint8Array | null;
}

/** Bytes of one frame (RFC 6455 §5.2), with the shortest length encoding. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = bytes(spec.payload);
  const len = payload.length;
  const mask = spec.mask ?? null;
  const ext = len > 0xffff ? 8 : len > 125 ? 2 : 0;
  const head = 2 + ext + (mask ? 4 : 0);
  const out = Buffer.allocUnsafe(head + len);
  out[0] = (spec.fin === false ? 0 : 0x80) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0x0f);
  out[1] = (mask ? 0x80 : 0) | (ext === 8 ? 127 : ext === 2 ? 126 : len);
  if (ext === 2) out.writeUInt16BE(len, 2);
  else if (ext === 8) {
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  if (mask) {
    out.set(mask.subarray(0, 4), 2 + ext);
    const k0 = mask[0] as number, k1 = mask[1] as number, k2 = mask[2] as number, k3 = mask[3] as number;
    let i = 0;
    let o = head;
    for (; i + 4 <= len; i += 4, o += 4) {
      out[o] = (payload[i] as number) ^ k0;
      out[o + 1] = (payload[i + 1] as number) ^ k1;
      out[o + 2] = (payload[i + 2] as number) ^ k2;
      out[o + 3] = (payload[i + 3] as number) ^ k3;
    }
    for (; i < len; i++, o++) out[o] = (payload[i] as number) ^ (mask[i & 3] as number);
  } else {
    payload.copy(out, head);
  }
  return out;
}

/** Close payload: empty, or code + UTF-8 reason (a Buffer reason is sent as is, valid or not). */
export function closePayload(code?: number, reason: string | Buffer = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason;
  const out = Buffer.alloc(2 + r.length);
  out.writeUInt16BE(code, 0);
  r.copy(out, 2);
  return out;
}

export interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
}

/** Incremental frame parser over any cut of the input; large payloads are joined once. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;
  private need = 0;
  private head: { b0: number; masked: boolean; hl: number; key: Buffer | null } | null = null;

  push(chunk: Buffer): WireFrame[] {
    this.chunks.push(chunk);
    this.total += chunk.length;
    const out: WireFrame[] = [];
    for (;;) {
      if (this.head === null) {
        if (this.total < 2) break;
        const h2 = this.peek(2);
        const b1 = h2[1] as number;
        const masked = (b1 & 0x80) !== 0;
        const l7 = b1 & 0x7f;
        const hl = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0) + (masked ? 4 : 0);
        if (this.total < hl) break;
        const h = this.peek(hl);
        let len = l7;
        if (l7 === 126) len = h.readUInt16BE(2);
        else if (l7 === 127) len = h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6);
        this.head = { b0: h[0] as number, masked, hl, key: masked ? Buffer.from(h.subarray(hl - 4, hl)) : null };
        this.need = hl + len;
      }
      if (this.total < this.need) break;
      const all = this.take(this.need);
      const { b0, masked, hl, key } = this.head;
      this.head = null;
      const payload = Buffer.from(all.subarray(hl)); // own copy: unmasking must not touch the chunk
      if (key) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number);
      out.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    }
    return out;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const parts: Buffer[] = [];
    let have = 0;
    for (const c of this.chunks) {
      parts.push(c);
      have += c.length;
      if (have >= n) break;
    }
    return Buffer.concat(parts).subarray(0, n);
  }

  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const c = this.chunks[0] as Buffer;
      if (have + c.length <= n) {
        parts.push(c);
        have += c.length;
        this.chunks.shift();
      } else {
        const k = n - have;
        parts.push(c.subarray(0, k));
        this.chunks[0] = c.subarray(k);
        have = n;
      }
    }
    this.total -= n;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }
}

/** What a case observes, as Autobahn records it. */
export type Ev = { type: 'message'; binary: boolean; data: Buffer } | { type: 'ping' | 'pong'; data: Buffer };

export const msg = (data: Uint8Array | string, binary = false): Ev => ({ type: 'message', binary, data: bytes(data) });
export const pong = (data: Uint8Array | string = ''): Ev => ({ type: 'pong', data: bytes(data) });

/** Events in a form assert.deepEqual diffs readably (long payloads as length + SHA-1). */
export function show(evs: readonly Ev[]): string[] {
  return evs.map((e) => {
    const d = e.data;
    const body = d.length <= 48 ? (isUtf8(d) && !d.some((b) => b < 0x20) ? JSON.stringify(d.toString()) : `0x${d.toString('hex')}`) : `${d.length} B sha1 ${createHash('sha1').update(d).digest('hex').slice(0, 12)}`;
    return e.type === 'message' ? `${e.binary ? 'binary' : 'text'} ${body}` : `${e.type} ${body}`;
  });
}

/** permessage-deflate as agreed, seen from this raw peer. */
export interface PmdParams {
  /** The peer resets its compressor after each message: inflate each on its own (a strict check). */
  peerNoContextTakeover: boolean;
  /** We must reset ours. */
  ourNoContextTakeover: boolean;
  /** The peer's largest window, 8..15 (we inflate with exactly this window). */
  peerMaxWindowBits: number;
  /** Ours, 8..15 (zlib compresses with at least 9; at 9 it never reaches back more than 250 bytes). */
  ourMaxWindowBits: number;
}

/** Context-keeping zlib stream used message by message (write + Z_SYNC_FLUSH). */
class ZStream {
  private out: Buffer[] = [];
  private error: Error | null = null;
  constructor(private readonly z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (c: Buffer) => this.out.push(c));
    z.on('error', (e: Error) => {
      this.error = e;
    });
  }
  run(data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.z.write(data);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.error) return reject(this.error);
        const r = Buffer.concat(this.out);
        this.out = [];
        resolve(r);
      });
    });
  }
  close(): void {
    this.z.close();
  }
}

/**
 * One end of a WebSocket connection driven by a test. `role` is the role this
 * raw peer plays: 'client' masks what it sends and expects unmasked frames.
 */
export class RawConn {
  readonly role: 'client' | 'server';
  readonly socket: Socket;
  /** Every frame received, in order. */
  readonly frames: WireFrame[] = [];
  /** Messages, pings and pongs received before the Close frame. */
  readonly events: Ev[] = [];
  /** RFC violations seen in the peer's frames. */
  readonly violations: string[] = [];
  /** The peer's Close frame: code null when it had no payload. */
  close: { code: number | null; reason: string } | null = null;
  /** Sent our Close frame. */
  closeSent = false;
  /** The first Close frame this peer built (to send): its code, null when empty. */
  firstClose: { code: number | null } | null = null;
  /** The peer half-closed (TCP FIN) / the socket is fully closed. */
  peerEnded = false;
  socketClosed = false;
  /** The peer had already closed TCP when its Close frame was processed. */
  peerEndedBeforeCloseExchange = false;
  pmd: PmdParams | null = null;

  private readonly reader = new FrameReader();
  private readonly random: () => number;
  private chain: Promise<void> = Promise.resolve();
  private waiters = new Set<() => void>();
  private fragments: Buffer[] | null = null;
  private fragOpcode = 0;
  private fragCompressed = false;
  private inflater: ZStream | null = null;
  private deflater: ZStream | null = null;

  constructor(socket: Socket, role: 'client' | 'server', seed: number, head?: Buffer) {
    this.socket = socket;
    this.role = role;
    this.random = rng(seed);
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.receive(c));
    // Through the chain, so the TCP close is ordered after the frames before it
    // (frames are handled asynchronously when they need inflating).
    socket.on('end', () => {
      this.chain = this.chain.then(() => {
        this.peerEnded = true;
        this.notify();
      });
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.chain = this.chain.then(() => {
        this.socketClosed = true;
        this.peerEnded = true;
        this.inflater?.close();
        this.deflater?.close();
        this.notify();
      });
    });
    if (head && head.length) this.receive(head);
  }

  // ---- sending --------------------------------------------------------------

  private maskKey(): Buffer | null {
    if (this.role !== 'client') return null;
    const k = Buffer.alloc(4);
    for (let i = 0; i < 4; i++) k[i] = Math.floor(this.random() * 256);
    return k;
  }

  /** Frame bytes as this peer sends them (masked when a client, unless `mask` is given). */
  frame(spec: FrameSpec): Buffer {
    if (spec.opcode === OP.CLOSE && this.firstClose === null) {
      const p = bytes(spec.payload);
      this.firstClose = { code: p.length >= 2 ? p.readUInt16BE(0) : null };
    }
    return encodeFrame({ ...spec, mask: spec.mask === undefined ? this.maskKey() : spec.mask });
  }

  /**
   * Write bytes; with `chop`, in writes of that many bytes, yielding to the
   * event loop between them (Autobahn's chopsize: one write per reactor turn).
   */
  async write(data: Buffer, chop = 0): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (!chop || chop >= data.length) {
      this.socket.write(data);
      return;
    }
    for (let i = 0; i < data.length; i += chop) {
      if (this.socket.destroyed || this.socket.writableEnded) return;
      this.socket.write(data.subarray(i, i + chop));
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Send one frame; `sync` waits a turn after it (Autobahn's frame-wise chops). */
  async send(spec: FrameSpec, opts: { chop?: number; sync?: boolean } = {}): Promise<void> {
    if (spec.opcode === OP.CLOSE) this.closeSent = true;
    await this.write(this.frame(spec), opts.chop ?? 0);
    if (opts.sync) await new Promise((r) => setTimeout(r, 1));
  }

  sendClose(code?: number, reason: string | Buffer = ''): Promise<void> {
    return this.send({ opcode: OP.CLOSE, payload: closePayload(code, reason) });
  }

  /**
   * Send a message, compressed when permessage-deflate was agreed (and
   * `compress` is not false), split into frames of `fragSize` bytes of
   * (compressed) payload when given — Autobahn's auto-fragmentation.
   */
  async sendMessage(data: Uint8Array | string, binary: boolean, opts: { fragSize?: number; compress?: boolean; chop?: number } = {}): Promise<void> {
    let payload = bytes(data);
    const compressed = this.pmd !== null && opts.compress !== false;
    if (compressed) payload = await this.deflate(payload);
    const frag = opts.fragSize && opts.fragSize > 0 ? opts.fragSize : Math.max(payload.length, 1);
    const parts: Buffer[] = [];
    for (let i = 0; i < payload.length; i += frag) parts.push(this.frame({ opcode: i === 0 ? (binary ? OP.BINARY : OP.TEXT) : OP.CONT, payload: payload.subarray(i, i + frag), fin: i + frag >= payload.length, rsv: i === 0 && compressed ? 4 : 0 }));
    if (parts.length === 0) parts.push(this.frame({ opcode: binary ? OP.BINARY : OP.TEXT, payload, rsv: compressed ? 4 : 0 }));
    await this.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), opts.chop ?? 0);
  }

  private async deflate(data: Buffer): Promise<Buffer> {
    const pmd = this.pmd as PmdParams;
    const windowBits = Math.max(9, pmd.ourMaxWindowBits);
    let out: Buffer;
    if (pmd.ourNoContextTakeover) {
      out = zlib.deflateRawSync(data, { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } else {
      this.deflater ??= new ZStream(zlib.createDeflateRaw({ windowBits }));
      out = await this.deflater.run(data);
    }
    // §7.2.1: remove the 0x00 0x00 0xff 0xff that ends the sync flush.
    if (out.length >= 4 && out.subarray(out.length - 4).equals(TAIL)) out = out.subarray(0, out.length - 4);
    return out;
  }

  /** Half-close TCP (FIN). */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- receiving ------------------------------------------------------------

  private receive(chunk: Buffer): void {
    let frames: WireFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.violations.push(`unparsable bytes: ${(err as Error).message}`);
      return;
    }
    for (const f of frames) {
      this.frames.push(f);
      this.chain = this.chain.then(() => this.handle(f)).catch((err: Error) => {
        this.violations.push(`receive: ${err.message}`);
        this.notify();
      });
    }
  }

  private async handle(f: WireFrame): Promise<void> {
    const v = this.violations;
    if (this.close) {
      // §5.5.1: "The application MUST NOT send any more data frames after sending a Close frame."
      v.push(`frame (opcode ${f.opcode}) after the Close frame`);
      return;
    }
    // §5.1: clients mask, servers do not.
    if (f.masked !== (this.role === 'server')) v.push(`opcode ${f.opcode}: frame ${f.masked ? 'masked' : 'unmasked'} from the ${this.role === 'server' ? 'client' : 'server'}`);
    if (f.opcode >= 8) {
      if (![OP.CLOSE, OP.PING, OP.PONG].includes(f.opcode as 8)) v.push(`reserved control opcode ${f.opcode}`);
      if (!f.fin) v.push(`fragmented control frame (opcode ${f.opcode})`);
      if (f.payload.length > 125) v.push(`control frame with ${f.payload.length} bytes`);
      if (f.rsv) v.push(`RSV ${f.rsv} on a control frame`);
      if (f.opcode === OP.PING) this.push({ type: 'ping', data: f.payload });
      else if (f.opcode === OP.PONG) this.push({ type: 'pong', data: f.payload });
      else if (f.opcode === OP.CLOSE) this.onClose(f.payload);
      return;
    }
    if (f.opcode !== OP.CONT && f.opcode !== OP.TEXT && f.opcode !== OP.BINARY) {
      v.push(`reserved data opcode ${f.opcode}`);
      return;
    }
    // RFC 7692 §6: RSV1 marks the first frame of a compressed message, when agreed.
    const rsv1Ok = this.pmd !== null && f.opcode !== OP.CONT;
    if ((f.rsv & 4 && !rsv1Ok) || f.rsv & 3) v.push(`RSV ${f.rsv} on opcode ${f.opcode}`);
    if (f.opcode === OP.CONT) {
      if (!this.fragments) {
        v.push('continuation frame without a message');
        return;
      }
      this.fragments.push(f.payload);
    } else {
      if (this.fragments) v.push('new data frame inside a fragmented message');
      this.fragments = [f.payload];
      this.fragOpcode = f.opcode;
      this.fragCompressed = (f.rsv & 4) !== 0;
    }
    if (!f.fin) return;
    let data: Buffer = Buffer.concat(this.fragments);
    this.fragments = null;
    if (this.fragCompressed) data = await this.inflate(data);
    const binary = this.fragOpcode === OP.BINARY;
    if (!binary && !isUtf8(data)) v.push('text message is not valid UTF-8');
    this.push({ type: 'message', binary, data });
  }

  private async inflate(data: Buffer): Promise<Buffer> {
    const pmd = this.pmd as PmdParams;
    const windowBits = pmd.peerMaxWindowBits;
    // A small output chunk makes zlib resolve back-references through its
    // window, so a distance beyond 2^windowBits fails ("too far back").
    const chunkSize = windowBits < 15 ? 64 : 16 * 1024;
    if (pmd.peerNoContextTakeover) {
      // Inflating each message with a fresh window fails if the peer kept its context.
      return zlib.inflateRawSync(Buffer.concat([data, TAIL]), { windowBits, chunkSize, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    }
    this.inflater ??= new ZStream(zlib.createInflateRaw({ windowBits, chunkSize }));
    return this.inflater.run(Buffer.concat([data, TAIL]));
  }

  private onClose(p: Buffer): void {
    const v = this.violations;
    let code: number | null = null;
    let reason = '';
    if (p.length === 1) v.push('Close frame with a 1-byte payload');
    if (p.length >= 2) {
      code = p.readUInt16BE(0);
      // §7.4: codes an endpoint may send.
      if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))) v.push(`Close frame with code ${code}`);
      const r = p.subarray(2);
      if (!isUtf8(r)) v.push('Close reason is not valid UTF-8');
      reason = r.toString('utf8');
    }
    if (this.peerEnded) this.peerEndedBeforeCloseExchange = true;
    this.close = { code, reason };
    this.notify();
  }

  private push(e: Ev): void {
    this.events.push(e);
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true as soon as `pred()` holds, false after `ms`. */
  waitFor(pred: () => boolean, ms: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!pred()) return;
        done(true);
      };
      const timer = setTimeout(() => done(false), ms);
      const done = (r: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(r);
      };
      this.waiters.add(check);
    });
  }

  /** Resolves after every frame received so far was processed (inflation is async). */
  settled(): Promise<void> {
    return this.chain;
  }
}

// ---- handshake ----------------------------------------------------------------

export interface HttpHead {
  start: string;
  headers: Map<string, string>;
}

/** Read an HTTP head; resolves with it and the bytes after it. */
function readHead(socket: Socket, ms: number): Promise<{ head: HttpHead; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error('no HTTP head within ' + ms + ' ms')), ms);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      cleanup();
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim().toLowerCase();
        const val = line.slice(i + 1).trim();
        headers.set(k, headers.has(k) ? `${headers.get(k)}, ${val}` : val);
      }
      resolve({ head: { start: lines[0] as string, headers }, rest: buf.subarray(end + 4) });
    };
    const onEnd = (): void => fail(new Error('connection closed before the HTTP head'));
    const fail = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/**
 * Connect as a raw client and upgrade; rejects unless the server answers 101
 * with a correct Sec-WebSocket-Accept. `extensions` is sent as
 * Sec-WebSocket-Extensions verbatim.
 */
export async function rawConnect(port: number, opts: { path?: string; extensions?: string; seed?: number } = {}): Promise<{ conn: RawConn; headers: Map<string, string> }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const seed = opts.seed ?? 1;
  const r = rng(seed ^ 0x5bd1e995);
  const key = Buffer.from(Array.from({ length: 16 }, () => Math.floor(r() * 256))).toString('base64');
  const lines = [
    `GET ${opts.path ?? '/'} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (opts.extensions) lines.push(`Sec-WebSocket-Extensions: ${opts.extensions}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  const { head, rest } = await readHead(socket, 5000);
  if (!/^HTTP\/1\.1 101 /.test(head.start)) throw new Error(`upgrade refused: ${head.start}`);
  if (head.headers.get('sec-websocket-accept') !== acceptKey(key)) throw new Error('wrong Sec-WebSocket-Accept');
  if (!/websocket/i.test(head.headers.get('upgrade') ?? '') || !/upgrade/i.test(head.headers.get('connection') ?? '')) throw new Error('101 without Upgrade/Connection headers');
  return { conn: new RawConn(socket, 'client', seed, rest), headers: head.headers };
}

/** A raw server: hands each upgraded connection (role 'server') to `onConn`. */
export interface RawServer {
  port: number;
  close(): Promise<void>;
}

export async function rawServer(
  respond: (path: string, headers: Map<string, string>) => { extensions?: string | null },
  onConn: (conn: RawConn, path: string, headers: Map<string, string>) => void,
): Promise<RawServer> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    readHead(socket, 5000).then(
      ({ head, rest }) => {
        const path = (head.start.split(' ')[1] ?? '/') as string;
        const key = head.headers.get('sec-websocket-key') ?? '';
        const { extensions } = respond(path, head.headers);
        const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`];
        if (extensions) lines.push(`Sec-WebSocket-Extensions: ${extensions}`);
        socket.write(lines.join('\r\n') + '\r\n\r\n', 'latin1');
        onConn(new RawConn(socket, 'server', ++n, rest), path, head.headers);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---- permessage-deflate negotiation, checked strictly (RFC 7692 §7) -------------

export type ExtParams = Map<string, string | true>;

/** Parse a Sec-WebSocket-Extensions value (no quoted strings needed here). */
export function parseExtensions(header: string | undefined): Array<{ name: string; params: ExtParams }> {
  if (!header) return [];
  return header.split(',').map((el) => {
    const [name, ...ps] = el.split(';').map((s) => s.trim());
    const params: ExtParams = new Map();
    for (const p of ps) {
      const i = p.indexOf('=');
      if (i < 0) params.set(p.toLowerCase(), true);
      else params.set(p.slice(0, i).trim().toLowerCase(), p.slice(i + 1).trim().replace(/^"(.*)"$/, '$1'));
    }
    return { name: (name as string).toLowerCase(), params };
  });
}

/**
 * Why `response` is not a valid answer to `offer` (RFC 7692 §7.1), or null
 * when it is one.
 */
export function checkDeflateResponse(offer: ExtParams, response: ExtParams): string | null {
  const bits = (v: string | true | undefined): number | null => (typeof v === 'string' && /^(?:[89]|1[0-5])$/.test(v) ? Number(v) : null);
  for (const [k, v] of response) {
    if (k === 'server_no_context_takeover' || k === 'client_no_context_takeover') {
      if (v !== true) return `${k} with a value`;
    } else if (k === 'server_max_window_bits' || k === 'client_max_window_bits') {
      if (bits(v) === null) return `${k}=${String(v)} is not 8..15`;
    } else return `unknown parameter ${k}`;
  }
  if (offer.has('server_no_context_takeover') && !response.has('server_no_context_takeover')) return 'server_no_context_takeover asked for, not granted';
  const asked = bits(offer.get('server_max_window_bits'));
  const got = bits(response.get('server_max_window_bits'));
  if (asked !== null && (got === null || got > asked)) return `server_max_window_bits=${asked} asked for, response ${got ?? 'none'}`;
  if (response.has('client_max_window_bits')) {
    if (!offer.has('client_max_window_bits')) return 'client_max_window_bits in the response but not in the offer';
    const cap = bits(offer.get('client_max_window_bits'));
    if (cap !== null && (bits(response.get('client_max_window_bits')) as number) > cap) return 'client_max_window_bits above the offered value';
  }
  return null;
}

/** The agreed parameters as `side` ('client' | 'server') sees them. */
export function pmdParams(response: ExtParams, side: 'client' | 'server'): PmdParams {
  const serverBits = response.has('server_max_window_bits') ? Number(response.get('server_max_window_bits')) : 15;
  const clientBits = response.has('client_max_window_bits') ? Number(response.get('client_max_window_bits')) : 15;
  const snct = response.has('server_no_context_takeover');
  const cnct = response.has('client_no_context_takeover');
  return side === 'client'
    ? { peerNoContextTakeover: snct, ourNoContextTakeover: cnct, peerMaxWindowBits: serverBits, ourMaxWindowBits: clientBits }
    : { peerNoContextTakeover: cnct, ourNoContextTakeover: snct, peerMaxWindowBits: clientBits, ourMaxWindowBits: serverBits };
}

/**
 * A node:net / node:tls socket as a {@link Transport}, wired to a connection.
 * The only WebSocket code that touches a Node socket.
 */
import type { Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { createHash, randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { RuntimeHooks, Transport, WebSocketConnection } from '../../connection.js';
import { applyMask } from '../../core/ws/mask.js';

/**
 * bufferutil (an optional dependency, by ws's authors) unmasks with native
 * SIMD code: 3-4x our word-at-a-time JS from 1 KiB up (bench/micro/mask.mjs),
 * while below ~128 B the JS loop wins (no native call). Used when it loads.
 */
const nativeUnmask = ((): ((data: Uint8Array, key: Uint8Array, phase: number) => void) | null => {
  let unmask: (buffer: Uint8Array, mask: Uint8Array) => void;
  try {
    const mod = createRequire(import.meta.url)('bufferutil') as { unmask?: (buffer: Uint8Array, mask: Uint8Array) => void };
    if (typeof mod.unmask !== 'function') return null;
    unmask = mod.unmask;
    const probe = new Uint8Array(8);
    unmask(probe, new Uint8Array([1, 2, 3, 4]));
    if (probe[5] !== 2) return null;
  } catch {
    return null;
  }
  const rotated = Buffer.alloc(4);
  return (data, key, phase) => {
    if (data.length < 1024) {
      applyMask(data, key, phase);
      return;
    }
    if (phase === 0) {
      unmask(data, key);
      return;
    }
    // The piece starts mid-key: rotate the key so byte 0 uses key[phase].
    for (let i = 0; i < 4; i++) rotated[i] = key[(i + phase) & 3] as number;
    unmask(data, rotated);
  };
})();

const kTransport = Symbol('autostrada.transport');
type BoundSocket = Socket & { [kTransport]: SocketTransport };

/** Largest batch that is joined into one buffer rather than written as a list. */
const JOIN_LIMIT = 64 * 1024;

/**
 * Frames written during one tick are sent together on the next tick, joined
 * into a single buffer while small: an echo of 8 pipelined messages costs one
 * write syscall, not 8. Socket listeners are shared functions that find their
 * transport through a symbol (as ws does): no closures per connection.
 */
export class SocketTransport implements Transport {
  readonly socket: Socket;
  readonly conn: WebSocketConnection;
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  lastError: Error | undefined = undefined;

  constructor(socket: Socket, conn: WebSocketConnection) {
    this.socket = socket;
    this.conn = conn;
    (socket as BoundSocket)[kTransport] = this;
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('drain', onDrain);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  write(chunk: Uint8Array): void {
    if (this.pending === null) {
      this.pending = [chunk];
      this.pendingBytes = chunk.length;
      process.nextTick(flushTransport, this);
    } else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
  }

  /** Send what this tick wrote. */
  flush(): void {
    const list = this.pending;
    if (list === null) return;
    const total = this.pendingBytes;
    this.pending = null;
    this.pendingBytes = 0;
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    if (list.length === 1) s.write(list[0] as Uint8Array);
    else if (total <= JOIN_LIMIT) s.write(Buffer.concat(list, total));
    else {
      s.cork();
      for (let i = 0; i < list.length; i++) s.write(list[i] as Uint8Array);
      s.uncork();
    }
    // Node emits 'drain' only after a write returned false: report an empty
    // buffer ourselves, or a waiter (e.g. after an async deflate) never wakes.
    if (s.writableLength === 0) this.conn.transportDrained();
  }

  end(): void {
    this.flush();
    const s = this.socket;
    if (!s.destroyed && !s.writableEnded) s.end();
  }

  /**
   * Flush and close. The OS still sends what it has taken (then FIN): close(2)
   * drops only what is unread. Frames Node could not hand over yet are sent
   * first (destroySoon: end, then destroy once written).
   */
  close(): boolean {
    this.flush();
    const s = this.socket;
    if (s.destroyed) return true;
    if (s.writableLength === 0) {
      s.destroy();
      return true;
    }
    s.destroySoon();
    return false;
  }

  destroy(): void {
    this.pending = null;
    this.pendingBytes = 0;
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get bufferedAmount(): number {
    return this.socket.writableLength + this.pendingBytes;
  }
}

function flushTransport(t: SocketTransport): void {
  t.flush();
}

function onData(this: Socket, chunk: Buffer): void {
  (this as BoundSocket)[kTransport].conn.receive(chunk);
}

function onDrain(this: Socket): void {
  (this as BoundSocket)[kTransport].conn.transportDrained();
}

/** Peer half-closed: finish our side too (its Close frame, if any, was processed). */
function onEnd(this: Socket): void {
  (this as BoundSocket)[kTransport].end();
}

function onError(this: Socket, err: Error): void {
  (this as BoundSocket)[kTransport].lastError = err;
}

function onClose(this: Socket): void {
  const t = (this as BoundSocket)[kTransport];
  t.conn.transportClosed(t.lastError);
}

/** SHA-1 with node:crypto, for the handshake's Sec-WebSocket-Accept check. */
export function nodeSha1(data: Uint8Array): Uint8Array {
  return createHash('sha1').update(data).digest();
}

// A pool of random bytes for mask keys: one syscall per 8 KiB frames' worth (like ws).
const pool = Buffer.allocUnsafe(8192);
let poolPos = pool.length;

/** Node's native helpers for the core: Buffer text codec, simdutf UTF-8 check, pooled mask keys. */
export const nodeHooks: Required<RuntimeHooks> = {
  alloc: (n) => Buffer.allocUnsafe(n),
  unmask: nativeUnmask ?? applyMask,
  encodeText: (s) => Buffer.from(s, 'utf8'),
  decodeText: (b) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString('utf8'),
  isUtf8: (b) => isUtf8(b),
  maskKey: (out) => {
    if (poolPos + 4 > pool.length) {
      randomFillSync(pool);
      poolPos = 0;
    }
    out[0] = pool[poolPos++] as number;
    out[1] = pool[poolPos++] as number;
    out[2] = pool[poolPos++] as number;
    out[3] = pool[poolPos++] as number;
  },
};

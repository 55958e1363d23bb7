/**
 * A node:net / node:tls socket as a {@link Transport}, wired to a connection.
 * The only WebSocket code that touches a Node socket.
 */
import type { Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import type { RuntimeHooks, Transport, WebSocketConnection } from '../../connection.js';

/**
 * Writes in one tick are corked and flushed together on the next tick: an
 * echo of 8 pipelined messages becomes one writev instead of 8 syscalls.
 */
export class SocketTransport implements Transport {
  private readonly socket: Socket;
  private readonly conn: WebSocketConnection;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
    // Written at once: node emits 'drain' only after a write returned false,
    // so a waiting `drain` (e.g. after an async deflate queue emptied) would never come.
    if (this.socket.writableLength === 0) this.conn.transportDrained();
  };

  constructor(socket: Socket, conn: WebSocketConnection) {
    this.socket = socket;
    this.conn = conn;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    socket.on('data', (chunk: Buffer) => conn.receive(chunk));
    socket.on('drain', () => conn.transportDrained());
    // Peer half-closed: finish our side too (its Close frame, if any, was processed).
    socket.on('end', () => socket.end());
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => conn.transportClosed(lastError));
  }

  write(chunk: Uint8Array): void {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(this.uncork);
    }
    s.write(chunk);
  }

  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }
}

// A pool of random bytes for mask keys: one syscall per 8 KiB frames' worth (like ws).
const pool = Buffer.allocUnsafe(8192);
let poolPos = pool.length;

/** Node's native helpers for the core: Buffer text codec, simdutf UTF-8 check, pooled mask keys. */
export const nodeHooks: Required<RuntimeHooks> = {
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

/**
 * A Deno `Conn` as a {@link ByteDuplex}, on its `read` / `write` /
 * `closeWrite` / `close` methods rather than its own `readable` /
 * `writable`: those close the whole resource when either side ends, where a
 * WebSocket wants TCP's half-close (our FIN after our Close frame, while the
 * peer's last bytes still arrive; RFC 6455 §7.1.1).
 *
 * - Reads happen only on demand (`highWaterMark` 0): an unread connection
 *   stops reading the socket, and the peer's TCP window fills.
 * - Small reads are copied out of one reused buffer; large ones keep theirs.
 * - The resource is closed once both directions are done, or at once on
 *   cancel / abort; exactly once.
 *
 * @module
 */
import type { ByteDuplex } from '../streams.js';
import type { DenoConn } from './types.js';

/** Default read buffer size, bytes. */
const READ_SIZE = 64 * 1024;
/** Reads up to this size are copied out, and the read buffer is reused. */
const COPY_LIMIT = 16 * 1024;

/** A {@link ByteDuplex} over a Deno connection, plus a way to close it at once. */
export interface DenoConnDuplex extends ByteDuplex {
  /** Close the connection now (idempotent). */
  close(): void;
  /** True once the connection is closed. */
  readonly closed: boolean;
}

/**
 * Wrap a Deno `Conn` (TCP or TLS) as a byte duplex.
 *
 * @param readSize the read buffer size, bytes (default 64 KiB).
 */
export function denoConnDuplex(conn: DenoConn, readSize = READ_SIZE): DenoConnDuplex {
  if (!Number.isInteger(readSize) || readSize < 1024) throw new RangeError(`readSize must be an integer >= 1024, got ${String(readSize)}`);
  let readDone = false;
  let writeDone = false;
  let isClosed = false;
  let buf = new Uint8Array(readSize);
  const close = (): void => {
    if (isClosed) return;
    isClosed = true;
    try {
      conn.close();
    } catch {
      // already closed by Deno (e.g. after an error)
    }
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        let n: number | null = null;
        if (!isClosed) {
          try {
            n = await conn.read(buf);
          } catch (err) {
            readDone = true;
            // A read cut short by our own close() is an end, not an error.
            if (!isClosed) {
              close();
              ctl.error(err);
              return;
            }
          }
        }
        if (n === null || isClosed) {
          readDone = true;
          try {
            ctl.close();
          } catch {
            // cancelled meanwhile
          }
          if (writeDone) close();
          return;
        }
        if (n <= COPY_LIMIT) ctl.enqueue(buf.slice(0, n));
        else {
          ctl.enqueue(buf.subarray(0, n));
          buf = new Uint8Array(readSize);
        }
      },
      cancel() {
        readDone = true;
        close();
      },
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      // Deno's write may take fewer bytes than given.
      let off = 0;
      while (off < chunk.length) off += await conn.write(off === 0 ? chunk : chunk.subarray(off));
    },
    async close() {
      writeDone = true;
      if (isClosed) return;
      try {
        await conn.closeWrite();
      } catch {
        // the peer is gone already: nothing left to tell it
      }
      if (readDone) close();
    },
    abort() {
      writeDone = true;
      close();
    },
  });
  return {
    readable,
    writable,
    close,
    get closed() {
      return isClosed;
    },
  };
}

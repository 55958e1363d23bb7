/**
 * WebSocket server for Deno on a raw listener: `Deno.listen` (ws://) or
 * `Deno.listenTls` (wss://), each connection upgraded by the Web Streams
 * adapter (our HTTP head parser, bounded in size and time; our framing and
 * permessage-deflate). For a server that also serves HTTP, use Deno's own
 * `Deno.serve` + `Deno.upgradeWebSocket` instead (docs/DENO.md shows how to
 * run WAMP over it).
 *
 * Needs `--allow-net` for the address.
 *
 * @module
 */
import type { WebSocketConnection } from '../../connection.js';
import type { ServerHandshakeRequest } from '../../core/ws/handshake.js';
import { acceptWebSocketStreamWithRequest, type StreamServerOptions } from '../streams.js';
import { denoConnDuplex, type DenoConnDuplex } from './conn.js';
import { denoGlobal, type DenoConn, type DenoListener, type DenoNetAddr } from './types.js';

/** What the handler learns about a new connection besides the connection itself. */
export interface DenoUpgradeInfo {
  /** The upgrade request: path, headers, offers. */
  request: ServerHandshakeRequest;
  /** The client's address (TCP). */
  remoteAddr: DenoNetAddr | null;
  /** Over TLS (`tls` option). */
  secure: boolean;
}

/** Options of {@link serve}. */
export interface DenoServeOptions extends StreamServerOptions {
  /** Port to listen on; 0 (default) picks a free one (see `addr`). */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Listen with TLS (wss://): certificate chain and private key, PEM. */
  tls?: { cert: string; key: string };
  /** Called with every open connection. A throw closes that connection (1011). */
  handler: (ws: WebSocketConnection, info: DenoUpgradeInfo) => void;
  /**
   * Refused or failed handshakes and handler errors, for logging (the client
   * has been answered already). Default: ignored.
   */
  onError?: (error: unknown) => void;
}

/** A running Deno WebSocket server. */
export interface DenoWebSocketServer {
  /** The address listened on (with the real port when `port` was 0). */
  readonly addr: DenoNetAddr;
  /** Open connections. */
  readonly clients: ReadonlySet<WebSocketConnection>;
  /** Resolves once the server has stopped (after `close()`). */
  readonly finished: Promise<void>;
  /**
   * Stop accepting, drop handshakes in progress, close every connection with
   * 1001 (going away) and wait for them (bounded by each connection's
   * `closeTimeout`).
   */
  close(): Promise<void>;
}

/**
 * Listen and upgrade every connection to a WebSocket.
 *
 * Deno code: see docs/DENO.md for a runnable example.
 */
export function serve(options: DenoServeOptions): DenoWebSocketServer {
  const deno = denoGlobal();
  const hostname = options.hostname ?? '127.0.0.1';
  const port = options.port ?? 0;
  const secure = options.tls !== undefined;
  const listener: DenoListener = options.tls
    ? deno.listenTls({ hostname, port, cert: options.tls.cert, key: options.tls.key })
    : deno.listen({ hostname, port, transport: 'tcp' });
  const clients = new Set<WebSocketConnection>();
  const pending = new Set<DenoConnDuplex>();
  const report = (err: unknown): void => {
    if (!options.onError) return;
    try {
      options.onError(err);
    } catch {
      // a throwing logger must not stop the server
    }
  };
  let closing = false;

  const upgrade = (conn: DenoConn): void => {
    try {
      conn.setNoDelay?.(true);
    } catch {
      // not TCP
    }
    const remote = conn.remoteAddr;
    const remoteAddr = 'hostname' in remote ? remote : null;
    const duplex = denoConnDuplex(conn);
    pending.add(duplex);
    acceptWebSocketStreamWithRequest(duplex, options).then(
      ({ ws, request }) => {
        pending.delete(duplex);
        if (closing) {
          ws.closeWithCode(1001, 'server shutting down');
          return;
        }
        clients.add(ws);
        ws.addEventListener('close', () => clients.delete(ws));
        try {
          options.handler(ws, { request, remoteAddr, secure });
        } catch (err) {
          report(err);
          ws.closeWithCode(1011);
        }
      },
      (err: unknown) => {
        pending.delete(duplex);
        report(err);
      },
    );
  };

  const finished = (async (): Promise<void> => {
    for (;;) {
      let conn: DenoConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing) return;
        // The listener is gone (closed elsewhere, or a fatal error): stop.
        report(err);
        return;
      }
      if (closing) {
        denoConnDuplex(conn).close();
        return;
      }
      upgrade(conn);
    }
  })();

  const addr = listener.addr as DenoNetAddr;
  let closed: Promise<void> | null = null;
  return {
    addr,
    clients,
    finished,
    close(): Promise<void> {
      if (closed) return closed;
      closing = true;
      try {
        listener.close();
      } catch {
        // closed already
      }
      for (const d of pending) d.close();
      pending.clear();
      const waits = [...clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === 3) {
              resolve();
              return;
            }
            ws.addEventListener('close', () => resolve());
            if (ws.readyState === 1) ws.closeWithCode(1001, 'server shutting down');
            else ws.terminate();
          }),
      );
      closed = Promise.all([finished, ...waits]).then(() => undefined);
      return closed;
    },
  };
}

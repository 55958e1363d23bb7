/**
 * WebSocket client for Deno: ws:// over `Deno.connect`, wss:// over
 * `Deno.connectTls`, then the Web Streams adapter (our framing, masking,
 * permessage-deflate on pako). Custom headers, Basic credentials from the
 * URL, extra CA certificates, an open timeout covering TCP, TLS and the
 * upgrade.
 *
 * Needs `--allow-net` for the host.
 *
 * @module
 */
import type { WebSocketConnection } from '../../connection.js';
import { CloseCode, WebSocketError } from '../../core/ws/errors.js';
import { connectWebSocketStream, type StreamClientOptions } from '../streams.js';
import { isSecureUrl, parseWebSocketUrl } from '../negotiate.js';
import { denoConnDuplex } from './conn.js';
import { denoGlobal, type DenoConn } from './types.js';

/** Options of the Deno {@link connect}. */
export interface DenoClientOptions extends Omit<StreamClientOptions, 'protocols'> {
  /** TLS settings for wss://. */
  tls?: {
    /** Extra trusted root certificates (PEM), e.g. a test CA. */
    caCerts?: string[];
  };
}

/**
 * Open a WebSocket from Deno. Resolves once open (subprotocol in
 * `ws.protocol`, extensions in `ws.extensions`); rejects with a
 * WebSocketError: `WS_ERR_CONNECTION_LOST` (TCP/TLS failed),
 * `WS_ERR_OPEN_TIMEOUT`, `WS_ERR_HANDSHAKE_REJECTED` (with `status`), or
 * another handshake error; SyntaxError for a bad URL.
 *
 * Deno code: see docs/DENO.md for a runnable example.
 */
export async function connect(url: string | URL, protocols: string | string[] = [], options: DenoClientOptions = {}): Promise<WebSocketConnection> {
  const target = parseWebSocketUrl(url);
  const secure = isSecureUrl(target);
  const port = Number(target.port || (secure ? 443 : 80));
  const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  const openTimeout = options.openTimeout ?? 10_000;
  const started = Date.now();
  const deno = denoGlobal();
  const dialing = secure
    ? deno.connectTls({ hostname, port, ...(options.tls?.caCerts ? { caCerts: options.tls.caCerts } : {}) })
    : deno.connect({ hostname, port, transport: 'tcp' });
  const conn = await new Promise<DenoConn>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new WebSocketError('WS_ERR_OPEN_TIMEOUT', `connecting to ${target.host} timed out after ${openTimeout} ms`, CloseCode.ABNORMAL));
    }, openTimeout);
    dialing.then(
      (c) => {
        clearTimeout(timer);
        if (timedOut) closeQuietly(c);
        else resolve(c);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(new WebSocketError('WS_ERR_CONNECTION_LOST', `cannot connect to ${target.host}: ${err instanceof Error ? err.message : String(err)}`, CloseCode.ABNORMAL));
      },
    );
  });
  try {
    conn.setNoDelay?.(true);
  } catch {
    // not a TCP connection: nothing to tune
  }
  return connectWebSocketStream(denoConnDuplex(conn), target, {
    ...options,
    protocols,
    openTimeout: Math.max(1, openTimeout - (Date.now() - started)),
  });
}

function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

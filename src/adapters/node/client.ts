/**
 * WebSocket client for Node: ws:// and wss://, custom headers, HTTP CONNECT
 * proxy, TLS options, Basic auth from the URL, open timeout, permessage-deflate.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsOptions } from 'node:tls';
import { randomFillSync } from 'node:crypto';
import { WebSocketConnection, type ConnectionOptions } from '../../connection.js';
import { CloseCode, WebSocketError } from '../../core/ws/errors.js';
import { HttpHeadParser, generateKey, validateUpgradeResponse } from '../../core/ws/handshake.js';
import type { DeflateOptions } from '../../core/deflate/negotiate.js';
import type { DeflateBackend } from '../../core/deflate/backend.js';
import { DEFAULT_LIMITS } from '../../core/ws/constants.js';
import { buildClientRequest, clientDeflateOptions, clientExtensions, parseWebSocketUrl } from '../negotiate.js';
import { nodeZlibBackend } from './zlib-backend.js';
import { SocketTransport, nodeHooks } from './transport.js';
import { nodeSha1 } from './transport.js';

export interface ClientOptions extends ConnectionOptions {
  /** Extra request headers. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** Origin header (Sec-WebSocket-Origin for version 8). */
  origin?: string;
  /** 13 (RFC 6455, default) or 8 (hybi-08..12 drafts). */
  protocolVersion?: 13 | 8;
  /**
   * Offer permessage-deflate: `false`, `true` (default, as browsers do), its
   * options, or several offers by preference (the server accepts one).
   */
  perMessageDeflate?: boolean | DeflateOptions | DeflateOptions[];
  /** DEFLATE implementation. Default node:zlib (`nodeZlibBackend`); e.g. `pakoBackend` for pure JS. */
  deflateBackend?: DeflateBackend;
  /** TLS options for wss:// (ca, cert, key, rejectUnauthorized, servername, …). */
  tls?: TlsOptions;
  /** HTTP proxy URL (`http://[user:pass@]host:port`): tunnel with CONNECT. */
  proxy?: string;
  /** Time allowed for TCP + TLS + proxy + upgrade, ms. Default 10000. */
  openTimeout?: number;
  /** Largest response head accepted. Default 16 KiB. */
  maxHandshakeSize?: number;
}

/**
 * A WebSocket client. Connects on construction; events as in browsers.
 *
 * @example
 * ```ts
 * import { WebSocket } from 'autostrada';
 * const ws = new WebSocket('ws://127.0.0.1:9000/', [], { perMessageDeflate: true });
 * ws.onopen = () => ws.send('hello');
 * ws.onmessage = (e) => { console.log(e.data); ws.close(1000); };
 * ```
 */
export class WebSocket extends WebSocketConnection {
  private socket: Socket | null = null;
  private openTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(url: string | URL, protocols: string | string[] = [], options: ClientOptions = {}) {
    super(String(url), options, nodeHooks);
    const list = typeof protocols === 'string' ? [protocols] : protocols;
    const target = parseWebSocketUrl(url);
    this.abortConnecting = () => {
      this.fail(new WebSocketError('WS_ERR_CONNECTION_LOST', 'connection aborted before open', CloseCode.ABNORMAL));
    };
    queueMicrotask(() => this.start(target, list, options));
  }

  /** Resolves with the open client, or rejects with the error that failed it. */
  static connect(url: string | URL, protocols: string | string[] = [], options: ClientOptions = {}): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, options);
      let error: unknown = null;
      ws.addEventListener('open', () => resolve(ws));
      ws.addEventListener('error', (e) => {
        error = e.error;
      });
      ws.addEventListener('close', (e) => {
        reject(error ?? new WebSocketError('WS_ERR_CONNECTION_LOST', `closed before open (${e.code})`, e.code));
      });
    });
  }

  private fail(err: WebSocketError): void {
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
    this.socket?.destroy();
    if (this.readyState !== WebSocketConnection.CLOSED) this.failConnecting(err);
  }

  private start(url: URL, protocols: string[], options: ClientOptions): void {
    if (this.readyState !== WebSocketConnection.CONNECTING) return;
    const secure = url.protocol === 'wss:' || url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.openTimer = setTimeout(() => {
      this.fail(new WebSocketError('WS_ERR_OPEN_TIMEOUT', `opening handshake timed out after ${options.openTimeout ?? 10_000} ms`, CloseCode.ABNORMAL));
    }, options.openTimeout ?? 10_000);

    const onError = (err: Error): void => {
      this.fail(err instanceof WebSocketError ? err : new WebSocketError('WS_ERR_CONNECTION_LOST', err.message, CloseCode.ABNORMAL));
    };
    const upgrade = (socket: Socket): void => {
      this.socket = socket;
      socket.setNoDelay(true);
      this.handshake(socket, url, protocols, options);
    };
    const secureOver = (raw?: Socket): void => {
      // Through a proxy `host` still names the target: node:tls checks the
      // certificate against servername || host, else against the proxy's name.
      const tlsOpts: TlsOptions = { servername: isIp(host) ? '' : host, ...options.tls, ...(raw ? { socket: raw, host } : { host, port }) };
      if (!tlsOpts.servername) delete tlsOpts.servername;
      const s = tlsConnect(tlsOpts);
      s.on('error', onError);
      s.once('secureConnect', () => {
        s.off('error', onError);
        upgrade(s);
      });
      this.socket = s;
    };

    if (options.proxy) {
      const proxy = new URL(options.proxy);
      const raw = netConnect({ host: proxy.hostname, port: Number(proxy.port || 80) });
      this.socket = raw;
      raw.on('error', onError);
      raw.once('connect', () => {
        const auth = proxy.username
          ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`
          : '';
        const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        raw.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
        const parser = new HttpHeadParser(options.maxHandshakeSize ?? DEFAULT_LIMITS.maxHandshakeSize);
        const onData = (chunk: Buffer): void => {
          let res;
          try {
            res = parser.push(chunk);
          } catch (err) {
            onError(err as Error);
            return;
          }
          if (!res) return;
          raw.off('data', onData);
          const status = Number(res.head.startLine[1]);
          if (status !== 200) {
            onError(new WebSocketError('WS_ERR_PROXY_FAILED', `proxy answered CONNECT with ${status}`, CloseCode.ABNORMAL));
            return;
          }
          raw.off('error', onError);
          if (res.rest.length) raw.unshift(Buffer.from(res.rest));
          if (secure) secureOver(raw);
          else upgrade(raw);
        };
        raw.on('data', onData);
      });
      return;
    }
    if (secure) {
      secureOver();
      return;
    }
    const s = netConnect({ host, port });
    this.socket = s;
    s.on('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      upgrade(s);
    });
  }

  private handshake(socket: Socket, url: URL, protocols: string[], options: ClientOptions): void {
    const key = generateKey((out) => randomFillSync(out));
    const deflateOpts = clientDeflateOptions(options.perMessageDeflate);
    let request: string;
    try {
      request = buildClientRequest(url, key, protocols, deflateOpts, options);
    } catch (err) {
      this.fail(new WebSocketError('WS_ERR_HANDSHAKE_INVALID', (err as Error).message, CloseCode.ABNORMAL));
      return;
    }
    const parser = new HttpHeadParser(options.maxHandshakeSize ?? DEFAULT_LIMITS.maxHandshakeSize);
    const onError = (err: Error): void => {
      this.fail(new WebSocketError('WS_ERR_CONNECTION_LOST', err.message, CloseCode.ABNORMAL));
    };
    const onClose = (): void => {
      this.fail(new WebSocketError('WS_ERR_CONNECTION_LOST', 'connection closed during the opening handshake', CloseCode.ABNORMAL));
    };
    const onData = (chunk: Buffer): void => {
      let res;
      try {
        res = parser.push(chunk);
        if (!res) return;
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
        const v = validateUpgradeResponse(res.head, { key, protocols, extensionsOffered: deflateOpts !== null, sha1: nodeSha1 });
        const { codec, extensions } = clientExtensions(v.extensions, deflateOpts, options.deflateBackend ?? nodeZlibBackend, options.maxMessageSize);
        if (this.openTimer) clearTimeout(this.openTimer);
        this.openTimer = null;
        const transport = new SocketTransport(socket, this);
        this.addEventListener('close', () => codec?.close());
        this.attach(transport, { role: 'client', protocol: v.protocol, extensions, deflate: codec });
        // Frames that came with the 101 are delivered on a later turn of the
        // event loop (the socket paused meanwhile, so nothing overtakes them):
        // code awaiting WebSocket.connect() must get to set its handlers first.
        if (res.rest.length) this._receiveLater(res.rest);
      } catch (err) {
        this.fail(err instanceof WebSocketError ? err : new WebSocketError('WS_ERR_HANDSHAKE_INVALID', (err as Error).message, CloseCode.ABNORMAL));
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(request, 'latin1');
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/**
 * Helpers for the Node adapter tests: a raw TCP WebSocket client that speaks
 * frames byte by byte (to misbehave on purpose and to read exactly what the
 * server sent), raw HTTP exchanges, a tripwire for unhandled errors, and a
 * throw-away self-signed certificate made with the `openssl` binary.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { FrameDecoder } from '../../../../src/core/ws/decoder.js';
import { parseClosePayload } from '../../../../src/core/ws/close.js';
import { WS_GUID } from '../../../../src/core/ws/constants.js';
import type { WebSocketConnection } from '../../../../src/connection.js';

/** One frame as the server sent it (payload joined). */
export interface RawFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  payload: Buffer;
}

/** Rejects after `ms` with `what` in the message; the timer never holds the process. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A WebSocket client over a bare socket. The upgrade is done by hand; after
 * it, every server frame is decoded (RFC 6455 §5.2, as a client: unmasked)
 * into `frames`, and the test writes whatever bytes it likes.
 */
export class RawClient {
  readonly socket: Socket;
  readonly frames: RawFrame[] = [];
  /** Raw response head of the upgrade. */
  head = '';
  /** Bytes received after the handshake. */
  received = 0;
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>;
  /** The peer half-closed (FIN) before we did. */
  gotEnd = false;
  private readonly decoder: FrameDecoder;
  private current: { opcode: number; fin: boolean; rsv1: boolean; parts: Buffer[] } | null = null;
  private waiters: Array<() => void> = [];
  private headBuf = Buffer.alloc(0);
  private upgraded = false;

  private constructor(socket: Socket, decodeFrames: boolean) {
    this.socket = socket;
    this.decoder = new FrameDecoder({ role: 'client', maxFrameSize: 1 << 30, maxFragments: 1 << 30, allowRsv1: true }, (p) => {
      if (p.first) this.current = { opcode: p.opcode, fin: p.fin, rsv1: p.rsv1, parts: [] };
      const cur = this.current as NonNullable<RawClient['current']>;
      if (p.payload.length) cur.parts.push(Buffer.from(p.payload));
      if (p.last) {
        this.frames.push({ opcode: cur.opcode, fin: cur.fin, rsv1: cur.rsv1, payload: Buffer.concat(cur.parts) });
        this.current = null;
        this.wake();
      }
    });
    socket.on('error', () => {});
    socket.on('end', () => {
      this.gotEnd = true;
    });
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.wake();
      resolve();
    }));
    socket.on('data', (chunk: Buffer) => {
      if (!this.upgraded) {
        this.headBuf = Buffer.concat([this.headBuf, chunk]);
        const end = this.headBuf.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.head = this.headBuf.subarray(0, end + 4).toString('latin1');
        this.upgraded = true;
        chunk = this.headBuf.subarray(end + 4);
        this.wake();
      }
      this.received += chunk.length;
      if (decodeFrames && chunk.length) this.decoder.push(chunk);
    });
  }

  /**
   * Connect and upgrade. `expect101` (default) rejects unless the answer is
   * 101 Switching Protocols with a correct Sec-WebSocket-Accept.
   */
  static async connect(
    port: number,
    opts: { path?: string; headers?: string[]; version?: number; expect101?: boolean; decodeFrames?: boolean; allowHalfOpen?: boolean } = {},
  ): Promise<RawClient> {
    // allowHalfOpen: our side stays open after the server's FIN (Node ends it by default).
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: opts.allowHalfOpen ?? false });
    const c = new RawClient(socket, opts.decodeFrames ?? true);
    await within(new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    }), 2000, 'tcp connect');
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${opts.path ?? '/'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${opts.version ?? 13}\r\n` +
        (opts.headers ?? []).map((h) => h + '\r\n').join('') +
        '\r\n',
    );
    await within(c.until(() => c.upgraded || socket.destroyed), 3000, 'upgrade response');
    if (opts.expect101 ?? true) {
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      if (!c.head.startsWith('HTTP/1.1 101') || !c.head.includes(`Sec-WebSocket-Accept: ${accept}`)) {
        socket.destroy();
        throw new Error('upgrade failed: ' + JSON.stringify(c.head));
      }
    }
    return c;
  }

  /** Resolves once `cond()` holds (re-checked on every frame, head and close). */
  until(cond: () => boolean): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** The first Close frame from the server: its code and reason. */
  async closeFrame(ms = 3000): Promise<{ code: number; reason: string }> {
    await within(this.until(() => this.frames.some((f) => f.opcode === 8) || this.socket.destroyed), ms, 'close frame');
    const f = this.frames.find((x) => x.opcode === 8);
    if (!f) throw new Error('socket closed without a Close frame');
    return parseClosePayload(new Uint8Array(f.payload));
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/**
 * Send `request` over a fresh socket and collect everything until the server
 * closes (or `ms` passes): for asserting handshake refusals.
 */
export function rawExchange(port: number, request: string | Buffer, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${ms} ms; got ${JSON.stringify(Buffer.concat(parts).toString('latin1').slice(0, 200))}`));
    }, ms);
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', () => {});
    s.on('connect', () => s.write(request));
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
  });
}

/** An upgrade request as text, with `extra` header lines. */
export function upgradeRequest(port: number, extra: string[] = [], opts: { path?: string; version?: string | null; key?: string | null } = {}): string {
  const lines = [`GET ${opts.path ?? '/'} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade'];
  if (opts.key !== null) lines.push(`Sec-WebSocket-Key: ${opts.key ?? 'dGhlIHNhbXBsZSBub25jZQ=='}`);
  if (opts.version !== null) lines.push(`Sec-WebSocket-Version: ${opts.version ?? '13'}`);
  return [...lines, ...extra, '', ''].join('\r\n');
}

/** The status code of a raw HTTP response. */
export function statusOf(response: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}

/**
 * Records uncaught exceptions and unhandled rejections while installed.
 * `check()` asserts there were none and uninstalls.
 */
export function tripwire(): { errors: unknown[]; uninstall: () => void } {
  const errors: unknown[] = [];
  const onErr = (e: unknown): void => {
    errors.push(e);
  };
  process.on('uncaughtException', onErr);
  process.on('unhandledRejection', onErr);
  return {
    errors,
    uninstall: () => {
      process.off('uncaughtException', onErr);
      process.off('unhandledRejection', onErr);
    },
  };
}

/**
 * A self-signed certificate (valid one day), by default for 127.0.0.1 and
 * localhost; or null without openssl.
 */
export function selfSignedCert(san = 'IP:127.0.0.1,DNS:localhost', cn = 'localhost'): { key: string; cert: string } | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = mkdtempSync(joinPath(tmpdir(), 'autostrada-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', joinPath(dir, 'k'), '-out', joinPath(dir, 'c'), '-days', '1',
        '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(joinPath(dir, 'k'), 'utf8'), cert: readFileSync(joinPath(dir, 'c'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Collect every `error` event's code on a connection. */
export function errorCodes(ws: WebSocketConnection): string[] {
  const codes: string[] = [];
  ws.addEventListener('error', (e) => codes.push(e.error.code));
  return codes;
}

/** Polls `cond` every 5 ms until it holds; rejects after `ms`. */
export async function eventually(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

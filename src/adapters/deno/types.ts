/**
 * The few Deno APIs the Deno adapter uses, typed here (no `@types/deno`,
 * no ambient `Deno` global in our typings: the Node and browser builds must
 * type-check without it). Shapes follow Deno 2's `lib.deno.ns.d.ts`.
 *
 * @module
 */

/** `Deno.NetAddr`. */
export interface DenoNetAddr {
  transport: 'tcp' | 'udp';
  hostname: string;
  port: number;
}

/** `Deno.Conn` (TCP or TLS): the byte-level methods. */
export interface DenoConn {
  /** Read into `p`; the number of bytes read, or null at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Write from `p`; the number of bytes written (may be fewer than `p.length`). */
  write(p: Uint8Array): Promise<number>;
  /** Shut down the write side (TCP FIN; TLS close_notify). */
  closeWrite(): Promise<void>;
  /** Close the resource. Throws if already closed. */
  close(): void;
  readonly remoteAddr: DenoNetAddr | { transport: string };
  /** TCP only. */
  setNoDelay?(noDelay?: boolean): void;
}

/** `Deno.Listener`. */
export interface DenoListener {
  /** The next connection; rejects once the listener is closed. */
  accept(): Promise<DenoConn>;
  close(): void;
  readonly addr: DenoNetAddr | { transport: string };
}

/** `Deno.ConnectOptions` (the part we use). */
export interface DenoConnectOptions {
  hostname?: string;
  port: number;
  transport?: 'tcp';
}

/** `Deno.ConnectTlsOptions` (the part we use). */
export interface DenoConnectTlsOptions {
  hostname?: string;
  port: number;
  /** Trusted root certificates (PEM), in addition to the system's / Mozilla's. */
  caCerts?: string[];
  alpnProtocols?: string[];
}

/** `Deno.ListenOptions` / `Deno.ListenTlsOptions` (the part we use). */
export interface DenoListenOptions {
  hostname?: string;
  port: number;
  transport?: 'tcp';
}

export interface DenoListenTlsOptions extends DenoListenOptions {
  /** Server certificate chain (PEM). */
  cert: string;
  /** Private key (PEM). */
  key: string;
  alpnProtocols?: string[];
}

/** The `Deno` namespace, as far as we use it. */
export interface DenoNamespace {
  connect(options: DenoConnectOptions): Promise<DenoConn>;
  connectTls(options: DenoConnectTlsOptions): Promise<DenoConn>;
  listen(options: DenoListenOptions): DenoListener;
  listenTls(options: DenoListenTlsOptions): DenoListener;
}

/**
 * The `Deno` global.
 *
 * @throws Error outside Deno.
 */
export function denoGlobal(): DenoNamespace {
  const d = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (d === undefined || typeof d.connect !== 'function') throw new Error('the Deno adapter needs the Deno runtime (globalThis.Deno)');
  return d;
}

/**
 * The Deno adapter: what the `deno` build adds to the isomorphic entry
 * (`src/index.deno.ts` = `export * from './index.js'` plus this module).
 * Nothing here runs at import time, and nothing touches `Deno` until
 * called, so importing it outside Deno is harmless.
 *
 * @module
 */
export { connect, type DenoClientOptions } from './client.js';
export { serve, type DenoServeOptions, type DenoWebSocketServer, type DenoUpgradeInfo } from './server.js';
export { denoConnDuplex, type DenoConnDuplex } from './conn.js';
export type { DenoConn, DenoListener, DenoNetAddr } from './types.js';
export {
  StreamTransport,
  connectWebSocketStream,
  acceptWebSocketStream,
  acceptWebSocketStreamWithRequest,
  type ByteDuplex,
  type TransportSink,
  type StreamClientOptions,
  type StreamServerOptions,
  type VerifyRejection,
} from '../streams.js';

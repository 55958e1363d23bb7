/**
 * autostrada on Deno: the isomorphic API, everything loaded on demand in
 * browsers (MessagePack, CBOR, all authentication, the WebSocket protocol),
 * and the Deno adapter (a WebSocket client over `Deno.connect` with custom
 * headers, and a WebSocket server over `Deno.listen`). See docs/DENO.md.
 */
export * from './index.js';
export { createLocalTransportPair } from './wamp/transport.js';
export { transportFromUrl, type TransportFromUrlOptions } from './wamp/component.js';
export * from './ws.js';
export * from './msgpack.js';
export * from './cbor.js';
export * from './auth.js';
export * from './websocketstream.js';
export { connect, serve, denoConnDuplex, type DenoClientOptions, type DenoServeOptions, type DenoWebSocketServer, type DenoUpgradeInfo, type DenoConnDuplex, type DenoConn, type DenoListener, type DenoNetAddr } from './adapters/deno/index.js';

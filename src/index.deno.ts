/**
 * autostrada on Deno: the isomorphic API, the WebSocket protocol
 * (`autostrada/ws`), and the Deno adapter (a WebSocket client over
 * `Deno.connect` with custom headers, and a WebSocket server over
 * `Deno.listen`). MessagePack, CBOR, the other auth methods and
 * WebSocketStream stay subpath imports as in browsers
 * (`autostrada/msgpack`, …): msgpackr and cbor-x read environment variables
 * when loaded, which under Deno needs `--allow-env`. See docs/DENO.md.
 */
export * from './index.js';
export { createLocalTransportPair } from './wamp/transport.js';
export { transportFromUrl, type TransportFromUrlOptions } from './wamp/component.js';
export * from './ws.js';
export { connect, serve, denoConnDuplex, type DenoClientOptions, type DenoServeOptions, type DenoWebSocketServer, type DenoUpgradeInfo, type DenoConnDuplex, type DenoConn, type DenoListener, type DenoNetAddr } from './adapters/deno/index.js';

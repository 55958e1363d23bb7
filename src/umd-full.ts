/**
 * The "full" browser bundle (`dist/autostrada.full.umd.js`, global
 * `Autostrada`): the isomorphic entry plus MessagePack, CBOR and every
 * authentication method, for pages that load one script and want all of it.
 */
export * from './index.js';
export * from './msgpack.js';
export * from './cbor.js';
export * from './auth.js';
export * from './websocketstream.js';

/** autostrada on Node: the isomorphic API plus the Node WebSocket client and zlib backend. */
export * from './index.js';
export { WebSocket, type ClientOptions } from './adapters/node/client.js';
export { nodeZlibBackend } from './adapters/node/zlib-backend.js';

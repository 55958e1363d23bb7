// Minimal uWebSockets.js echo server for bench/ws/run.mjs.
//   node bench/ws/servers/uws-echo.mjs --port N [--deflate]
// Uses @trufflesuite/uws-js-unofficial (a uWebSockets.js v20 build). That
// package silently falls back to a pure-JS implementation when its native
// binary does not load; we refuse to run in that case so a row labelled uWS
// never measures the fallback.
// Plain: compression DISABLED. --deflate: SHARED_COMPRESSOR | SHARED_DECOMPRESSOR
// (permessage-deflate both ways) and ws.send(msg, isBinary, true).
// maxBackpressure is raised so that large in-flight echoes are never dropped
// (the default of 64 KiB would silently skip sends on the 64 KiB / 1 MiB rows).
// Prints "ready" once listening.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const port = Number(argv[argv.indexOf('--port') + 1]);
const deflate = argv.includes('--deflate');
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: uws-echo.mjs --port N [--deflate]');
  process.exit(2);
}

const uWS = require('@trufflesuite/uws-js-unofficial');
if (!Object.keys(require.cache).some((k) => k.endsWith('.node'))) {
  console.error('uws-echo: the native uWebSockets.js binary did not load (JS fallback in use); refusing to run');
  process.exit(3);
}

uWS
  .App()
  .ws('/*', {
    compression: deflate ? uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR : uWS.DISABLED,
    maxPayloadLength: 64 * 1024 * 1024,
    maxBackpressure: 1024 * 1024 * 1024,
    idleTimeout: 0,
    message: deflate
      ? (ws, msg, isBinary) => ws.send(msg, isBinary, true)
      : (ws, msg, isBinary) => ws.send(msg, isBinary),
  })
  .listen(port, (token) => {
    if (!token) {
      console.error(`uws-echo: could not listen on port ${port}`);
      process.exit(1);
    }
    console.log('ready');
  });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

// Minimal `ws` echo server for bench/ws/run.mjs.
//   node bench/ws/servers/ws-echo.mjs --port N [--deflate]
// Plain: perMessageDeflate disabled. Run with WS_NO_BUFFER_UTIL=1 in the env
// to force ws's JS masking fallback (the "ws plain" row), without it ws loads
// the bufferutil native addon if installed (the "ws + bufferutil" row).
// --deflate: perMessageDeflate { threshold: 0 } (every message is compressed;
// the other options are ws's defaults: level Z_DEFAULT_COMPRESSION, 15 window
// bits, context takeover both ways, concurrencyLimit 10).
// Prints "ready" once listening.
import { WebSocketServer } from 'ws';

const argv = process.argv.slice(2);
const port = Number(argv[argv.indexOf('--port') + 1]);
const deflate = argv.includes('--deflate');
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: ws-echo.mjs --port N [--deflate]');
  process.exit(2);
}

const wss = new WebSocketServer({
  port,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 64 * 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
wss.on('listening', () => console.log('ready'));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

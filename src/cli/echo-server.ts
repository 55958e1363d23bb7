/**
 * `npm run echo-server -- --port <p>`: a WebSocket echo server on 127.0.0.1.
 * Echoes every message with its opcode; accepts permessage-deflate; limits
 * raised to 64 MiB so the Autobahn Testsuite's fuzzingclient (cases 9.x)
 * runs against it.
 */
import { WebSocketServer } from '../adapters/node/server.js';
import type { WebSocketConnection, WsMessageEvent } from '../connection.js';
import { parseArgs, onSignals } from './args.js';

let opts: Record<string, string | number | boolean>;
try {
  opts = parseArgs(process.argv.slice(2), { port: 'number', host: 'string', 'no-deflate': 'boolean', quiet: 'boolean' });
} catch (err) {
  console.error(`echo-server: ${(err as Error).message}\nusage: echo-server --port <p> [--host 127.0.0.1] [--no-deflate] [--quiet]`);
  process.exit(2);
}

const wss = new WebSocketServer({
  port: (opts.port as number | undefined) ?? 9001,
  host: (opts.host as string | undefined) ?? '127.0.0.1',
  perMessageDeflate: opts['no-deflate'] ? false : { threshold: 0 },
  maxFrameSize: 64 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
  closeTimeout: 2000,
});

// Shared handlers (`this` is the connection): no closures per connection.
function echo(this: WebSocketConnection, e: WsMessageEvent): void {
  try {
    this.send(e.raw, e.binary ? BINARY : TEXT);
  } catch {
    // queue full: the connection reports it; an echo has nothing to add
  }
}
function ignore(): void {}
const BINARY = { binary: true };
const TEXT = { binary: false };

wss.on('connection', (ws) => {
  ws.onmessage = echo;
  ws.onerror = ignore;
});

wss.ready().then(
  () => {
    const a = wss.address();
    // "ready" lets scripts (benchmarks, tests) wait for the listener.
    console.log(`echo-server ready on ws://${a?.address}:${a?.port}`);
  },
  (err: Error) => {
    console.error(`echo-server: cannot listen: ${err.message}`);
    process.exit(1);
  },
);

onSignals(() => wss.close());

// The parts of autostrada the WAMP benchmarks drive, straight from src/.
// bench/wamp/lib/harness.mjs bundles this file with esbuild into
// bench/build/autostrada-bench.mjs (ES2022, dependencies external), so the
// benchmark runs plain JavaScript built from the current sources, as dist/
// would be, whether or not the package entry points export the WAMP API yet.
export { Session, InvocationResult } from '../../../src/wamp/session.js';
export { connectWebSocket } from '../../../src/wamp/transports/connect.js';
export { WebSocket } from '../../../src/adapters/node/client.js';
export { serializers } from '../../../src/wamp/serializers/index.js';
export { Router } from '../../../src/router/server.js';

/**
 * `npm run testsuite-client -- --url ws://127.0.0.1:<p> [--agent <name>]`:
 * the client side of the Autobahn Testsuite (fuzzingserver): GET
 * /getCaseCount, then /runCase?case=N&agent=A for each case echoing every
 * message back, then /updateReports?agent=A. Offers permessage-deflate.
 */
import { WebSocket } from '../adapters/node/client.js';
import { parseArgs, onSignals } from './args.js';

let opts: Record<string, string | number | boolean>;
try {
  opts = parseArgs(process.argv.slice(2), { url: 'string', agent: 'string', cases: 'string', 'case-timeout': 'number' });
} catch (err) {
  console.error(`testsuite-client: ${(err as Error).message}\nusage: testsuite-client --url ws://127.0.0.1:9001 [--agent autostrada] [--cases 1-10] [--case-timeout ms]`);
  process.exit(2);
}
const base = String(opts.url ?? 'ws://127.0.0.1:9001').replace(/\/+$/, '');
const agent = String(opts.agent ?? 'autostrada');
const caseTimeout = (opts['case-timeout'] as number | undefined) ?? 60_000;
const options = { perMessageDeflate: { threshold: 0 }, maxFrameSize: 64 * 1024 * 1024, maxMessageSize: 64 * 1024 * 1024, closeTimeout: 2000 };

let current: WebSocket | null = null;
let stopped = false;
onSignals(async () => {
  stopped = true;
  current?.terminate();
});

/** Open a connection and resolve when it closes; optionally echo everything. */
function run(url: string, echo: boolean, onText?: (s: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, [], options);
    current = ws;
    const timer = setTimeout(() => ws.terminate(), caseTimeout);
    ws.onmessage = (e) => {
      if (onText && !e.binary) onText(e.data as string);
      if (!echo) return;
      try {
        ws.send(e.raw, { binary: e.binary });
      } catch {
        // closing
      }
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

function parseCases(spec: string | undefined, count: number): number[] {
  if (!spec) return Array.from({ length: count }, (_, i) => i + 1);
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    for (let i = a; i <= (b ?? a); i++) if (i >= 1 && i <= count) out.push(i);
  }
  return out;
}

async function main(): Promise<void> {
  let count = 0;
  await run(`${base}/getCaseCount`, false, (s) => {
    count = Number(s);
  });
  if (!Number.isInteger(count) || count <= 0) throw new Error(`fuzzingserver at ${base} returned no case count`);
  const cases = parseCases(opts.cases as string | undefined, count);
  console.log(`testsuite-client: ${count} cases at ${base}, running ${cases.length} as agent "${agent}"`);
  for (const n of cases) {
    if (stopped) return;
    await run(`${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`, true);
  }
  if (stopped) return;
  await run(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, false);
  console.log('testsuite-client: done, reports updated');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`testsuite-client: ${err.message}`);
    process.exit(1);
  },
);

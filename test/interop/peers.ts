/**
 * Real-peer fixtures: Autobahn|Python (Debian's python3-autobahn, asyncio
 * flavour) as a WebSocket server and client, for interop tests of our own
 * client and server. See test/interop/peers/*.py for what each peer does.
 *
 * Every helper is bounded in time: a peer that does not answer makes the
 * promise reject (and the process is killed) instead of hanging the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Debian's interpreter: the python3 on PATH lacks Debian's packages. */
export const PYTHON = '/usr/bin/python3';
export const PEERS_DIR = fileURLToPath(new URL('./peers/', import.meta.url));
export const SERVER_SCRIPT = path.join(PEERS_DIR, 'autobahn_server.py');
export const CLIENT_SCRIPT = path.join(PEERS_DIR, 'autobahn_client.py');

let availability: { ok: boolean; version?: string; error?: string } | undefined;

/** Synchronous check that /usr/bin/python3 can import autobahn (cached). */
export function autobahnAvailable(): boolean {
  return autobahnStatus().ok;
}

/** Like autobahnAvailable(), with the version or the reason it is missing. */
export function autobahnStatus(): { ok: boolean; version?: string; error?: string } {
  if (availability) return availability;
  const r = spawnSync(
    PYTHON,
    ['-c', 'import autobahn, autobahn.asyncio.websocket, wsaccel; print(autobahn.__version__)'],
    { encoding: 'utf8', timeout: 15_000 },
  );
  if (r.error) {
    availability = { ok: false, error: `${PYTHON}: ${r.error.message}` };
  } else if (r.status !== 0) {
    // wsaccel is optional for correctness but without it 16 MiB frames are slow;
    // retry without it before declaring autobahn missing.
    const r2 = spawnSync(PYTHON, ['-c', 'import autobahn, autobahn.asyncio.websocket; print(autobahn.__version__)'], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    availability =
      r2.status === 0
        ? { ok: true, version: r2.stdout.trim() }
        : { ok: false, error: (r2.stderr || r.stderr || `exit ${r2.status}`).trim() };
  } else {
    availability = { ok: true, version: r.stdout.trim() };
  }
  return availability;
}

/** Message explaining how to get autobahn, for a test's skip/fail reason. */
export const AUTOBAHN_MISSING =
  'Autobahn|Python is not importable by /usr/bin/python3: install Debian\'s packages with ' +
  '`apt-get install -y python3-autobahn python3-twisted`';

// ---------------------------------------------------------------------------
// Deterministic payloads (twin of test/interop/peers/payload.py)

const TEXT_PATTERN = 'abcdefghijklmnopqrstuvwxyz\u00e9\u20ac\u{1F600}ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TEXT_UNIT = Buffer.from(TEXT_PATTERN, 'utf8'); // 61 bytes
const BIN_UNIT = Buffer.from(Array.from({ length: 251 }, (_, i) => i));

/**
 * The exact bytes the Python peers send / expect for a message of `size`
 * bytes: binary byte i = i % 251; text = TEXT_PATTERN repeated, remainder
 * filled with whole pattern characters while they fit, then "z" (valid UTF-8,
 * exactly `size` bytes).
 */
export function makePayload(size: number, binary: boolean): Buffer {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`bad size ${size}`);
  const out = Buffer.allocUnsafe(size);
  const unit = binary ? BIN_UNIT : TEXT_UNIT;
  const whole = binary ? size : size - (size % unit.length);
  for (let off = 0; off < whole; off += unit.length) {
    unit.copy(out, off, 0, Math.min(unit.length, whole - off));
  }
  if (!binary) {
    let off = whole;
    const rest = size - whole;
    for (const ch of TEXT_PATTERN) {
      const b = Buffer.from(ch, 'utf8');
      if (off - whole + b.length > rest) break;
      b.copy(out, off);
      off += b.length;
    }
    out.fill(0x7a /* z */, off, size);
  }
  return out;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------
// Autobahn server

export interface AutobahnServerOptions {
  /** Accept permessage-deflate offers (PerMessageDeflateOfferAccept defaults). */
  deflate?: boolean;
  /** How long to wait for the "LISTENING <port>" line (default 15 s). */
  startTimeoutMs?: number;
  /** maxMessagePayloadSize / maxFramePayloadSize; 0 (default) = unlimited. */
  maxPayload?: number;
}

/** One JSON line the server writes to stderr. */
export type AutobahnServerEvent =
  | { event: 'listening'; port: number; deflate: boolean }
  | {
      event: 'open';
      path: string;
      query: Record<string, string>;
      /** Negotiated extension names joined by ", " ("" = none). */
      extensions: string;
      /** PerMessageDeflate.__json__() of each negotiated extension. */
      extensionParams: Array<Record<string, unknown>>;
      /** The client's Sec-WebSocket-Extensions request header, or null. */
      requestExtensionsHeader: string | null;
    }
  | {
      event: 'close';
      path: string | null;
      wasClean: boolean;
      code: number | null;
      reason: string | null;
      localCode: number | null;
      remoteCode: number | null;
      remoteReason: string | null;
    }
  | { event: 'pong'; path: string; payload: string }
  | { event: 'send-result'; path: string; result: 'ok' | 'mismatch'; received: number }
  | { event: 'message'; path: string; binary: boolean; length: number }
  | { event: 'error'; path: string; error: string };

export interface AutobahnServer {
  port: number;
  /** ws://127.0.0.1:<port><path>; path should start with "/". */
  url(path: string): string;
  /** SIGTERM, then SIGKILL after 2 s; resolves when the process has exited. */
  stop(): Promise<void>;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** stderr parsed as JSON event lines (non-JSON lines skipped). */
  events(): AutobahnServerEvent[];
  /** Resolves with the first event matching `pred` (rejects after timeoutMs, default 5 s). */
  waitForEvent(pred: (e: AutobahnServerEvent) => boolean, timeoutMs?: number): Promise<AutobahnServerEvent>;
}

function parseEvents(text: string): AutobahnServerEvent[] {
  const out: AutobahnServerEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as AutobahnServerEvent);
    } catch {
      /* a traceback or partial line */
    }
  }
  return out;
}

function waitExit(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function startAutobahnServer(opts: AutobahnServerOptions = {}): Promise<AutobahnServer> {
  if (!autobahnAvailable()) return Promise.reject(new Error(`${AUTOBAHN_MISSING} (${autobahnStatus().error})`));
  const args = [SERVER_SCRIPT, '--port', '0'];
  if (opts.deflate) args.push('--deflate');
  if (opts.maxPayload !== undefined) args.push('--max-payload', String(opts.maxPayload));
  // --watch-stdin: the server exits when our end of its stdin closes, so it
  // cannot outlive this process even if stop() is never called.
  args.push('--watch-stdin');
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {});
  live.add(child);
  child.once('exit', () => live.delete(child));
  // Do not keep the test process alive for a forgotten server: unref the
  // process and its pipes (the 'exit' hook and --watch-stdin reap it).
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  let stderr = '';
  let stdout = '';
  const waiters = new Set<() => void>();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr += d;
    for (const w of [...waiters]) w();
  });
  child.stdout!.setEncoding('utf8');

  const server: AutobahnServer = {
    port: 0,
    url: (p: string) => `ws://127.0.0.1:${server.port}${p.startsWith('/') ? p : `/${p}`}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.end();
        child.kill('SIGTERM');
      }
      await waitExit(child, 2000);
    },
    stderr: () => stderr,
    events: () => parseEvents(stderr),
    waitForEvent: (pred, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const e = parseEvents(stderr).find(pred);
          if (e) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(e);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`autobahn server: no matching event within ${timeoutMs} ms; stderr:\n${stderr}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };

  return new Promise((resolve, reject) => {
    const timeoutMs = opts.startTimeoutMs ?? 15_000;
    const fail = (why: string) => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`autobahn server did not start: ${why}\nstderr:\n${stderr}`));
    };
    const t = setTimeout(() => fail(`no LISTENING line within ${timeoutMs} ms`), timeoutMs);
    const onData = (d: string) => {
      stdout += d;
      const m = /^LISTENING (\d+)\r?$/m.exec(stdout);
      if (m) {
        cleanup();
        server.port = Number(m[1]);
        resolve(server);
      }
    };
    const onExit = (code: number | null, sig: string | null) => fail(`exited early (code ${code}, signal ${sig})`);
    const onError = (e: Error) => fail(e.message);
    const cleanup = () => {
      clearTimeout(t);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      child.stdout!.resume(); // keep draining
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

// ---------------------------------------------------------------------------
// Autobahn client

export interface EchoCheckMessage {
  /** Payload size in bytes (content from makePayload()). */
  size: number;
  binary?: boolean;
  /** Send in frames of this many bytes (autobahn sendMessage(fragmentSize=...)). */
  fragmentSize?: number;
  /** Repeat this message `count` times (default 1). */
  count?: number;
}

export type AutobahnClientArgs = {
  url: string;
  /** Offer permessage-deflate (PerMessageDeflateOffer defaults) and accept the response. */
  deflate?: boolean;
  /** Kill the client after this long (default 30 s); the Python side gives up 1 s earlier. */
  timeoutMs?: number;
  /** maxMessagePayloadSize / maxFramePayloadSize; 0 (default) = unlimited. */
  maxPayload?: number;
} & (
  | { mode: 'echo-check'; messages: EchoCheckMessage[] }
  | { mode: 'close'; code?: number; reason?: string }
  | { mode: 'ping'; payload?: string }
  | { mode: 'recv'; echo?: boolean; closeAfter?: number }
);

export interface AutobahnCloseInfo {
  wasClean: boolean;
  /** What onClose() got: the peer's code when clean, 1006 otherwise. */
  code: number | null;
  reason: string | null;
  /** Code/reason in the close frame the peer sent (null if none/no code). */
  remoteCode: number | null;
  remoteReason: string | null;
  /** Code in the close frame we sent (null if none/no code). */
  localCode: number | null;
  /** True when the Python client started the closing handshake. */
  closedByMe: boolean;
  /** True when the Python client closed TCP itself (the server should, RFC 6455 §7.1.1). */
  droppedByMe: boolean;
  /** True when it did so because the server had not within serverConnectionDropTimeout. */
  serverDropTimeout: boolean;
}

export interface AutobahnEchoResult {
  size: number;
  binary: boolean;
  fragmentSize: number | null;
  ok: boolean;
  /** Only when ok is false: */
  receivedSize?: number;
  receivedBinary?: boolean;
  sha256?: string;
  expectedSha256?: string;
}

export interface AutobahnReceivedMessage {
  type: 'text' | 'binary';
  length: number;
  sha256: string;
  /** The text itself, for text messages of at most 256 bytes. */
  text?: string;
}

/** The one JSON line autobahn_client.py prints, plus process info. */
export interface AutobahnClientResult {
  ok: boolean;
  mode: 'echo-check' | 'close' | 'ping' | 'recv';
  url: string;
  opened: boolean;
  /** Negotiated extension names joined by ", " ("" = none). */
  extensions: string;
  extensionParams: Array<Record<string, unknown>>;
  /** The Sec-WebSocket-Extensions header of the server's 101 response, or null. */
  responseExtensionsHeader: string | null;
  httpStatus?: number;
  error?: string;
  /** echo-check */
  results?: AutobahnEchoResult[];
  unexpected?: number;
  /** close: what we sent; ping: the payload we sent */
  sent?: { code?: number | null; reason?: string | null; payload?: string };
  /** ping */
  pong?: string;
  pongHex?: string;
  /** recv (and messages that arrived unasked in other modes) */
  messages?: AutobahnReceivedMessage[];
  close?: AutobahnCloseInfo;
  /** Added by runAutobahnClient: */
  exitCode: number | null;
  stderr: string;
}

/**
 * Runs autobahn_client.py once and resolves with its JSON result, whatever
 * its exit code (check `ok`). Rejects if it prints no JSON line, or is
 * killed after `timeoutMs`.
 */
export function runAutobahnClient(args: AutobahnClientArgs): Promise<AutobahnClientResult> {
  if (!autobahnAvailable()) return Promise.reject(new Error(`${AUTOBAHN_MISSING} (${autobahnStatus().error})`));
  const timeoutMs = args.timeoutMs ?? 30_000;
  // --opt=value so that values starting with '-' are not taken for options
  const argv = [CLIENT_SCRIPT, `--url=${args.url}`, `--mode=${args.mode}`];
  argv.push(`--timeout=${Math.max(0.5, (timeoutMs - 1000) / 1000)}`);
  if (args.deflate) argv.push('--deflate');
  if (args.maxPayload !== undefined) argv.push(`--max-payload=${args.maxPayload}`);
  let stdin: string | undefined;
  switch (args.mode) {
    case 'echo-check':
      argv.push('--spec=-');
      stdin = JSON.stringify({ messages: args.messages });
      break;
    case 'close':
      if (args.code !== undefined) argv.push(`--code=${args.code}`);
      if (args.reason !== undefined) argv.push(`--reason=${args.reason}`);
      break;
    case 'ping':
      if (args.payload !== undefined) argv.push(`--payload=${args.payload}`);
      break;
    case 'recv':
      if (args.echo) argv.push('--echo');
      if (args.closeAfter) argv.push(`--close-after=${args.closeAfter}`);
      break;
  }
  const child = spawn(PYTHON, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {}); // EPIPE if the client exits before reading
  child.stdin!.end(stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (stdout += d));
  child.stderr!.on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(t);
      if (timedOut) {
        reject(new Error(`autobahn client killed after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) {
        reject(new Error(`autobahn client printed no JSON (exit ${code})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      try {
        resolve({ ...(JSON.parse(line) as Omit<AutobahnClientResult, 'exitCode' | 'stderr'>), exitCode: code, stderr });
      } catch (e) {
        reject(new Error(`autobahn client printed bad JSON: ${(e as Error).message}\n${line}`));
      }
    });
  });
}

/**
 * The testsuite-client CLI (src/cli/testsuite-client.ts) against a FAKE
 * Autobahn fuzzingserver written with `ws`, speaking the real one's URL
 * protocol: /getCaseCount (count as a text message, then close),
 * /runCase?case=N&agent=A (the case's messages, which the client must echo
 * exactly), /updateReports?agent=A (close).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocketServer as WsServer, type WebSocket as WsSocket, type RawData } from 'ws';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'src/cli/testsuite-client.ts';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

interface Call {
  path: string;
  caseNo: number | null;
  agent: string | null;
  /** Sec-WebSocket-Extensions the client offered. */
  offered: string;
  /** What the fake server agreed ('permessage-deflate' or ''). */
  negotiated: string;
}

interface CaseResult {
  ok: boolean;
  detail: string;
  messages: number;
}

interface FakeFuzzingServer {
  url: string;
  calls: Call[];
  results: Map<number, CaseResult>;
  /** Resolves when a runCase for a case in `hang` has connected. */
  hung: Promise<number>;
  stop(): Promise<void>;
}

type Msg = { data: Buffer; binary: boolean; fragments?: number; compress?: boolean };

/** The messages of case n; text includes 2-, 3- and 4-byte UTF-8 and the case number. */
function caseMessages(n: number, deflate: boolean): Msg[] {
  const text = `case ${n}: héllo €uro 😀 `;
  const msgs: Msg[] = [
    { data: Buffer.from(text, 'utf8'), binary: false },
    { data: Buffer.from(Array.from({ length: 300 + n }, (_, i) => (i * n) & 0xff)), binary: true },
    { data: Buffer.alloc(0), binary: false },
    // fragmented, 3-byte pieces: UTF-8 sequences split across fragments
    { data: Buffer.from(text.repeat(20), 'utf8'), binary: false, fragments: 3 },
    { data: Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i + n) % 251)), binary: true, fragments: 16_384 },
  ];
  if (deflate) msgs.push({ data: Buffer.from(`compress case ${n} `.repeat(2000), 'utf8'), binary: false, compress: true });
  return msgs;
}

function toBuffer(d: RawData): Buffer {
  return Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d);
}

async function runFakeCase(ws: WsSocket, n: number): Promise<CaseResult> {
  const deflate = ws.extensions.includes('permessage-deflate');
  const msgs = caseMessages(n, deflate);
  const echoes: Array<{ data: Buffer; binary: boolean }> = [];
  const got = new Promise<void>((resolve) => {
    ws.on('message', (data, isBinary) => {
      echoes.push({ data: toBuffer(data), binary: isBinary });
      if (echoes.length === msgs.length) resolve();
    });
  });
  // a ping with payload must get a matching pong
  const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
  ws.ping(`ping ${n}`);
  // all sent back to back, as the real fuzzingserver does
  for (const m of msgs) {
    if (m.fragments) {
      for (let i = 0; i < m.data.length; i += m.fragments) {
        ws.send(m.data.subarray(i, i + m.fragments), { binary: m.binary, fin: i + m.fragments >= m.data.length });
      }
    } else {
      ws.send(m.data, { binary: m.binary, compress: m.compress ?? false });
    }
  }
  try {
    await within(Promise.all([got, pong]), 10_000, `echoes of case ${n}`);
  } catch (err) {
    return { ok: false, detail: (err as Error).message + ` (got ${echoes.length}/${msgs.length})`, messages: echoes.length };
  }
  const p = await pong;
  if (p.toString() !== `ping ${n}`) return { ok: false, detail: `pong payload ${p.toString()}`, messages: echoes.length };
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Msg;
    const e = echoes[i] as { data: Buffer; binary: boolean };
    if (e.binary !== m.binary || !e.data.equals(m.data)) {
      return { ok: false, detail: `message ${i}: type ${e.binary} length ${e.data.length}, expected ${m.binary} ${m.data.length}`, messages: echoes.length };
    }
  }
  return { ok: true, detail: '', messages: echoes.length };
}

async function startFake(count: number, hang: number[] = []): Promise<FakeFuzzingServer> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
  const calls: Call[] = [];
  const results = new Map<number, CaseResult>();
  let onHung: (n: number) => void = () => {};
  const hung = new Promise<number>((resolve) => (onHung = resolve));
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    const u = new URL(req.url ?? '/', 'http://fuzzingserver');
    const caseParam = u.searchParams.get('case');
    const call: Call = {
      path: u.pathname,
      caseNo: caseParam === null ? null : Number(caseParam),
      agent: u.searchParams.get('agent'),
      offered: String(req.headers['sec-websocket-extensions'] ?? ''),
      negotiated: ws.extensions,
    };
    calls.push(call);
    if (u.pathname === '/getCaseCount') {
      ws.send(String(count));
      ws.close(1000);
    } else if (u.pathname === '/runCase' && call.caseNo !== null) {
      const n = call.caseNo;
      if (hang.includes(n)) {
        onHung(n);
        return; // never closes: only a signal (or the case timeout) ends it
      }
      runFakeCase(ws, n).then((r) => {
        results.set(n, r);
        ws.close(1000);
      });
    } else if (u.pathname === '/updateReports') {
      ws.close(1000);
    } else {
      ws.close(1011, 'unknown path');
    }
  });
  await within(new Promise<void>((resolve) => wss.once('listening', () => resolve())), 5000, 'listen');
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    calls,
    results,
    hung,
    stop: () =>
      within(
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
        5000,
        'fake server close',
      ),
  };
}

interface Run {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `via: 'npm'`: as users start it, `npm run testsuite-client -- ARGS` (npm forwards signals to it). */
function runClient(args: string[], via: 'node' | 'npm' = 'node'): Run {
  const proc =
    via === 'npm'
      ? spawn('npm', ['run', '--silent', 'testsuite-client', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, stdout: () => out, stderr: () => err, exited };
}

async function finish(r: Run, ms = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  try {
    return await within(r.exited, ms, 'testsuite-client exit');
  } finally {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  }
}

test('testsuite-client runs every case in order, echoes exactly, then updates reports', { timeout: 60_000 }, async (t) => {
  const fake = await startFake(4);
  t.after(() => fake.stop());
  const r = runClient(['--url', fake.url, '--agent', 'testagent']);
  const e = await finish(r);
  assert.deepEqual(e, { code: 0, signal: null }, r.stderr());

  assert.deepEqual(
    fake.calls.map((c) => [c.path, c.caseNo, c.agent]),
    [
      ['/getCaseCount', null, null],
      ['/runCase', 1, 'testagent'],
      ['/runCase', 2, 'testagent'],
      ['/runCase', 3, 'testagent'],
      ['/runCase', 4, 'testagent'],
      ['/updateReports', null, 'testagent'],
    ],
  );
  for (const c of fake.calls) {
    assert.match(c.offered, /permessage-deflate/, `${c.path} offers permessage-deflate`);
    assert.equal(c.negotiated, 'permessage-deflate');
  }
  assert.deepEqual([...fake.results.keys()].sort(), [1, 2, 3, 4]);
  for (const [n, res] of fake.results) {
    assert.ok(res.ok, `case ${n}: ${res.detail}`);
    assert.equal(res.messages, 6, `case ${n} echoed every message, the compressed one included`);
  }
  assert.match(r.stdout(), /4 cases .* running 4 as agent "testagent"/);
  assert.match(r.stdout(), /reports updated/);
});

test('testsuite-client --cases 2-3 runs only those', { timeout: 60_000 }, async (t) => {
  const fake = await startFake(5);
  t.after(() => fake.stop());
  const r = runClient(['--url', fake.url + '/', '--agent', 'a b', '--cases', '2-3']);
  const e = await finish(r);
  assert.deepEqual(e, { code: 0, signal: null }, r.stderr());
  assert.deepEqual(
    fake.calls.map((c) => [c.path, c.caseNo, c.agent]),
    [
      ['/getCaseCount', null, null],
      ['/runCase', 2, 'a b'],
      ['/runCase', 3, 'a b'],
      ['/updateReports', null, 'a b'],
    ],
  );
  for (const [n, res] of fake.results) assert.ok(res.ok, `case ${n}: ${res.detail}`);
});

for (const [signal, via] of [['SIGTERM', 'node'], ['SIGINT', 'node'], ['SIGTERM', 'npm'], ['SIGINT', 'npm']] as const) {
test(`testsuite-client${via === 'npm' ? ' (npm run testsuite-client)' : ''} stops on ${signal} with exit 0, without updating reports`, { timeout: 60_000 }, async (t) => {
  const fake = await startFake(3, [2]);
  t.after(() => fake.stop());
  const r = runClient(['--url', fake.url, '--agent', 'sig'], via);
  t.after(() => {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  });
  assert.equal(await within(fake.hung, 30_000, 'case 2 connects'), 2);
  const t0 = Date.now();
  r.proc.kill(signal);
  const e = await finish(r, 5000);
  assert.deepEqual(e, { code: 0, signal: null }, r.stderr());
  assert.ok(Date.now() - t0 < 3000, 'stopped within 3 s');
  assert.deepEqual(
    fake.calls.map((c) => [c.path, c.caseNo]),
    [
      ['/getCaseCount', null],
      ['/runCase', 1],
      ['/runCase', 2],
    ],
  );
  assert.ok(fake.results.get(1)?.ok, fake.results.get(1)?.detail);
});
}

test('testsuite-client: a bad flag exits 2 with a usage message', { timeout: 30_000 }, async () => {
  const r = runClient(['--nope']);
  const e = await finish(r, 15_000);
  assert.equal(e.code, 2);
  assert.match(r.stderr(), /usage: testsuite-client --url/);
});

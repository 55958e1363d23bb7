/**
 * The Deno adapter in real Deno (the npm package `deno`, node_modules/.bin/deno).
 *
 * This Node test builds nothing: it needs `npm run build` to have produced
 * dist/ (as `npm test` does first) and fails, loudly, when it has not. It
 *
 * 1. makes a throw-away Deno project under os.tmpdir() whose
 *    node_modules/autostrada is a symlink to this repository, so
 *    `import … from 'autostrada'` resolves through package.json's "deno"
 *    export condition exactly as for a Deno user with an npm install
 *    (`--node-modules-dir=manual`: Deno reads node_modules, fetches nothing);
 * 2. starts the Node peers: our WebSocketServer as an echo server (ws:// and,
 *    with openssl, wss://) and a small HTTP control endpoint through which
 *    the Deno tests make Node clients — ours and ws — talk to the Deno
 *    server they started;
 * 3. runs `deno test` on test/deno/*.deno.js with network access to
 *    127.0.0.1 only, DENO_DIR under os.tmpdir(), no update check, no prompt,
 *    `--cached-only` (nothing remote may be loaded), and parses Deno's
 *    summary: any failure, or no test run at all, fails this test.
 *
 * Type-checking is off (`--no-check`): through a symlink Deno treats the
 * package as local files, whose `.js` specifiers in .d.ts files it does not
 * map; what is tested here is behaviour in the runtime.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsClient, type RawData } from 'ws';
import { WebSocketServer } from '../../src/adapters/node/server.js';
import { WebSocket } from '../../src/adapters/node/client.js';
import type { WsMessageEvent } from '../../src/connection.js';
import { Router } from '../../src/router/server.js';
import { InvocationResult, Session } from '../../src/wamp/session.js';
import { connectWebSocket as nodeConnectWebSocket } from '../../src/index.node.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = join(ROOT, 'test/deno');
const DENO = join(ROOT, 'node_modules/.bin/deno');
/** The whole `deno test` run. */
const DENO_TIMEOUT_MS = 150_000;
/** One driven Node client exchange. */
const DRIVE_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------- the Node peers

const servers: WebSocketServer[] = [];
let control: Server | null = null;
let project = '';
const cert = endEntityCert();

/**
 * A throw-away self-signed certificate for 127.0.0.1 and localhost, marked
 * CA:FALSE: Deno's TLS (rustls/webpki) refuses a CA certificate as a
 * server's own (CaUsedAsEndEntity), which is what a plain
 * `openssl req -x509` makes. Null without openssl.
 */
function endEntityCert(): { key: string; cert: string } | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'autostrada-deno-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'),
        '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth'],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(join(dir, 'k'), 'utf8'), cert: readFileSync(join(dir, 'c'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our echo server; a text 'whoami' is answered with what the server saw of the request. */
async function echoServer(tls: { key: string; cert: string } | null): Promise<string> {
  const wss = new WebSocketServer({
    port: 0,
    perMessageDeflate: true,
    protocols: ['wamp.2.json', 'wamp.2.cbor'],
    ...(tls ? { tls } : {}),
    verifyClient: ({ req }) => req.url !== '/forbidden' || { status: 403 },
  });
  servers.push(wss);
  wss.on('connection', (ws, req) => {
    ws.onmessage = (e) => {
      if (!e.binary && e.data === 'whoami') {
        ws.send(JSON.stringify({ path: req.url, xDeno: req.headers['x-deno'], extensions: ws.extensions }));
      } else ws.send(e.raw, { binary: e.binary });
    };
  });
  await wss.ready();
  return `${tls ? 'wss' : 'ws'}://127.0.0.1:${(wss.address() as { port: number }).port}/`;
}

interface DriveReport {
  ok: boolean;
  error?: string;
  protocol?: string;
  extensions?: string;
  closeCode?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        res(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        rej(e);
      },
    );
  });
}

/**
 * The minimal client API both Node clients are adapted to, so one scenario
 * drives either.
 */
interface Driven {
  protocol: string;
  extensions: string;
  send(data: string | Uint8Array): void;
  next(): Promise<{ data: Buffer; binary: boolean }>;
  close(code: number, reason: string): void;
  closed: Promise<number>;
}

async function openOurs(url: string, ca: string | undefined): Promise<Driven> {
  const ws = await WebSocket.connect(url, ['wamp.2.json', 'wamp.2.cbor'], {
    perMessageDeflate: true,
    headers: { 'X-Client': 'ours' },
    ...(ca ? { tls: { ca } } : {}),
  });
  const queue: WsMessageEvent[] = [];
  let wake: (() => void) | null = null;
  ws.onmessage = (e) => {
    queue.push(e);
    wake?.();
  };
  const closed = new Promise<number>((r) => ws.addEventListener('close', (e) => r(e.code)));
  return {
    protocol: ws.protocol,
    extensions: ws.extensions,
    send: (d) => void ws.send(d),
    next: async () => {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const e = queue.shift() as WsMessageEvent;
      return { data: Buffer.from(e.raw), binary: e.binary };
    },
    close: (code, reason) => ws.close(code, reason),
    closed,
  };
}

async function openWs(url: string): Promise<Driven> {
  const ws = new WsClient(url, ['wamp.2.json', 'wamp.2.cbor'], { perMessageDeflate: true, headers: { 'X-Client': 'ws' } });
  const queue: Array<{ data: Buffer; binary: boolean }> = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: RawData, binary: boolean) => {
    queue.push({ data: data as Buffer, binary });
    wake?.();
  });
  const closed = new Promise<number>((r) => ws.on('close', (code: number) => r(code)));
  await new Promise<void>((res, rej) => {
    ws.once('open', () => res());
    ws.once('error', rej);
  });
  ws.on('error', () => undefined);
  return {
    protocol: ws.protocol,
    extensions: ws.extensions,
    send: (d) => ws.send(d),
    next: async () => {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return queue.shift() as { data: Buffer; binary: boolean };
    },
    close: (code, reason) => ws.close(code, reason),
    closed,
  };
}

/** What a Node client does against the Deno server, by `mode`. */
async function driveClient(q: URLSearchParams): Promise<DriveReport> {
  const url = q.get('url') ?? '';
  if (!/^wss?:\/\/(127\.0\.0\.1|localhost):\d+\//.test(url)) throw new Error(`not a loopback URL: ${url}`);
  const which = q.get('client');
  const c = which === 'ours' ? await openOurs(url, q.get('tls') ? cert?.cert : undefined) : which === 'ws' ? await openWs(url) : null;
  if (!c) throw new Error(`unknown client ${String(which)}`);
  if (q.get('mode') === 'await-close') return { ok: true, closeCode: await c.closed };
  c.send('hello from node ✓');
  let m = await c.next();
  assert.deepEqual([m.data.toString(), m.binary], ['hello from node ✓', false]);
  c.send(new Uint8Array([7, 8, 9]));
  m = await c.next();
  assert.deepEqual([[...m.data], m.binary], [[7, 8, 9], true]);
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 17) & 0xff;
  c.send(big);
  m = await c.next();
  assert.ok(m.data.equals(big), '1 MiB echo');
  c.close(1000, 'node done');
  return { ok: true, protocol: c.protocol, extensions: c.extensions, closeCode: await c.closed };
}

function onControl(req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (u.pathname !== '/drive') {
    res.writeHead(404).end();
    return;
  }
  withTimeout(driveClient(u.searchParams), DRIVE_TIMEOUT_MS, 'driven client')
    .catch((err: unknown): DriveReport => ({ ok: false, error: err instanceof Error ? err.message : String(err) }))
    .then((report) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
    });
}

// ---------------------------------------------------------------- the run

interface Summary {
  ok: boolean;
  passed: number;
  failed: number;
  ignored: number;
}

/** Deno's last line: `ok | 9 passed | 0 failed | 1 ignored (2s)` or `FAILED | …`. */
function parseSummary(out: string): Summary | null {
  const re = /^(ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/gm;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(out); m; m = re.exec(out)) last = m;
  if (!last) return null;
  return { ok: last[1] === 'ok', passed: Number(last[2]), failed: Number(last[3]), ignored: Number(last[4] ?? 0) };
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      res({ code, out, timedOut });
    });
  });
}

/** The file package.json's "deno" condition points at (the Deno build), or why there is none. */
function denoTarget(): { file: string } | { problem: string } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  const dot = pkg.exports?.['.'] as Record<string, unknown> | undefined;
  let t: unknown = dot?.deno;
  while (t && typeof t === 'object') t = (t as Record<string, unknown>).default ?? (t as Record<string, unknown>).import;
  if (typeof t !== 'string') return { problem: 'package.json has no exports["."].deno target' };
  return { file: join(ROOT, t) };
}

before(async () => {
  project = mkdtempSync(join(tmpdir(), 'autostrada-deno-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules/autostrada'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'deno-consumer', private: true, type: 'module', dependencies: { autostrada: '*' } }, null, 2));
  for (const f of readdirSync(HERE).filter((n) => n.endsWith('.deno.js'))) copyFileSync(join(HERE, f), join(project, f));
  control = createServer(onControl);
  control.listen(0, '127.0.0.1');
  await once(control, 'listening');
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (control) {
    control.closeAllConnections();
    await new Promise<void>((r) => (control as Server).close(() => r()));
  }
  if (project) rmSync(project, { recursive: true, force: true });
});

test('the Deno adapter passes its tests in Deno, against Node peers (ours and ws)', { timeout: DENO_TIMEOUT_MS + 20_000 }, async (t) => {
  assert.ok(existsSync(DENO), `the deno binary is missing at ${DENO} (npm package "deno", a devDependency)`);
  assert.ok(existsSync(join(ROOT, 'dist')), 'dist/ is missing: run `npm run build` first (`npm test` does)');
  const target = denoTarget();
  assert.ok('file' in target, 'problem' in target ? target.problem : '');
  assert.ok(existsSync(target.file), `the "deno" export target ${target.file} is missing: run \`npm run build\``);
  const files = readdirSync(project).filter((n) => n.endsWith('.deno.js'));
  assert.ok(files.length > 0, 'no test/deno/*.deno.js files');

  const echo = await echoServer(null);
  // A WAMP router for the client suite (wamp.deno.js), with a Node callee on it.
  const router = new Router({ realms: [{ name: 'realm1' }] });
  const { port: routerPort } = await router.listen({ port: 0, static: false });
  const nodePeer = await Session.join(await nodeConnectWebSocket(`ws://127.0.0.1:${routerPort}/ws`), 'realm1');
  await nodePeer.register('node.echo', (args, kwargs) => new InvocationResult(args, kwargs));
  t.after(async () => {
    await nodePeer.leave().catch(() => {});
    await router.close();
  });
  const wss = cert ? await echoServer(cert) : null;
  const controlUrl = `http://127.0.0.1:${(control?.address() as { port: number }).port}`;
  const denoDir = join(tmpdir(), 'autostrada-deno-dir');
  mkdirSync(denoDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DENO_DIR: denoDir,
    DENO_NO_UPDATE_CHECK: '1',
    DENO_NO_PROMPT: '1',
    NO_COLOR: '1',
  };
  const args = [
    'test',
    '--no-check',
    '--cached-only',
    '--node-modules-dir=manual',
    '--allow-net=127.0.0.1,localhost',
    ...files,
    '--',
    `--echo=${echo}`,
    `--control=${controlUrl}`,
    `--router=ws://127.0.0.1:${routerPort}/ws`,
    ...(wss && cert ? [`--wss=${wss}`, `--ca=${Buffer.from(cert.cert).toString('base64')}`, `--key=${Buffer.from(cert.key).toString('base64')}`] : []),
  ];
  const r = await run(DENO, args, { cwd: project, env, timeoutMs: DENO_TIMEOUT_MS });
  assert.ok(!r.timedOut, `deno test still running after ${DENO_TIMEOUT_MS} ms:\n${r.out}`);
  const summary = parseSummary(r.out);
  assert.ok(summary, `no Deno test summary in the output (exit ${r.code}):\n${r.out}`);
  assert.equal(summary.failed, 0, `Deno tests failed:\n${r.out}`);
  assert.ok(summary.passed > 0, `no Deno test ran:\n${r.out}`);
  assert.ok(summary.ok && r.code === 0, `deno test exited ${r.code}:\n${r.out}`);
  if (!cert) assert.ok(summary.ignored > 0, 'without openssl the TLS tests are ignored');
  t.diagnostic(`deno: ${summary.passed} passed, ${summary.failed} failed, ${summary.ignored} ignored`);
});

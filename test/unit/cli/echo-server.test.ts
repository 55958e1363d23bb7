/**
 * The echo-server CLI (src/cli/echo-server.ts) as a child process, checked
 * with a `ws` client: echoes with the right type, permessage-deflate, a
 * 10 MiB message, clean exit on SIGTERM/SIGINT, exit 2 on a bad flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket as WsClient, type RawData } from 'ws';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'src/cli/echo-server.ts';

interface Running {
  proc: ChildProcess;
  port: number;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * `via: 'npm'` starts it as users do, `npm run echo-server -- ARGS`: npm
 * forwards SIGINT/SIGTERM to its child, which must be the server itself
 * (the script `exec`s node; a shell in between would swallow the signal).
 */
function run(args: string[], via: 'node' | 'npm' = 'node'): { proc: ChildProcess; stdout: () => string; stderr: () => string; exited: Running['exited'] } {
  const proc =
    via === 'npm'
      ? spawn('npm', ['run', '--silent', 'echo-server', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
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

/** Start the server on an ephemeral port and wait for its "ready" line. */
async function start(extra: string[] = [], via: 'node' | 'npm' = 'node'): Promise<Running> {
  const r = run(['--port', '0', ...extra], via);
  const port = await within(
    new Promise<number>((resolve, reject) => {
      const onData = (): void => {
        const m = /echo-server ready on ws:\/\/127\.0\.0\.1:(\d+)/.exec(r.stdout());
        if (m) {
          r.proc.stdout!.off('data', onData);
          resolve(Number(m[1]));
        }
      };
      r.proc.stdout!.on('data', onData);
      r.exited.then((e) => reject(new Error(`echo-server exited (${e.code}) before ready: ${r.stderr()}`)));
    }),
    20_000,
    'echo-server ready',
  ).catch((err) => {
    r.proc.kill('SIGKILL');
    throw err;
  });
  assert.ok(port > 0, 'an ephemeral port was printed');
  return { ...r, port, url: `ws://127.0.0.1:${port}` };
}

function stop(r: Running): Promise<unknown> {
  if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  return r.exited;
}

function connect(url: string, options: ConstructorParameters<typeof WsClient>[2] = {}): Promise<WsClient> {
  return within(
    new Promise((resolve, reject) => {
      const ws = new WsClient(url, options);
      ws.once('open', () => {
        ws.on('error', () => {});
        resolve(ws);
      });
      ws.once('error', reject);
    }),
    10_000,
    'connect',
  );
}

function nextMessage(ws: WsClient, ms = 20_000): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(
    new Promise((resolve, reject) => {
      ws.once('message', (data: RawData, isBinary) => resolve({ data: data as Buffer, isBinary }));
      ws.once('close', (code) => reject(new Error(`closed (${code})`)));
    }),
    ms,
    'message',
  );
}

function closedWith(ws: WsClient, ms = 10_000): Promise<number> {
  return within(new Promise((resolve) => ws.once('close', (code) => resolve(code))), ms, 'close');
}

test('echo-server CLI', { timeout: 90_000 }, async (t) => {
  const server = await start();
  t.after(() => stop(server));

  await t.test('prints the ephemeral port it listens on', () => {
    assert.match(server.stdout(), /^echo-server ready on ws:\/\/127\.0\.0\.1:\d+\n/);
  });

  await t.test('echoes text as text and binary as binary', async () => {
    const ws = await connect(server.url);
    ws.send('héllo €😀');
    let m = await nextMessage(ws);
    assert.deepEqual([m.isBinary, m.data.toString('utf8')], [false, 'héllo €😀']);
    ws.send(Buffer.from([0, 1, 2, 0xff]));
    m = await nextMessage(ws);
    assert.equal(m.isBinary, true);
    assert.deepEqual([...m.data], [0, 1, 2, 0xff]);
    ws.send('');
    m = await nextMessage(ws);
    assert.deepEqual([m.isBinary, m.data.length], [false, 0]);
    ws.close(1000);
    assert.equal(await closedWith(ws), 1000);
  });

  await t.test('accepts permessage-deflate and echoes compressed messages', async () => {
    let header = '';
    const ws = new WsClient(server.url, { perMessageDeflate: { threshold: 0 } });
    ws.once('upgrade', (res) => (header = String(res.headers['sec-websocket-extensions'] ?? '')));
    await within(new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject))), 10_000, 'open');
    assert.equal(ws.extensions, 'permessage-deflate');
    assert.match(header, /^permessage-deflate/);
    const text = 'compress me please, '.repeat(500);
    ws.send(text);
    const m = await nextMessage(ws);
    assert.deepEqual([m.isBinary, m.data.toString('utf8')], [false, text]);
    ws.close();
    await closedWith(ws);
  });

  await t.test('echoes a 10 MiB message (binary, and text with deflate)', async () => {
    const size = 10 * 1024 * 1024;
    const bin = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bin[i] = (i * 31) % 251;
    for (const deflate of [false, true]) {
      const ws = await connect(server.url, { perMessageDeflate: deflate, maxPayload: 32 * 1024 * 1024 });
      ws.send(bin);
      let m = await nextMessage(ws, 30_000);
      assert.ok(m.isBinary && m.data.equals(bin), `binary 10 MiB, deflate ${deflate}`);
      const text = 'abcdé€😀'.repeat(Math.ceil(size / 14)).slice(0, size / 2);
      ws.send(text);
      m = await nextMessage(ws, 30_000);
      assert.ok(!m.isBinary && m.data.toString('utf8') === text, `text, deflate ${deflate}`);
      ws.close();
      await closedWith(ws);
    }
  });

  await t.test('--no-deflate declines permessage-deflate', async () => {
    const plain = await start(['--no-deflate']);
    try {
      const ws = await connect(plain.url, { perMessageDeflate: true });
      assert.equal(ws.extensions, '');
      ws.send('x');
      assert.equal((await nextMessage(ws)).data.toString(), 'x');
      ws.close();
      await closedWith(ws);
    } finally {
      await stop(plain);
    }
  });
});

for (const [signal, via] of [['SIGTERM', 'node'], ['SIGINT', 'node'], ['SIGTERM', 'npm'], ['SIGINT', 'npm']] as const) {
  test(`echo-server${via === 'npm' ? ' (npm run echo-server)' : ''} exits 0 within 3 s on ${signal}, closing clients with 1001`, { timeout: 30_000 }, async (t) => {
    const server = await start([], via);
    t.after(() => stop(server));
    const ws = await connect(server.url);
    ws.send('still here');
    await nextMessage(ws);
    const clientClosed = closedWith(ws);
    const t0 = Date.now();
    server.proc.kill(signal);
    const e = await within(server.exited, 3000, `exit after ${signal}`);
    assert.deepEqual(e, { code: 0, signal: null }, server.stderr());
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(await clientClosed, 1001);
    // Nothing is left listening (no orphaned server behind an exited npm).
    await assert.rejects(connect(server.url), 'the port is closed');
  });
}

test('echo-server: a bad flag exits 2 with a usage message', { timeout: 30_000 }, async () => {
  for (const args of [['--bogus'], ['--port'], ['--port', 'abc'], ['stray']]) {
    const r = run(args);
    const e = await within(r.exited, 15_000, `exit for ${args.join(' ')}`).finally(() => r.proc.kill('SIGKILL'));
    assert.equal(e.code, 2, `${args.join(' ')}: ${r.stderr()}`);
    assert.match(r.stderr(), /usage: echo-server --port/);
    assert.doesNotMatch(r.stdout(), /ready/);
  }
});

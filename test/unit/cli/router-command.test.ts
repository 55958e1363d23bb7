/**
 * `autostrada router`: starts with defaults or a config file, serves WAMP and
 * the demo on one port, refuses a bad config naming the key, and on SIGTERM
 * says GOODBYE (wamp.close.system_shutdown) to every session and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '../../../src/wamp/session.js';
import { connectWebSocket } from '../../../src/index.node.js';
import { ticket } from '../../../src/wamp/auth/client.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'src/cli/autostrada.ts');

function run(args: string[]): { child: ChildProcess; ready: Promise<number>; exit: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady!: (port: number) => void;
  const ready = new Promise<number>((r) => (onReady = r));
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /ready on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) onReady(Number(m[1]));
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; out: string; err: string }>((r) => child.on('exit', (code) => r({ code, out, err })));
  return { child, ready, exit };
}

test('defaults: WAMP at /ws and the demo at /; SIGTERM says GOODBYE and exits 0', { timeout: 60_000 }, async () => {
  const r = run(['router', '--port', '0']);
  const port = await Promise.race([r.ready, r.exit.then((e) => Promise.reject(new Error(`exited: ${e.err}`)))]);
  const session = await Session.join(await connectWebSocket(`ws://127.0.0.1:${port}/ws`), 'realm1');
  // The demo backend runs in realm1.
  assert.equal(typeof (await session.call('demo.counter.get')).args[0], 'number');
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Autostrada/);
  r.child.kill('SIGTERM');
  const left = await session.closed;
  assert.equal(left.reason, 'wamp.close.system_shutdown');
  const e = await r.exit;
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /autostrada router stopped/);
});

test('a config file: realms, ticket auth, no demo', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'autostrada-router-'));
  const file = join(dir, 'router.json');
  writeFileSync(
    file,
    JSON.stringify({
      port: 0,
      static: false,
      realms: [{ name: 'com.example' }],
      auth: { ticket: { type: 'static', principals: { alice: { ticket: 's3cret', role: 'user' } } } },
    }),
  );
  const r = run(['router', '--config', file]);
  const port = await Promise.race([r.ready, r.exit.then((e) => Promise.reject(new Error(`exited: ${e.err}`)))]);
  const url = `ws://127.0.0.1:${port}/ws`;
  await assert.rejects(Session.join(await connectWebSocket(url), 'com.example'), (err: { uri?: string }) => {
    assert.equal(err.uri, 'wamp.error.no_matching_auth_method');
    return true;
  });
  const s = await Session.join(await connectWebSocket(url), 'com.example', { authid: 'alice', authenticators: [ticket('s3cret')] });
  assert.equal(s.authrole, 'user');
  await s.leave();
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404, 'static: false');
  r.child.kill('SIGINT');
  assert.equal((await r.exit).code, 0);
});

test('a bad config is refused with the key named; exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'autostrada-router-'));
  const file = join(dir, 'router.json');
  writeFileSync(file, JSON.stringify({ realms: [{ name: 'realm1', roles: [{ name: 'x', permissions: [{ uri: '', match: 'prefx' }] }] }] }));
  const e = await run(['router', '--config', file]).exit;
  assert.equal(e.code, 2);
  assert.match(e.err, /realms\[0\]\.roles\[0\]\.permissions\[0\]\.match must be one of "exact", "prefix", "wildcard"/);
  const unknown = await run(['router', '--prot', '1']).exit;
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown option --prot/);
});

test('a port in use: a clear error and exit 1', async () => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const e = await run(['router', '--port', String(port), '--no-demo']).exit;
  blocker.close();
  assert.equal(e.code, 1);
  assert.match(e.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
});

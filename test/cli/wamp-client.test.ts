/**
 * The `autostrada` WAMP client commands, run as real processes
 * (`node --import tsx src/cli/autostrada.ts …`) against our Router listening
 * on loopback in this process: call, publish, subscribe, register (running a
 * real shell command), keygen; --times, --match, --keyword; RawSocket over
 * TCP and a Unix socket; cryptosign with a key from keygen; every error path
 * with its exit code and message; and an Autobahn|Python peer on the same
 * router. AUTOSTRADA_CLI=test/cli/client-entry.ts runs the commands without
 * the dispatcher.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '../../src/router/server.js';
import { Session, InvocationResult } from '../../src/wamp/session.js';
import { ApplicationError } from '../../src/wamp/application-error.js';
import { connectNodeTransport } from '../../src/adapters/node/component-transports.js';
import { PYTHON, autobahnStatus, AUTOBAHN_MISSING } from '../interop/peers.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const ENTRY = resolve(ROOT, process.env.AUTOSTRADA_CLI ?? 'src/cli/autostrada.ts');
const PEER = fileURLToPath(new URL('./python/cli_peer.py', import.meta.url));
const RUN_MS = 30_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A CLI process; `ready` waits for a pattern on stderr, `result` for the exit. */
interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  result: Promise<Run>;
}

/** The test's environment without WAMP_* variables (the CLI reads them). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('WAMP_')) delete env[k];
  return env;
}

function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) w();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS);
  const result = new Promise<Run>((res) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of [...waiters]) w();
      res({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    result,
    waitFor(pattern, ms = 15_000) {
      return new Promise<void>((res, rej) => {
        const check = (): void => {
          if (pattern.test(err) || pattern.test(out)) {
            cleanup();
            res();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            rej(new Error(`process ended before ${pattern}: ${err}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          rej(new Error(`timed out waiting for ${pattern}; stderr: ${err}; stdout: ${out}`));
        }, ms);
        const cleanup = (): void => {
          clearTimeout(t);
          const i = waiters.indexOf(check);
          if (i !== -1) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
      });
    },
  };
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return start(args, env).result;
}

function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const tick = (): void => {
      if (cond()) res();
      else if (Date.now() - t0 > ms) rej(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function joinRealm(url: string, realm = 'realm1'): Promise<Session> {
  return Session.join(await connectNodeTransport({ url }, new AbortController().signal), realm);
}

const dir = mkdtempSync(join(tmpdir(), 'autostrada-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('autostrada call / publish / subscribe / register', () => {
  let router: Router;
  let port: number;
  let ws: string;
  let sock: string;
  let s: Session;
  const received: unknown[] = [];

  before(async () => {
    router = new Router({ realms: [{ name: 'realm1' }] });
    sock = join(dir, 'wamp.sock');
    ({ port } = await router.listen({ port: 0, static: false, unixPaths: [sock] }));
    ws = `ws://127.0.0.1:${port}/ws`;
    s = await joinRealm(ws);
    await s.register('com.example.add', (args) => Number(args[0]) + Number(args[1]));
    await s.register('com.example.echo', (args, kwargs) => new InvocationResult(args, kwargs));
    await s.register('com.example.nothing', () => undefined);
    await s.register('com.example.bytes', () => new Uint8Array([1, 2, 3]));
    await s.register('com.example.fail', () => {
      throw new ApplicationError('com.example.invalid', ['bad year', 1830], { min: 1900 });
    });
    await s.subscribe('com.example.inbox', (args, kwargs) => void received.push({ args, kwargs }));
  });
  after(async () => {
    await s.leave();
    await router.close();
  });

  test('call prints the single result, null for none, {args, kwargs} otherwise', async () => {
    const [one, none, many, bytes] = await Promise.all([
      cli(['call', 'com.example.add', '2', '3', '--url', ws]),
      cli(['call', 'com.example.nothing', '--url', ws]),
      cli(['call', 'com.example.echo', '1', '"1"', 'text', '[1,2]', '{"a":null}', '-5', '--keyword', 'n', '3', '--keyword', 's', 'x y', '--url', ws]),
      cli(['call', 'com.example.bytes', `--url=${ws}`]),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, '5\n');
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, 'null\n');
    assert.equal(many.code, 0, many.stderr);
    assert.deepEqual(JSON.parse(many.stdout), { args: [1, '1', 'text', [1, 2], { a: null }, -5], kwargs: { n: 3, s: 'x y' } });
    assert.equal(bytes.code, 0, bytes.stderr);
    assert.equal(JSON.parse(bytes.stdout), '\u0000AQID');
  });

  test('call over RawSocket (TCP, msgpack) and a Unix socket (cbor), and WebSocket with cbor', async () => {
    const [rs, unix, cbor] = await Promise.all([
      cli(['call', 'com.example.add', '1', '2', '--url', `rs://127.0.0.1:${port}`, '--serializer', 'msgpack']),
      cli(['call', 'com.example.add', '3', '4', '--url', `unix://${sock}`, '--serializer', 'cbor']),
      cli(['call', 'com.example.add', '5', '6', '--url', ws, '--serializer', 'cbor']),
    ]);
    assert.deepEqual([rs.code, rs.stdout], [0, '3\n'], rs.stderr);
    assert.deepEqual([unix.code, unix.stdout], [0, '7\n'], unix.stderr);
    assert.deepEqual([cbor.code, cbor.stdout], [0, '11\n'], cbor.stderr);
  });

  test("a call's error: exit 1, the URI, args and kwargs on stderr", async () => {
    const [app, missing] = await Promise.all([cli(['call', 'com.example.fail', '--url', ws]), cli(['call', 'com.example.missing', '--url', ws])]);
    assert.equal(app.code, 1);
    assert.equal(app.stdout, '');
    assert.match(app.stderr, /call com\.example\.fail failed: com\.example\.invalid\n/);
    assert.match(app.stderr, /args: \["bad year",1830\]/);
    assert.match(app.stderr, /kwargs: \{"min":1900\}/);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /failed: wamp\.error\.no_such_procedure/);
  });

  test('a call timeout: exit 1 with wamp.error.timeout', async () => {
    await s.register('com.example.slow', () => new Promise((r) => setTimeout(() => r('late'), 3000)));
    const r = await cli(['call', 'com.example.slow', '--timeout', '200', '--url', ws]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wamp\.error\.timeout|canceled/);
  });

  test('publish: args and --keyword reach a subscriber, exit 0', async () => {
    received.length = 0;
    const r = await cli(['publish', 'com.example.inbox', 'hello', '42', '--keyword', 'flag', 'true', '--url', ws]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    await until(() => received.length === 1, 3000, 'event');
    assert.deepEqual(received[0], { args: ['hello', 42], kwargs: { flag: true } });
  });

  test('subscribe --times 2 prints one JSON line per event and exits 0', async () => {
    const p = start(['subscribe', 'com.example.ticks', '--times', '2', '--url', ws]);
    await p.waitFor(/subscribed to com\.example\.ticks/);
    for (let i = 1; i <= 3; i++) await s.publish('com.example.ticks', [i], { n: i }, { acknowledge: true });
    const r = await p.result;
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { args: unknown[]; kwargs: object; details: { topic: string; publication: number } });
    assert.equal(lines.length, 2);
    assert.deepEqual(lines.map((l) => [l.args, l.kwargs]), [[[1], { n: 1 }], [[2], { n: 2 }]]);
    assert.equal(lines[0]?.details.topic, 'com.example.ticks');
    assert.equal(typeof lines[0]?.details.publication, 'number');
  });

  test('subscribe --match prefix and wildcard report the actual topic', async () => {
    const prefix = start(['subscribe', 'com.example.pre', '--match', 'prefix', '--times', '2', '--url', ws]);
    const wild = start(['subscribe', 'com..temp', '--match', 'wildcard', '--times', '1', '--url', ws]);
    await Promise.all([prefix.waitFor(/subscribed/), wild.waitFor(/subscribed/)]);
    await s.publish('com.example.pre.a', ['a'], {}, { acknowledge: true });
    await s.publish('com.other.temp', ['t'], {}, { acknowledge: true });
    await s.publish('com.example.prefix.b', ['b'], {}, { acknowledge: true });
    const [p, w] = await Promise.all([prefix.result, wild.result]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(
      p.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { details: { topic: string } }).details.topic),
      ['com.example.pre.a', 'com.example.prefix.b'],
    );
    assert.equal(w.code, 0, w.stderr);
    assert.equal((JSON.parse(w.stdout) as { details: { topic: string } }).details.topic, 'com.other.temp');
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    test(`subscribe ends on ${sig}: leaves with GOODBYE, exit 0`, async () => {
      const left: number[] = [];
      const watch = await s.subscribe('wamp.session.on_leave', (args) => void left.push(args[0] as number));
      const p = start(['subscribe', 'com.example.forever', '--url', ws]);
      await p.waitFor(/subscribed to com\.example\.forever \(session (\d+)\)/);
      const id = Number(/session (\d+)/.exec(p.stderr())?.[1]);
      p.child.kill(sig);
      const r = await p.result;
      assert.equal(r.code, 0, r.stderr);
      await until(() => left.includes(id), 3000, 'the router saw the session leave');
      await watch.unsubscribe();
    });
  }

  test('register runs a real shell command per invocation with WAMP_ARGS/WAMP_KWARGS (+ _JSON); --times ends it', async () => {
    const script = 'printf "%s|%s|%s|%s" "$WAMP_ARGS" "$WAMP_KWARGS" "$WAMP_ARGS_JSON" "$WAMP_KWARGS_JSON"';
    const p = start(['register', 'com.example.sh', '--times', '2', '--url', ws, '--', 'sh', '-c', script]);
    await p.waitFor(/registered com\.example\.sh/);
    const first = await s.call('com.example.sh', ['a b', 2, { x: 1 }], { k: 'v', n: 1 });
    assert.equal(first.args[0], 'a b 2 {"x":1}|k=v n=1|["a b",2,{"x":1}]|{"k":"v","n":1}');
    const second = await s.call('com.example.sh');
    assert.equal(second.args[0], '||[]|{}');
    const r = await p.result;
    assert.equal(r.code, 0, r.stderr);
    // The registration is gone with the session.
    await assert.rejects(s.call('com.example.sh'), { uri: 'wamp.error.no_such_procedure' });
  });

  test('register: a failing command answers with autostrada.error.command_failed and its stderr', async () => {
    const p = start(['register', 'com.example.failing', '--times', '2', '--url', ws, '--', 'sh', '-c', 'echo "it broke: $WAMP_ARGS" >&2; exit 3']);
    await p.waitFor(/registered/);
    await assert.rejects(s.call('com.example.failing', ['x']), (err: unknown) => {
      assert.ok(err instanceof ApplicationError);
      assert.equal(err.uri, 'autostrada.error.command_failed');
      assert.deepEqual(err.args, ['it broke: x']);
      assert.equal(err.kwargs.exit_code, 3);
      return true;
    });
    // A program that does not exist is an error too, not a crash.
    const missing = start(['register', 'com.example.nope', '--times', '1', '--url', ws, '--', 'definitely-not-a-program-here']);
    await missing.waitFor(/registered/);
    await assert.rejects(s.call('com.example.nope'), { uri: 'autostrada.error.command_failed' });
    assert.equal((await missing.result).code, 0);
    await assert.rejects(s.call('com.example.failing'), { uri: 'autostrada.error.command_failed' });
    const r = await p.result;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /it broke: x/);
  });

  test('register --match prefix: the command sees each call', async () => {
    const p = start(['register', 'com.example.tool', '--match', 'prefix', '--times', '1', '--url', ws, '--', 'sh', '-c', 'echo "ran $WAMP_ARGS"']);
    await p.waitFor(/registered/);
    assert.equal((await s.call('com.example.tool.hammer', ['nail'])).args[0], 'ran nail');
    assert.equal((await p.result).code, 0);
  });

  test('the session lost (router gone) ends subscribe with exit 1', async () => {
    const r2 = new Router({ realms: [{ name: 'realm1' }] });
    const { port: p2 } = await r2.listen({ port: 0, static: false });
    const p = start(['subscribe', 'com.example.x', '--url', `ws://127.0.0.1:${p2}/ws`]);
    await p.waitFor(/subscribed/);
    await r2.close();
    const r = await p.result;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /system_shutdown|transport_lost/);
  });

  test('--retries: a router started late is joined on a retry', async () => {
    const p2 = await freePort();
    const late = start(['call', 'com.example.add', '1', '1', '--url', `ws://127.0.0.1:${p2}/ws`, '--retries', '10']);
    await new Promise((r) => setTimeout(r, 1200));
    const r2 = new Router({ realms: [{ name: 'realm1' }] });
    await r2.listen({ port: p2, static: false });
    const s2 = await joinRealm(`ws://127.0.0.1:${p2}/ws`);
    await s2.register('com.example.add', (args) => Number(args[0]) + Number(args[1]));
    const r = await late.result;
    await s2.leave();
    await r2.close();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2\n');
  });

  test('connection and join failures: exit 1 with a clear message', async () => {
    const deadPort = await freePort();
    const [refused, refusedRs, realm] = await Promise.all([
      cli(['call', 'com.example.add', '--url', `ws://127.0.0.1:${deadPort}/ws`]),
      cli(['publish', 'com.example.add', '--url', `rs://127.0.0.1:${deadPort}`]),
      cli(['subscribe', 'com.example.add', '--url', ws, '--realm', 'no.such.realm']),
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`cannot join realm 'realm1' at ws://127\\.0\\.0\\.1:${deadPort}/ws: could not connect.*ECONNREFUSED`));
    assert.equal(refusedRs.code, 1);
    assert.match(refusedRs.stderr, /cannot join realm 'realm1' at rs:.*ECONNREFUSED/);
    assert.equal(realm.code, 1);
    assert.match(realm.stderr, /wamp\.error\.no_such_realm/);
  });

  test('bad command lines: exit 2 with the reason and the usage', async () => {
    const cases: [string[], RegExp][] = [
      [['call'], /'call' needs a URI/],
      [['call', 'not a uri!'], /not a valid WAMP URI/],
      [['call', 'com.x', '--url', 'http://x'], /unknown scheme 'http'/],
      [['call', 'com.x', '--url', 'rs://host'], /needs a port/],
      [['call', 'com.x', '--bogus'], /unknown option --bogus/],
      [['call', 'com.x', '--serializer', 'xml'], /--serializer must be json, msgpack or cbor/],
      [['call', 'com.x', '--keyword', 'onlyname'], /--keyword takes two values/],
      [['subscribe', 'com.x', '--times', 'abc'], /--times must be a non-negative integer/],
      [['subscribe', 'com.x', '--match', 'fuzzy'], /--match must be exact, prefix or wildcard/],
      [['subscribe', 'com.x', 'extra'], /unexpected argument 'extra'/],
      [['register', 'com.x'], /needs a command to run/],
      [['call', 'com.x', '--private-key', 'zz-not-a-key'], /--private-key is neither 64 hex digits nor a readable key file/],
      [['keygen', 'extra'], /unexpected argument 'extra'/],
    ];
    const withUrl = (args: string[]): string[] => (args[0] === 'keygen' || args.includes('--url') ? args : [...args, '--url', ws]);
    const runs = await Promise.all(cases.map(([args]) => cli(withUrl(args))));
    for (const [i, [args, want]] of cases.entries()) {
      const r = runs[i] as Run;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want, args.join(' '));
      assert.match(r.stderr, /usage: autostrada|autostrada call:/, args.join(' '));
    }
  });

  test('--help prints the usage and exits 0', async () => {
    const [c, k] = await Promise.all([cli(['call', '--help']), cli(['keygen', '-h'])]);
    assert.equal(c.code, 0);
    assert.match(c.stdout, /usage: autostrada call URI/);
    assert.match(c.stdout, /--keyword/);
    assert.equal(k.code, 0);
    assert.match(k.stdout, /private-key-ed25519/);
  });
});

describe('autostrada keygen and cryptosign', () => {
  let router: Router;
  let ws: string;
  let s: Session;
  let pub: string;
  let priv: string;

  before(async () => {
    const k = await cli(['keygen']);
    assert.equal(k.code, 0, k.stderr);
    const m = /^public-key-ed25519: ([0-9a-f]{64})\nprivate-key-ed25519: ([0-9a-f]{64})\n$/.exec(k.stdout);
    assert.ok(m, k.stdout);
    [pub, priv] = [m[1] as string, m[2] as string];
    router = new Router({
      realms: [{ name: 'realm1', disclose: { caller: 'force', publisher: 'force' } }],
      auth: {
        anonymous: { type: 'static' },
        cryptosign: { type: 'static', principals: { alice: { authorized_keys: [pub], role: 'user' } } },
      },
    });
    const { port } = await router.listen({ port: 0, static: false });
    ws = `ws://127.0.0.1:${port}/ws`;
    s = await joinRealm(ws);
    await s.register('com.example.whoami', (_a, _k, details) => `${details.caller_authid}/${details.caller_authrole}`);
  });
  after(async () => {
    await s.leave();
    await router.close();
  });

  test('the key from keygen authenticates with --private-key, WAMP_PRIVATE_KEY, or the key file', async () => {
    const file = join(dir, 'alice.priv');
    const k = await cli(['keygen', '--output', file]);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stdout, /^public-key-ed25519: [0-9a-f]{64}\n$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const filePub = /public-key-ed25519: ([0-9a-f]{64})/.exec(readFileSync(file, 'utf8'))?.[1] as string;
    // A second router principal for the key in the file.
    const r2 = new Router({ realms: [{ name: 'realm1' }], auth: { cryptosign: { type: 'static', principals: { bob: { authorized_keys: [filePub], role: 'robot' } } } } });
    const { port: p2 } = await r2.listen({ port: 0, static: false });
    const [flag, env, viaFile, overwrite] = await Promise.all([
      cli(['call', 'com.example.whoami', '--url', ws, '--authid', 'alice', '--private-key', priv]),
      cli(['call', 'com.example.whoami', '--url', ws, '--authid', 'alice'], { WAMP_PRIVATE_KEY: priv }),
      cli(['call', 'wamp.session.count', '--url', `rs://127.0.0.1:${p2}`, '--authid', 'bob', '--private-key', file]),
      cli(['keygen', '--output', file]),
    ]);
    await r2.close();
    assert.deepEqual([flag.code, flag.stdout], [0, '"alice/user"\n'], flag.stderr);
    assert.deepEqual([env.code, env.stdout], [0, '"alice/user"\n'], env.stderr);
    assert.deepEqual([viaFile.code, viaFile.stdout], [0, '1\n'], viaFile.stderr);
    assert.equal(overwrite.code, 1);
    assert.match(overwrite.stderr, /cannot write .*alice\.priv/);
  });

  test('a key the router does not know: exit 1, refused once even with --retries', async () => {
    const other = await cli(['keygen']);
    const otherPriv = /private-key-ed25519: ([0-9a-f]{64})/.exec(other.stdout)?.[1] as string;
    const t0 = Date.now();
    const r = await cli(['call', 'com.example.whoami', '--url', ws, '--authid', 'alice', '--private-key', otherPriv, '--retries', '5']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot join realm 'realm1'.*wamp\.error\.(authentication_failed|not_authorized)/);
    assert.ok(Date.now() - t0 < 10_000, 'not retried');
  });

  test('ticket without a ticket authenticator on the router: refused, exit 1', async () => {
    const r = await cli(['call', 'com.example.whoami', '--url', ws, '--authid', 'joe', '--ticket', 'secret']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wamp\.error\./);
  });
});

const py = autobahnStatus();

describe('autostrada with an Autobahn|Python peer on the same router', { skip: py.ok ? false : AUTOBAHN_MISSING }, () => {
  let router: Router;
  let ws: string;
  let peer: ChildProcess;
  let peerOut = '';

  before(async () => {
    router = new Router({ realms: [{ name: 'realm1' }] });
    const { port } = await router.listen({ port: 0, static: false });
    ws = `ws://127.0.0.1:${port}/ws`;
    peer = spawn(PYTHON, [PEER, ws], { stdio: ['pipe', 'pipe', 'pipe'] });
    let peerErr = '';
    peer.stdout?.on('data', (d: Buffer) => (peerOut += d.toString()));
    peer.stderr?.on('data', (d: Buffer) => (peerErr += d.toString()));
    await until(() => peerOut.includes('READY') || peer.exitCode !== null, 20_000, 'the Python peer').catch((e: Error) => {
      throw new Error(`${e.message}: ${peerErr}`);
    });
    assert.ok(peerOut.includes('READY'), peerErr);
  });
  after(async () => {
    peer.stdin?.end();
    const t = setTimeout(() => peer.kill('SIGKILL'), 5000);
    if (peer.exitCode === null) await new Promise((r) => peer.once('close', r));
    clearTimeout(t);
    await router.close();
  });

  test('call a procedure of Autobahn|Python, over WebSocket and RawSocket', async () => {
    const port = new URL(ws).port;
    const [a, b] = await Promise.all([
      cli(['call', 'com.example.py.add', '2', '3', '--url', ws, '--serializer', 'msgpack']),
      cli(['call', 'com.example.py.add', '"a"', '"b"', '--url', `rs://127.0.0.1:${port}`]),
    ]);
    assert.deepEqual([a.code, a.stdout], [0, '5\n'], a.stderr);
    assert.deepEqual([b.code, b.stdout], [0, '"ab"\n'], b.stderr);
  });

  test("Autobahn|Python's ApplicationError: exit 1 with its URI, args and kwargs", async () => {
    const r = await cli(['call', 'com.example.py.fail', '--url', ws]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed: com\.example\.py\.oops\n\s+args: \["bad input"\]\n\s+kwargs: \{"code":7\}/);
  });

  test('publish to Autobahn|Python, and subscribe to what it publishes', async () => {
    const pub = await cli(['publish', 'com.example.py.inbox', 'hi', '--keyword', 'n', '1', '--url', ws]);
    assert.equal(pub.code, 0, pub.stderr);
    await until(() => peerOut.includes('EVENT '), 5000, 'the peer printed the event');
    const line = peerOut.split('\n').find((l) => l.startsWith('EVENT ')) as string;
    assert.deepEqual(JSON.parse(line.slice(6)), { args: ['hi'], kwargs: { n: 1 } });

    const sub = start(['subscribe', 'com.example.py.news', '--times', '1', '--url', ws]);
    await sub.waitFor(/subscribed/);
    const call = await cli(['call', 'com.example.py.announce', 'breaking', '--keyword', 'level', '2', '--url', ws]);
    assert.deepEqual([call.code, call.stdout], [0, '"announced"\n'], call.stderr);
    const r = await sub.result;
    assert.equal(r.code, 0, r.stderr);
    const ev = JSON.parse(r.stdout) as { args: unknown[]; kwargs: object; details: { topic: string } };
    assert.deepEqual([ev.args, ev.kwargs, ev.details.topic], [['breaking'], { level: 2 }, 'com.example.py.news']);
  });

  test('Autobahn|Python calls a procedure registered by the CLI', async () => {
    const reg = start(['register', 'com.example.cli.upper', '--times', '1', '--url', ws, '--', 'sh', '-c', 'printf %s "$WAMP_ARGS" | tr a-z A-Z']);
    await reg.waitFor(/registered/);
    const code = [
      'import asyncio, sys',
      'from urllib.parse import urlparse',
      'import txaio; txaio.use_asyncio()',
      'from autobahn.asyncio.wamp import ApplicationSession',
      'from autobahn.asyncio.websocket import WampWebSocketClientFactory',
      'from autobahn.wamp.types import ComponentConfig',
      'URL = sys.argv[1]',
      'class S(ApplicationSession):',
      '    async def onJoin(self, details):',
      "        print('RESULT ' + await self.call('com.example.cli.upper', 'shout'), flush=True)",
      '        self.leave()',
      '    def onDisconnect(self):',
      '        asyncio.get_event_loop().stop()',
      'loop = asyncio.get_event_loop()',
      "f = WampWebSocketClientFactory(lambda: S(ComponentConfig('realm1')), url=URL)",
      'u = urlparse(URL)',
      'loop.run_until_complete(loop.create_connection(f, u.hostname, u.port))',
      'loop.call_later(20, loop.stop)',
      'loop.run_forever()',
    ].join('\n');
    writeFileSync(join(dir, 'caller.py'), code);
    const out = await new Promise<string>((res) => {
      const p = spawn(PYTHON, [join(dir, 'caller.py'), ws], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      p.stdout.on('data', (d: Buffer) => (o += d.toString()));
      p.stderr.on('data', (d: Buffer) => (o += d.toString()));
      const t = setTimeout(() => p.kill('SIGKILL'), 25_000);
      p.on('close', () => {
        clearTimeout(t);
        res(o);
      });
    });
    assert.match(out, /RESULT SHOUT/);
    assert.equal((await reg.result).code, 0);
  });
});

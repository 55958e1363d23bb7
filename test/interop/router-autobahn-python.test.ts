/**
 * Interop: Autobahn|Python 22.7.1 (Debian python3-autobahn, asyncio, run with
 * /usr/bin/python3) against our router over our WebSocket server, with each
 * serializer it has here (json, msgpack, msgpack.batched): RPC
 * (progressive results, cancel, timeout, shared and pattern registrations,
 * caller identification, callee leaving), PubSub (patterns, identification,
 * exclusion, black/white lists, retention), meta API (sessions, kill,
 * testament) and ticket / wampcra / cryptosign authentication. SCRAM is not
 * covered here: this Autobahn|Python needs argon2-cffi for it, which is not
 * installed.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRouter, type RouterFixture } from './router-fixture.js';
import { PYTHON, autobahnStatus, AUTOBAHN_MISSING } from './peers.js';
import { generateKeyPair } from '../../src/wamp/auth/cryptosign-key.js';

const SCRIPT = fileURLToPath(new URL('./python/router_client.py', import.meta.url));

/** Runs the Python client; resolves with its check lines; kills it after `ms`. */
function runPython(url: string, serializer: string, scenario: string, args?: object, ms = 60_000): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const argv = [SCRIPT, url, serializer, scenario, ...(args ? [JSON.stringify(args)] : [])];
    const p = spawn(PYTHON, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: out.split('\n').filter((l) => l.startsWith('OK ') || l.startsWith('FAIL ')), stderr: err });
    });
  });
}

function assertAllOk(r: { code: number | null; lines: string[]; stderr: string }, minChecks: number): void {
  const failed = r.lines.filter((l) => l.startsWith('FAIL'));
  assert.deepEqual(failed, [], `${failed.join('\n')}\n${r.stderr.slice(-2000)}`);
  assert.ok(r.lines.length >= minChecks, `only ${r.lines.length} checks ran:\n${r.lines.join('\n')}\n${r.stderr.slice(-2000)}`);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
}

const status = autobahnStatus();

describe('Autobahn|Python against our router', { skip: status.ok ? false : AUTOBAHN_MISSING }, () => {
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter({ realms: [{ name: 'realm1' }, { name: 'disclosed', disclose: { caller: 'force', publisher: 'force' } }] });
  });
  after(() => fx.stop());

  // Not json.batched: Autobahn|Python 22.7 separates batched JSON messages with
  // 0x18 (it writes b'\30', octal), the spec and we use 0x1E, so the two cannot talk.
  for (const serializer of ['json', 'msgpack', 'msgpack.batched']) {
    test(`RPC with ${serializer}`, async () => {
      assertAllOk(await runPython(fx.url, serializer, 'rpc'), 10);
      assert.equal(fx.protocols.at(-1), `wamp.2.${serializer}`);
    });
    test(`PubSub with ${serializer}`, async () => assertAllOk(await runPython(fx.url, serializer, 'pubsub'), 4));
    test(`meta API with ${serializer}`, async () => assertAllOk(await runPython(fx.url, serializer, 'meta'), 4));
  }
});

describe('Autobahn|Python authentication against our router', { skip: status.ok ? false : AUTOBAHN_MISSING }, () => {
  const key = generateKeyPair();
  const seed = Buffer.from(key.privateKey).toString('hex');
  let fx: RouterFixture;
  before(async () => {
    fx = await startRouter({
      realms: [{ name: 'realm1' }],
      auth: {
        ticket: { type: 'static', principals: { joe: { ticket: 'secret!!!', role: 'user' } } },
        wampcra: {
          type: 'static',
          principals: {
            peter: { secret: 'secret1', role: 'crauser' },
            salted: { secret: 'pw', role: 'salty', salt: 'salt123', iterations: 100, keylen: 32 },
          },
        },
        cryptosign: { type: 'static', principals: { alice: { authorized_keys: [key.publicKeyHex], role: 'device' } } },
      },
    });
  });
  after(() => fx.stop());

  const cases: [string, object][] = [
    ['ticket', { method: 'ticket', authid: 'joe', secret: 'secret!!!', role: 'user' }],
    ['ticket, wrong', { method: 'ticket', authid: 'joe', secret: 'nope', expect_abort: 'wamp.error.not_authorized' }],
    ['wampcra', { method: 'wampcra', authid: 'peter', secret: 'secret1', role: 'crauser' }],
    ['wampcra, salted', { method: 'wampcra', authid: 'salted', secret: 'pw', role: 'salty' }],
    ['wampcra, wrong', { method: 'wampcra', authid: 'peter', secret: 'nope', expect_abort: 'wamp.error.authentication_failed' }],
    ['cryptosign', { method: 'cryptosign', authid: 'alice', seed, role: 'device' }],
    ['cryptosign, key only', { method: 'cryptosign', seed, role: 'device' }],
    ['cryptosign, unknown key', { method: 'cryptosign', authid: 'alice', seed: Buffer.from(generateKeyPair().privateKey).toString('hex'), expect_abort: 'wamp.error.authentication_failed' }],
  ];
  for (const [name, args] of cases) {
    test(name, async () => assertAllOk(await runPython(fx.url, 'json', 'auth', args), 1));
  }
});

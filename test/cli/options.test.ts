/**
 * The client commands' command-line parser, in-process (the spawned CLI is
 * tested in wamp-client.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseClientArgs, parseValue, UsageError, DEFAULT_URL } from '../../src/cli/wamp-client/options.js';
import { runClientCommand, type ClientIo } from '../../src/cli/wamp-client.js';
import { invocationEnv } from '../../src/cli/wamp-client/exec.js';
import { toJson } from '../../src/cli/wamp-client/output.js';

test('values are JSON when they parse, else strings', () => {
  assert.equal(parseValue('42'), 42);
  assert.equal(parseValue('-1.5'), -1.5);
  assert.equal(parseValue('true'), true);
  assert.equal(parseValue('null'), null);
  assert.equal(parseValue('"42"'), '42');
  assert.deepEqual(parseValue('{"a":[1]}'), { a: [1] });
  assert.equal(parseValue('hello world'), 'hello world');
  assert.equal(parseValue('{broken'), '{broken');
  assert.equal(parseValue(''), '');
});

test('call: positional values, --keyword pairs, values after --, defaults', () => {
  const a = parseClientArgs('call', ['com.x', '1', '-5', 'two', '--keyword', 'k', '[1]', '--keyword', 'k2', 'v', '--', '--literal'], {});
  assert.equal(a.uri, 'com.x');
  assert.deepEqual(a.args, [1, -5, 'two', '--literal']);
  assert.deepEqual(a.kwargs, { k: [1], k2: 'v' });
  assert.equal(a.url, DEFAULT_URL);
  assert.equal(a.realm, 'realm1');
  assert.equal(a.serializer, 'json');
  assert.equal(a.retries, 0);
  assert.deepEqual(a.transport, { url: DEFAULT_URL });
});

test('environment: WAMP_URL, WAMP_REALM, WAMP_AUTHID, WAMP_PRIVATE_KEY; flags win; empty values are unset', () => {
  const env = { WAMP_URL: 'rs://10.0.0.1:9000', WAMP_REALM: 'r2', WAMP_AUTHID: 'bob', WAMP_PRIVATE_KEY: 'ab'.repeat(32) };
  const a = parseClientArgs('publish', ['com.x'], env);
  assert.deepEqual(a.transport, { rawsocket: { host: '10.0.0.1', port: 9000 }, serializer: 'json' });
  assert.equal(a.realm, 'r2');
  assert.equal(a.authid, 'bob');
  assert.equal(a.privateKey, 'ab'.repeat(32));
  const b = parseClientArgs('publish', ['com.x', '--realm=r3', '--url', 'unix:///s', '--serializer', 'cbor'], env);
  assert.equal(b.realm, 'r3');
  assert.deepEqual(b.transport, { rawsocket: { path: '/s' }, serializer: 'cbor' });
  const c = parseClientArgs('publish', ['com.x'], { WAMP_URL: '', WAMP_REALM: '' });
  assert.equal(c.url, DEFAULT_URL);
  assert.equal(c.realm, 'realm1');
});

test('register: the command after -- or after the URI; subscribe patterns', () => {
  assert.deepEqual(parseClientArgs('register', ['com.x', '--times', '3', '--', 'sh', '-c', 'echo --x'], {}).exec, ['sh', '-c', 'echo --x']);
  assert.deepEqual(parseClientArgs('register', ['com.x', '/bin/echo', 'hi'], {}).exec, ['/bin/echo', 'hi']);
  assert.equal(parseClientArgs('register', ['com.x', '--', 'true'], {}).concurrency, 8);
  assert.equal(parseClientArgs('subscribe', ['com..x', '--match', 'wildcard'], {}).uri, 'com..x');
  assert.equal(parseClientArgs('subscribe', ['com.x.', '--match', 'prefix'], {}).uri, 'com.x.');
  assert.throws(() => parseClientArgs('subscribe', ['com..x'], {}), UsageError);
  assert.throws(() => parseClientArgs('call', ['com..x', '--match', 'wildcard'], {}), /unknown option --match/);
  assert.throws(() => parseClientArgs('register', ['com.x', 'a', '--', 'b'], {}), /before '--'/);
  assert.throws(() => parseClientArgs('register', ['com.x', '--concurrency', '0', '--', 'b'], {}), /at least 1/);
  assert.throws(() => parseClientArgs('call', ['com.x', '--help=yes'], {}), /takes no value/);
  assert.throws(() => parseClientArgs('call', ['com.x', '--timeout'], {}), /needs a value/);
  assert.throws(() => parseClientArgs('call', ['com.x', '--timeout', '0'], {}), /at least 1/);
  assert.throws(() => parseClientArgs('call', ['com.x', '--retries', '-1'], {}), /non-negative integer/);
  assert.throws(() => parseClientArgs('call', ['com.x', '--realm', 'bad realm'], {}), /not a valid URI/);
  assert.equal(parseClientArgs('call', ['--help'], {}).help, true);
});

test('invocation environment and JSON output of binary values', () => {
  const env = invocationEnv({ PATH: '/bin' }, ['a b', 2, { x: [1] }, new Uint8Array([255])], { k: 'v', n: null });
  assert.equal(env.PATH, '/bin');
  assert.equal(env.WAMP_ARGS, 'a b 2 {"x":[1]} "\\u0000/w=="');
  assert.equal(env.WAMP_ARGS_JSON, '["a b",2,{"x":[1]},"\\u0000/w=="]');
  assert.equal(env.WAMP_KWARGS, 'k=v n=null');
  assert.equal(env.WAMP_KWARGS_JSON, '{"k":"v","n":null}');
  assert.equal(toJson({ b: new Uint8Array([1, 2, 3]), big: 10n }), '{"b":"\\u0000AQID","big":"10"}');
});

test('runClientCommand in-process: usage errors exit 2, keygen prints a key pair, unknown command', async () => {
  const io = (): ClientIo & { out: () => string; err: () => string } => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    return { stdout, stderr, env: {}, onSignal: () => () => {}, out: () => out, err: () => err };
  };
  const a = io();
  assert.equal(await runClientCommand('call', [], a), 2);
  assert.match(a.err(), /'call' needs a URI/);
  const b = io();
  assert.equal(await runClientCommand('keygen', [], b), 0);
  assert.match(b.out(), /^public-key-ed25519: [0-9a-f]{64}\nprivate-key-ed25519: [0-9a-f]{64}\n$/);
  const c = io();
  assert.equal(await runClientCommand('bogus', [], c), 2);
  assert.match(c.err(), /unknown client command 'bogus'/);
});

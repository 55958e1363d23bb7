import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadRouterConfig, validateRouterConfig } from '../../../src/router/config.js';

function bad(cfg: unknown, path: string, message: RegExp): void {
  assert.throws(
    () => validateRouterConfig(cfg, 'router.json'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.path, path);
      assert.match(e.message, message);
      assert.ok(e.message.startsWith('router.json: '), e.message);
      return true;
    },
  );
}

test('an empty config is valid (all defaults)', () => {
  assert.deepEqual(validateRouterConfig({}), {});
});

test('a full config is valid', () => {
  const cfg = {
    host: '0.0.0.0',
    port: 8080,
    unixPaths: ['/tmp/wamp.sock'],
    websocket: { path: ['/ws', '/wamp'], protocols: ['wamp.2.json'], perMessageDeflate: false, maxMessageSize: 1048576, heartbeat: { interval: 30000, timeout: 10000 } },
    rawsocket: { serializers: ['json', 'cbor'], maxMessageSize: 65536 },
    static: './public',
    demo: false,
    autoCreateRealms: false,
    realms: [
      {
        name: 'realm1',
        roles: [
          { name: 'frontend', permissions: [{ uri: 'com.example.', match: 'prefix', allow: { call: true, subscribe: true }, disclose: { caller: true } }] },
          { name: 'backend', authorizer: 'com.example.authorize' },
        ],
        disclose: { caller: 'allow', publisher: 'force' },
        maxRetained: 100,
      },
    ],
    auth: {
      anonymous: false,
      ticket: { type: 'static', principals: { alice: { ticket: 's3cret', role: 'frontend' } } },
      wampcra: { type: 'dynamic', authenticator: 'com.example.authenticate' },
      cryptosign: { type: 'static', principals: { bob: { authorized_keys: ['aa'.repeat(32)], role: 'backend' } } },
      scram: { type: 'static', principals: { carol: { role: 'frontend', kdf: 'argon2id13', iterations: 4096, memory: 512, salt: 'x', 'stored-key': 'y', 'server-key': 'z' } } },
    },
    limits: { maxPendingCalls: 10, eventDropBytes: 0 },
  };
  assert.equal(validateRouterConfig(cfg), cfg);
});

test('errors name the key by its full path', () => {
  bad({ port: 70000 }, 'port', /must be ≤ 65535, got 70000/);
  bad({ port: '8080' }, 'port', /must be a number, got string "8080"/);
  bad({ realms: [{ name: 'realm1', roles: [{ name: 'r', permissions: [{ uri: 'a', match: 'prefx' }] }] }] }, 'realms[0].roles[0].permissions[0].match', /must be one of "exact", "prefix", "wildcard", got string "prefx"/);
  bad({ realms: [{}] }, 'realms[0].name', /is required/);
  bad({ realms: [{ name: 'a' }, { name: 'a' }] }, 'realms[1].name', /repeats realm "a"/);
  bad({ auth: { ticket: { type: 'static', principals: { alice: { ticket: 'x' } } } } }, 'auth.ticket.principals.alice.role', /is required/);
  bad({ auth: { ticket: { type: 'magic' } } }, 'auth.ticket.type', /must be one of "static", "dynamic"/);
  bad({ websocket: true }, 'websocket', /must be false or an object, got boolean true/);
  bad({ websocket: { path: [] } }, 'websocket.path', /must not be empty/);
  bad({ websocket: false, rawsocket: false }, 'websocket', /no WAMP transport left/);
  bad({ limits: { maxPendingCalls: 0 } }, 'limits.maxPendingCalls', /must be ≥ 1/);
  bad([], '', /must be an object, got a list/);
});

test('unknown keys are refused with a suggestion', () => {
  bad({ realm: [] }, 'realm', /is not a known key \(did you mean "realms"\?\)/);
  bad({ websocket: { pth: '/ws' } }, 'websocket.pth', /did you mean "path"/);
  bad({ zzzzzzzz: 1 }, 'zzzzzzzz', /is not a known key; known keys here: host, port/);
});

test('loadRouterConfig: JSON errors, unreadable files, relative paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autostrada-config-'));
  const file = join(dir, 'router.json');
  writeFileSync(file, '{ "port": 1, }');
  assert.throws(() => loadRouterConfig(file), /router\.json: the config is not valid JSON/);
  assert.throws(() => loadRouterConfig(join(dir, 'missing.json')), /cannot be read/);
  writeFileSync(file, JSON.stringify({ static: 'www', tls: { key: 'k.pem', cert: '/abs/c.pem' } }));
  const cfg = loadRouterConfig(file);
  assert.equal(cfg.static, join(dir, 'www'));
  assert.deepEqual(cfg.tls, { key: join(dir, 'k.pem'), cert: '/abs/c.pem' });
});

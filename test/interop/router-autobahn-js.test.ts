/**
 * Interop: Autobahn|JS 22.11.1 (npm `autobahn`, Node) against our router over
 * our WebSocket server, with each serializer it has (json, msgpack, cbor):
 * RPC, errors, progressive results, canceling, PubSub with patterns and
 * options, shared registrations, meta API, and ticket / wampcra / cryptosign
 * authentication.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startRouter, type RouterFixture } from './router-fixture.js';
import { generateKeyPair } from '../../src/wamp/auth/cryptosign-key.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Autobahn|JS ships no types
type Any = any;
const autobahn: Any = require('autobahn');

const SERIALIZERS: [string, () => Any][] = [
  ['json', () => new autobahn.serializer.JSONSerializer()],
  ['msgpack', () => new autobahn.serializer.MsgpackSerializer()],
  ['cbor', () => new autobahn.serializer.CBORSerializer()],
];

/** Opens an Autobahn|JS session; rejects on close before open or after 5 s. */
function connect(url: string, serializer: Any, extra: Record<string, unknown> = {}): Promise<{ session: Any; connection: Any; details: Any }> {
  return new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({
      url,
      realm: 'realm1',
      serializers: [serializer],
      max_retries: 0,
      retry_if_unreachable: false,
      ...extra,
    });
    const timer = setTimeout(() => {
      connection.close();
      reject(new Error('Autobahn|JS did not join in 5 s'));
    }, 5000);
    connection.onopen = (session: Any, details: Any) => {
      clearTimeout(timer);
      resolve({ session, connection, details });
    };
    connection.onclose = (reason: string, details: Any) => {
      clearTimeout(timer);
      reject(new Error(`closed: ${reason} ${JSON.stringify(details)}`));
      return true; // no reconnect
    };
    connection.open();
  });
}

function closeAll(conns: Any[]): Promise<void> {
  return Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (!c.isOpen) return resolve();
          c.onclose = () => {
            resolve();
            return true;
          };
          c.close();
        }),
    ),
  ).then(() => undefined);
}

const within = <T>(p: Promise<T>, ms = 5000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())]);

for (const [name, make] of SERIALIZERS) {
  describe(`Autobahn|JS with ${name}`, () => {
    let fx: RouterFixture;
    const conns: Any[] = [];
    const open = async (extra: Record<string, unknown> = {}): Promise<Any> => {
      const { session, connection } = await connect(fx.url, make(), extra);
      conns.push(connection);
      return session;
    };
    before(async () => {
      fx = await startRouter({ realms: [{ name: 'realm1' }] });
    });
    after(async () => {
      await closeAll(conns);
      await fx.stop();
    });

    test('negotiates the subprotocol and joins', async () => {
      const s = await open();
      assert.equal(fx.protocols.at(-1), `wamp.2.${name}`);
      assert.ok(s.id >= 1);
      assert.equal(s.features.caller.progressive_call_results, true);
    });

    test('RPC: args, kwargs, binary; errors with URI and payload; no_such_procedure', async () => {
      const callee = await open();
      const caller = await open();
      await callee.register('com.example.add', (args: number[], kwargs: Any) => new autobahn.Result([args[0]! + args[1]!], { echo: kwargs }));
      await callee.register('com.example.fail', () => {
        throw new autobahn.Error('com.example.oops', ['bad'], { code: 7 });
      });
      const r: Any = await within(caller.call('com.example.add', [2, 3], { k: 'v' }));
      assert.deepEqual([r.args, r.kwargs], [[5], { echo: { k: 'v' } }]);
      await assert.rejects(within(caller.call('com.example.fail')), (e: Any) => e.error === 'com.example.oops' && e.args[0] === 'bad' && e.kwargs.code === 7);
      await assert.rejects(within(caller.call('com.example.none')), (e: Any) => e.error === 'wamp.error.no_such_procedure');
      if (name !== 'json') {
        await callee.register('com.example.bytes', (args: Any[]) => Buffer.from(args[0]).reverse());
        const b: Any = await within(caller.call('com.example.bytes', [Buffer.from([1, 2, 3])]));
        assert.deepEqual([...b], [3, 2, 1]);
      }
    });

    test('progressive call results', async () => {
      const callee = await open();
      const caller = await open();
      await callee.register('com.example.stream', (_a: Any, _k: Any, details: Any) => {
        for (let i = 0; i < 3; i++) details.progress([i]);
        return 'done';
      });
      const progress: unknown[] = [];
      const res = await within(caller.call('com.example.stream', [], {}, { receive_progress: true }).then(undefined, undefined, (p: Any) => progress.push(p)));
      assert.equal(res, 'done');
      assert.deepEqual(progress, [0, 1, 2]);
    });

    test('cancel (Autobahn|JS callee has no call_canceling: skip) → wamp.error.canceled', async () => {
      const callee = await open();
      const caller = await open();
      await callee.register('com.example.forever', () => new Promise(() => {}));
      const p = caller.call('com.example.forever');
      setTimeout(() => p.cancel({ mode: 'kill' }), 50);
      await assert.rejects(within(p), (e: Any) => e.error === 'wamp.error.canceled');
    });

    test('call timeout → wamp.error.timeout', async () => {
      const callee = await open();
      const caller = await open();
      await callee.register('com.example.slow', () => new Promise(() => {}));
      await assert.rejects(within(caller.call('com.example.slow', [], {}, { timeout: 100 })), (e: Any) => e.error === 'wamp.error.timeout');
    });

    test('PubSub: exact, prefix and wildcard subscriptions, exclude_me, disclose_me, acknowledge, eligible', async () => {
      const sub = await open();
      const pub = await open();
      const got: [string, unknown, unknown, unknown][] = [];
      const done = new Promise<void>((resolve) => {
        const on = (tag: string) => (args: Any[], _kw: Any, details: Any) => {
          got.push([tag, args[0], details.topic, details.publisher]);
          if (got.length === 3) resolve();
        };
        void Promise.all([
          sub.subscribe('com.example.t1', on('exact')),
          sub.subscribe('com.example', on('prefix'), { match: 'prefix' }),
          sub.subscribe('com..t1', on('wildcard'), { match: 'wildcard' }),
        ]).then(async () => {
          await pub.publish('com.example.t1', ['hi'], {}, { acknowledge: true, disclose_me: true });
        });
      });
      await within(done);
      got.sort();
      // (Autobahn|JS fills details.topic itself for exact subscriptions.)
      assert.deepEqual(got, [
        ['exact', 'hi', 'com.example.t1', pub.id],
        ['prefix', 'hi', 'com.example.t1', pub.id],
        ['wildcard', 'hi', 'com.example.t1', pub.id],
      ]);
      // Publisher exclusion off, and whitelisting.
      const self: unknown[] = [];
      await pub.subscribe('com.self', (a: Any[]) => self.push(a[0]));
      await sub.subscribe('com.self', (a: Any[]) => self.push(`sub:${a[0]}`));
      await pub.publish('com.self', ['me'], {}, { exclude_me: false, eligible: [pub.id], acknowledge: true });
      await within(new Promise((r) => setTimeout(r, 100)));
      assert.deepEqual(self, ['me']);
    });

    test('shared registration, roundrobin', async () => {
      const a = await open();
      const b = await open();
      const caller = await open();
      await a.register('com.example.rr', () => 'a', { invoke: 'roundrobin' });
      await b.register('com.example.rr', () => 'b', { invoke: 'roundrobin' });
      const seq = [];
      for (let i = 0; i < 4; i++) seq.push(await within(caller.call('com.example.rr')));
      assert.deepEqual(seq, ['a', 'b', 'a', 'b']);
    });

    test('meta API: session count/get, registration lookup, on_join', async () => {
      const s = await open();
      const joined = new Promise<Any>((resolve) => void s.subscribe('wamp.session.on_join', (args: Any[]) => resolve(args[0])));
      await within(new Promise((r) => setTimeout(r, 20)));
      const other = await open();
      const info = await within(joined);
      assert.equal(info.session, other.id);
      const count: Any = await within(s.call('wamp.session.count'));
      assert.ok(count >= 2);
      const got: Any = await within(s.call('wamp.session.get', [other.id]));
      assert.equal(got.authrole, 'anonymous');
      await other.register('com.example.meta', () => null);
      const regId = await within(s.call('wamp.registration.lookup', ['com.example.meta']));
      assert.deepEqual(await within(s.call('wamp.registration.list_callees', [regId])), [other.id]);
    });
  });
}

describe('Autobahn|JS authentication', () => {
  const key = generateKeyPair();
  let fx: RouterFixture;
  const conns: Any[] = [];
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
  after(async () => {
    await closeAll(conns);
    await fx.stop();
  });
  const join = async (extra: Record<string, unknown>): Promise<Any> => {
    const { connection, details } = await connect(fx.url, new autobahn.serializer.JSONSerializer(), extra);
    conns.push(connection);
    return details;
  };

  test('ticket', async () => {
    const s = await join({ authmethods: ['ticket'], authid: 'joe', onchallenge: () => 'secret!!!' });
    assert.deepEqual([s.authid, s.authrole, s.authmethod], ['joe', 'user', 'ticket']);
    await assert.rejects(join({ authmethods: ['ticket'], authid: 'joe', onchallenge: () => 'wrong' }), /wamp.error.not_authorized/);
  });

  test('wampcra, plain and salted', async () => {
    const s = await join({
      authmethods: ['wampcra'],
      authid: 'peter',
      onchallenge: (_s: Any, _m: string, extra: Any) => autobahn.auth_cra.sign('secret1', extra.challenge),
    });
    assert.equal(s.authrole, 'crauser');
    const t = await join({
      authmethods: ['wampcra'],
      authid: 'salted',
      onchallenge: (_s: Any, _m: string, extra: Any) =>
        autobahn.auth_cra.sign(autobahn.auth_cra.derive_key('pw', extra.salt, extra.iterations, extra.keylen), extra.challenge),
    });
    assert.equal(t.authrole, 'salty');
    await assert.rejects(
      join({ authmethods: ['wampcra'], authid: 'peter', onchallenge: (_s: Any, _m: string, e: Any) => autobahn.auth_cra.sign('nope', e.challenge) }),
      /authentication_failed/,
    );
  });

  test('cryptosign', async () => {
    // (load_private_key needs a browser's localStorage: build the NaCl key pair directly.)
    const pk = autobahn.nacl.sign.keyPair.fromSeed(Uint8Array.from(key.privateKey));
    const s = await join({
      authmethods: ['cryptosign'],
      authid: 'alice',
      authextra: { pubkey: autobahn.util.btoh(pk.publicKey) },
      onchallenge: (_s: Any, _m: string, extra: Any) => autobahn.auth_cryptosign.sign_challenge(pk, extra),
    });
    assert.deepEqual([s.authid, s.authrole, s.authmethod], ['alice', 'device', 'cryptosign']);
    const other = autobahn.nacl.sign.keyPair.fromSeed(Uint8Array.from(generateKeyPair().privateKey));
    await assert.rejects(
      join({
        authmethods: ['cryptosign'],
        authid: 'alice',
        authextra: { pubkey: autobahn.util.btoh(other.publicKey) },
        onchallenge: (_s: Any, _m: string, extra: Any) => autobahn.auth_cryptosign.sign_challenge(other, extra),
      }),
      /authentication_failed/,
    );
  });
});

/**
 * Options/Details values on receipt (src/wamp/messages.ts, VALUE_RULES): every
 * validation sample of the wamp-proto vectors (`wmsg` + `expected_error`), in
 * JSON, MessagePack and CBOR; the typed attributes the vectors leave out
 * (CALL/INVOCATION `timeout`, `progress`, CANCEL/INTERRUPT `mode`, REGISTER
 * `invoke`/`concurrency`, identification, `forward_for`, HELLO/WELCOME
 * details, revocation details); what a session and our router do with a bad
 * value (ABORT `wamp.error.protocol_violation`) and with a well-typed but
 * unknown `invoke` policy (ERROR `wamp.error.invalid_argument`, session
 * kept); and the multisession vector run against our router.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { WampProtocolError } from '../../../src/wamp/errors.js';
import { MessageType, parseMessage, toWire, type WampMessage } from '../../../src/wamp/messages.js';
import { serializers } from '../../../src/wamp/serializers/index.js';
import { Router } from '../../../src/router/server.js';
import { joined } from './session-fixture.js';

const VECTORS = process.env['WAMP_VECTORS_DIR'] ?? fileURLToPath(new URL('../../../../shared/wamp-vectors', import.meta.url));
const FORMATS = [serializers.json, serializers.msgpack, serializers.cbor];

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listJson(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** Asserts a protocol violation whose detail names `needle`. */
function assertViolation(fn: () => unknown, needle: string, label: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof WampProtocolError, `${label}: expected WampProtocolError, got ${String(err)}`);
      assert.equal(err.uri, 'wamp.error.protocol_violation', label);
      assert.ok(err.detail.includes(needle), `${label}: detail ${JSON.stringify(err.detail)} lacks ${JSON.stringify(needle)}`);
      return true;
    },
    label,
  );
}

/** Parses `wire` as decoded from each format's encoding of it. */
function parseEveryWay(wire: unknown[]): WampMessage[] {
  return FORMATS.map((s) => parseMessage(s.decode(s.encode(wire))));
}

// ---------------------------------------------------------------------------
// The vectors' validation samples

interface ValidationSample {
  description: string;
  wmsg?: unknown[];
  expected_error?: { type?: string; contains?: string };
}

const SINGLE = join(VECTORS, 'singlemessage');
const haveVectors = existsSync(SINGLE);

describe('validation samples of the wamp-proto vectors, in every serializer', { skip: haveVectors ? false : `no vectors at ${SINGLE}` }, () => {
  const samples: [string, ValidationSample][] = [];
  for (const file of haveVectors ? listJson(SINGLE) : []) {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { samples: ValidationSample[] };
    for (const s of v.samples) if (s.wmsg) samples.push([file.slice(file.indexOf('singlemessage')), s]);
  }

  /** In these samples a passthru payload (with `enc_algo`) is written as a hex string. */
  const wireOf = (s: ValidationSample): unknown[] => {
    const dict = s.wmsg!.find((x) => x !== null && typeof x === 'object' && !Array.isArray(x)) as Record<string, unknown>;
    return s.wmsg!.map((x, i) => (i >= 4 && typeof x === 'string' && 'enc_algo' in dict ? new Uint8Array(Buffer.from(x, 'hex')) : x));
  };

  test('every sample: the valid ones parse and round-trip, the invalid ones are protocol violations naming the attribute', () => {
    let valid = 0;
    let invalid = 0;
    for (const [file, s] of samples) {
      const wire = wireOf(s);
      const label = `${file}: ${s.description}`;
      if (s.expected_error === undefined) {
        for (const msg of parseEveryWay(wire)) assert.deepEqual(toWire(msg).map((x) => (x instanceof Uint8Array ? new Uint8Array(x) : x)), wire, label);
        valid++;
      } else {
        assert.equal(s.expected_error.type, 'protocol_violation', label);
        for (const ser of FORMATS) {
          const decoded = ser.decode(ser.encode(wire));
          assertViolation(() => parseMessage(decoded), s.expected_error.contains ?? '', `${label} (${ser.id})`);
        }
        invalid++;
      }
    }
    // The snapshot in /work/shared has 39 valid and 28 invalid samples; a newer one may have more.
    assert.ok(valid >= 39, `only ${valid} valid samples`);
    assert.ok(invalid >= 28, `only ${invalid} invalid samples`);
  });
});

// ---------------------------------------------------------------------------
// Typed attributes beyond the vectors

const FF = { session: 7, authid: 'r1', authrole: 'router' };

/** [label, wire message, null = valid | the attribute the violation must name] */
const CASES: [string, unknown[], string | null][] = [
  // CALL (advanced profile: Call Timeouts, Progressive Call Results/Invocations, Caller Identification)
  ['CALL timeout 0 (no timeout)', [48, 1, { timeout: 0 }, 'com.p'], null],
  ['CALL timeout 1500', [48, 1, { timeout: 1500 }, 'com.p'], null],
  ['CALL timeout -1', [48, 1, { timeout: -1 }, 'com.p'], 'CALL.Options.timeout'],
  ['CALL timeout 1.5', [48, 1, { timeout: 1.5 }, 'com.p'], 'CALL.Options.timeout'],
  ['CALL timeout "100"', [48, 1, { timeout: '100' }, 'com.p'], 'CALL.Options.timeout'],
  ['CALL receive_progress true', [48, 1, { receive_progress: true }, 'com.p'], null],
  ['CALL receive_progress 1', [48, 1, { receive_progress: 1 }, 'com.p'], 'receive_progress'],
  ['CALL progress "yes"', [48, 1, { progress: 'yes' }, 'com.p', []], 'CALL.Options.progress'],
  ['CALL disclose_me "true"', [48, 1, { disclose_me: 'true' }, 'com.p'], 'disclose_me'],
  ['CALL caller_authid 5', [48, 1, { caller_authid: 5 }, 'com.p'], 'caller_authid'],
  ['CALL forward_for', [48, 1, { forward_for: [FF] }, 'com.p'], null],
  ['CALL forward_for entry without authrole', [48, 1, { forward_for: [{ session: 7, authid: 'r1' }] }, 'com.p'], 'forward_for'],
  ['CALL forward_for entry with session 0', [48, 1, { forward_for: [{ ...FF, session: 0 }] }, 'com.p'], 'forward_for'],
  ['CALL ppt_scheme "mqtt" with payload', [48, 1, { ppt_scheme: 'mqtt' }, 'com.p', new Uint8Array([1])], null],
  ['CALL ppt_serializer 1', [48, 1, { ppt_scheme: 'mqtt', ppt_serializer: 1 }, 'com.p', new Uint8Array([1])], 'ppt_serializer'],
  // CANCEL / INTERRUPT (Call Canceling)
  ['CANCEL mode kill', [49, 1, { mode: 'kill' }], null],
  ['CANCEL mode skip', [49, 1, { mode: 'skip' }], null],
  ['CANCEL mode "later"', [49, 1, { mode: 'later' }], 'CANCEL.Options.mode'],
  ['CANCEL mode 1', [49, 1, { mode: 1 }], 'CANCEL.Options.mode'],
  ['INTERRUPT mode killnowait, reason', [69, 1, { mode: 'killnowait', reason: 'wamp.error.canceled' }], null],
  ['INTERRUPT mode skip', [69, 1, { mode: 'skip' }], 'INTERRUPT.Options.mode'],
  ['INTERRUPT reason "bad uri"', [69, 1, { mode: 'kill', reason: 'bad uri' }], 'INTERRUPT.Options.reason'],
  // RESULT / YIELD / INVOCATION
  ['RESULT progress true', [50, 1, { progress: true }, [1]], null],
  ['RESULT progress 1', [50, 1, { progress: 1 }, [1]], 'RESULT.Details.progress'],
  ['RESULT callee "x"', [50, 1, { callee: 'x' }], 'RESULT.Details.callee'],
  ['YIELD progress "no"', [70, 1, { progress: 'no' }], 'YIELD.Options.progress'],
  ['INVOCATION full details', [68, 1, 2, { caller: 3, caller_authid: 'a', caller_authrole: 'r', procedure: 'com.p.x', timeout: 10, receive_progress: true }], null],
  ['INVOCATION caller "x"', [68, 1, 2, { caller: 'x' }], 'INVOCATION.Details.caller'],
  ['INVOCATION procedure "a b"', [68, 1, 2, { procedure: 'a b' }], 'INVOCATION.Details.procedure'],
  ['INVOCATION timeout -5', [68, 1, 2, { timeout: -5 }], 'INVOCATION.Details.timeout'],
  // REGISTER (Shared Registration: an unknown policy is the dealer's to refuse)
  ['REGISTER invoke roundrobin', [64, 1, { invoke: 'roundrobin' }, 'com.p'], null],
  ['REGISTER invoke "sometimes" (well-typed: the dealer answers ERROR)', [64, 1, { invoke: 'sometimes' }, 'com.p'], null],
  ['REGISTER invoke 3', [64, 1, { invoke: 3 }, 'com.p'], 'REGISTER.Options.invoke'],
  ['REGISTER concurrency 0', [64, 1, { concurrency: 0 }, 'com.p'], 'concurrency'],
  ['REGISTER force_reregister "y"', [64, 1, { force_reregister: 'y' }, 'com.p'], 'force_reregister'],
  ['REGISTER match prefix, forward_timeout', [64, 1, { match: 'prefix', forward_timeout: true }, 'com.p.'], null],
  // Revocation details
  ['UNSUBSCRIBED revocation', [35, 0, { subscription: 5, reason: 'wamp.error.gone' }], null],
  ['UNSUBSCRIBED subscription "5"', [35, 0, { subscription: '5' }], 'UNSUBSCRIBED.Details.subscription'],
  ['UNREGISTERED reason 5', [67, 0, { registration: 5, reason: 5 }], 'UNREGISTERED.Details.reason'],
  // Session messages
  ['HELLO authmethods ["ticket"]', [1, 'realm1', { roles: { caller: {} }, authmethods: ['ticket'], authid: 'joe' }], null],
  ['HELLO authmethods "ticket"', [1, 'realm1', { roles: {}, authmethods: 'ticket' }], 'HELLO.Details.authmethods'],
  ['HELLO roles []', [1, 'realm1', { roles: [] }], 'HELLO.Details.roles'],
  ['WELCOME authid 5', [2, 1, { roles: { broker: {} }, authid: 5 }], 'WELCOME.Details.authid'],
  ['WELCOME authextra "x"', [2, 1, { roles: { broker: {} }, authextra: 'x' }], 'WELCOME.Details.authextra'],
  ['ABORT message 5', [3, { message: 5 }, 'wamp.error.no_such_realm'], 'ABORT.Details.message'],
  ['GOODBYE message "bye"', [6, { message: 'bye' }, 'wamp.close.normal'], null],
  ['ERROR callee_authrole []', [8, 48, 1, { callee_authrole: [] }, 'com.err'], 'ERROR.Details.callee_authrole'],
  // Liberal where it costs nothing
  ['null and undefined read as absent', [16, 1, { acknowledge: null, exclude: undefined, timeout: null }, 'com.t'], null],
  ['custom and unknown keys pass untouched', [16, 1, { x_anything: [1, { a: 2 }], rkey: 5, future_option: 'z' }, 'com.t'], null],
  ['Extra of CHALLENGE is method-specific: not checked', [4, 'ticket', { acknowledge: 'whatever' }], null],
  ['ArgumentsKw is application data: not checked', [48, 1, {}, 'com.p', [], { timeout: 'soon', progress: 'x' }], null],
];

describe('typed Options/Details attributes beyond the vectors', () => {
  for (const [label, wire, needle] of CASES) {
    test(label, () => {
      if (needle === null) {
        for (const msg of parseEveryWay(wire)) assert.equal(msg.type, wire[0]);
        // Unknown keys and typed values are passed through as they came.
        assert.deepEqual(toWire(parseMessage(wire)), wire);
      } else {
        for (const ser of FORMATS) assertViolation(() => parseMessage(ser.decode(ser.encode(wire))), needle, `${label} (${ser.id})`);
      }
    });
  }

  test('unknown keys keep their values; the dict is the one received', () => {
    const options = { x_anything: [1, { a: 2 }], future_option: 'z', acknowledge: true };
    const msg = parseMessage([16, 1, options, 'com.t']);
    assert.ok(msg.type === MessageType.PUBLISH);
    assert.equal(msg.options, options);
  });
});

// ---------------------------------------------------------------------------
// What the session and the router do about it

describe('a bad value ends the session with ABORT wamp.error.protocol_violation', () => {
  test('client: an EVENT with Details.publisher "hello"', async () => {
    const { session, router } = await joined();
    const events: unknown[] = [];
    const sub = session.subscribe('com.t', (a) => events.push(a));
    const req = await router.expect(MessageType.SUBSCRIBE);
    router.send({ type: MessageType.SUBSCRIBED, request: req.request, subscription: 5 });
    await sub;
    router.sendWire([36, 5, 77, { publisher: 'hello' }, ['x']]);
    const abort = await router.expect(MessageType.ABORT);
    assert.equal(abort.reason, 'wamp.error.protocol_violation');
    assert.match(String(abort.details.message), /EVENT\.Details\.publisher/);
    const info = await session.closed;
    assert.equal(info.reason, 'wamp.error.protocol_violation');
    assert.deepEqual(events, []);
  });

  test('client: a RESULT with Details.progress "yes" fails the call and the session', async () => {
    const { session, router } = await joined();
    const call = session.call('com.p');
    const req = await router.expect(MessageType.CALL);
    router.sendWire([50, req.request, { progress: 'yes' }, [1]]);
    assert.equal((await router.expect(MessageType.ABORT)).reason, 'wamp.error.protocol_violation');
    await assert.rejects(call);
    assert.equal((await session.closed).reason, 'wamp.error.protocol_violation');
  });
});

describe('our router, with a foreign raw client (ws) speaking JSON', () => {
  const require = createRequire(import.meta.url);
  const WS = require('ws') as new (url: string, protocols: string[]) => {
    on(ev: 'message', fn: (data: Buffer) => void): void;
    on(ev: 'open' | 'close', fn: () => void): void;
    send(data: string): void;
    close(): void;
    terminate(): void;
  };

  /** A raw WAMP client: sends arrays, reads arrays; every wait bounded. */
  async function rawClient(port: number): Promise<{ send(m: unknown[]): void; next(ms?: number): Promise<unknown[] | 'closed'>; close(): void }> {
    const ws = new WS(`ws://127.0.0.1:${port}/ws`, ['wamp.2.json']);
    const inbox: (unknown[] | 'closed')[] = [];
    const waiters: (() => void)[] = [];
    const push = (m: unknown[] | 'closed'): void => {
      inbox.push(m);
      waiters.splice(0).forEach((w) => w());
    };
    ws.on('message', (d) => push(JSON.parse(d.toString()) as unknown[]));
    ws.on('close', () => push('closed'));
    await new Promise<void>((resolve, reject) => {
      ws.on('open', resolve);
      setTimeout(() => reject(new Error('no connection')), 3000).unref();
    });
    return {
      send: (m) => ws.send(JSON.stringify(m)),
      next: async (ms = 3000) => {
        const deadline = Date.now() + ms;
        while (inbox.length === 0) {
          if (Date.now() > deadline) throw new Error('no message within the time limit');
          await new Promise<void>((r) => {
            waiters.push(r);
            setTimeout(r, 50).unref();
          });
        }
        return inbox.shift()!;
      },
      close: () => ws.terminate(),
    };
  }

  test('PUBLISH exclude ["hello"] → ABORT protocol_violation; REGISTER invoke "sometimes" → ERROR invalid_argument, session kept', async () => {
    const router = new Router({ realms: [{ name: 'realm1' }] });
    const { port } = await router.listen({ port: 0, static: false });
    try {
      const a = await rawClient(port);
      a.send([1, 'realm1', { roles: { publisher: {}, callee: {} } }]);
      assert.equal((await a.next() as unknown[])[0], MessageType.WELCOME);
      a.send([64, 1, { invoke: 'sometimes' }, 'com.p']);
      const err = (await a.next()) as unknown[];
      assert.deepEqual([err[0], err[1], err[2], err[4]], [MessageType.ERROR, MessageType.REGISTER, 1, 'wamp.error.invalid_argument']);
      a.send([64, 2, { invoke: 'roundrobin' }, 'com.p']);
      assert.equal((await a.next() as unknown[])[0], MessageType.REGISTERED);
      a.send([16, 3, { exclude: ['hello'], acknowledge: true }, 'com.t', []]);
      const abort = (await a.next()) as unknown[];
      assert.deepEqual([abort[0], abort[2]], [MessageType.ABORT, 'wamp.error.protocol_violation']);
      assert.match(JSON.stringify(abort), /PUBLISH\.Options\.exclude/);
      assert.equal(await a.next(), 'closed');
      a.close();
    } finally {
      await router.close();
    }
  });

  const MULTI = join(VECTORS, 'multisession');
  test('multisession vectors: each sequence replayed against our router', { skip: existsSync(MULTI) ? false : `no vectors at ${MULTI}` }, async () => {
    interface Step {
      from: string;
      to: string;
      message: Record<string, unknown> & { type: string };
    }
    interface Multi {
      sessions: { session_id: string; realm: string }[];
      sequence: Step[];
      expected_outcome: { event_count?: number };
    }
    const files = listJson(MULTI);
    assert.ok(files.length >= 1);
    for (const file of files) {
      const v = JSON.parse(readFileSync(file, 'utf8')) as Multi;
      const router = new Router({ realms: [...new Set(v.sessions.map((s) => s.realm))].map((name) => ({ name })) });
      const { port } = await router.listen({ port: 0, static: false });
      const clients = new Map<string, Awaited<ReturnType<typeof rawClient>>>();
      // Router-assigned IDs in the vector (456, 999) stand for whatever our router picks.
      const bound = new Map<number, number>();
      const bind = (vectorId: unknown, actual: unknown): void => {
        const known = bound.get(vectorId as number);
        if (known === undefined) bound.set(vectorId as number, actual as number);
        else assert.equal(actual, known, `${file}: ID ${String(vectorId)}`);
      };
      let events = 0;
      try {
        for (const s of v.sessions) {
          const c = await rawClient(port);
          c.send([1, s.realm, { roles: { publisher: {}, subscriber: {}, caller: {}, callee: {} } }]);
          assert.equal((await c.next() as unknown[])[0], MessageType.WELCOME);
          clients.set(s.session_id, c);
        }
        for (const step of v.sequence) {
          const m = step.message;
          const code = MessageType[m.type as keyof typeof MessageType];
          if (step.to === 'router') {
            const msg = { type: code, request: m.request_id, options: m.options, topic: m.topic, procedure: m.procedure, args: m.args, kwargs: m.kwargs } as unknown as WampMessage;
            clients.get(step.from)!.send(toWire(msg));
            continue;
          }
          const got = parseMessage(await clients.get(step.to)!.next());
          assert.equal(got.type, code, `${file} step: ${JSON.stringify(step)}`);
          const g = got as unknown as Record<string, unknown>;
          if ('request_id' in m) assert.equal(g.request, m.request_id);
          if ('subscription_id' in m) bind(m.subscription_id, g.subscription);
          if ('registration_id' in m) bind(m.registration_id, g.registration);
          if ('publication_id' in m) bind(m.publication_id, g.publication);
          if ('args' in m) assert.deepEqual(g.args, m.args);
          if ('kwargs' in m) assert.deepEqual(g.kwargs, m.kwargs);
          if (got.type === MessageType.EVENT) events++;
        }
        if (v.expected_outcome.event_count !== undefined) assert.equal(events, v.expected_outcome.event_count, file);
      } finally {
        for (const c of clients.values()) c.close();
        await router.close();
      }
    }
  });
});

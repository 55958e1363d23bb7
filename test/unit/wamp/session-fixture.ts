/**
 * A scripted router for the session's unit tests: the session talks to a real
 * MessageTransport (JSON on the wire both ways, so what the session sends must
 * serialize and what the "router" sends goes through the decoder and
 * validator), and the test reads each message the session sent and answers by
 * hand. Deterministic: delivery is synchronous, nothing waits on timers.
 */
import assert from 'node:assert/strict';
import { MessageTransport, type WampTransportInfo } from '../../../src/wamp/transport.js';
import { MessageType, parseMessage, toWire, MESSAGE_TYPE_NAMES, type WampMessage } from '../../../src/wamp/messages.js';
import { serializers } from '../../../src/wamp/serializers/index.js';
import { Session, defaultRoles, type JoinOptions } from '../../../src/wamp/session.js';

const json = serializers.json;

/** The client side of the pipe, driven by a {@link ScriptedRouter}. */
export class PeerTransport extends MessageTransport {
  readonly info: WampTransportInfo = { type: 'local', serializer: 'json', protocol: 'wamp.2.json' };
  buffered = 0;
  closedWith: { code: number; reason: string } | null = null;

  constructor(private readonly router: ScriptedRouter) {
    super(json, null, { acceptNullPayload: true });
  }

  get bufferedAmount(): number {
    return this.buffered;
  }

  protected sendRaw(data: string | Uint8Array): void {
    this.router.receive(parseMessage(json.decode(data)));
  }

  protected closeRaw(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.closed({ code, reason, wasClean: true });
  }

  /** Delivers raw bytes/text as if the router sent them. */
  inject(data: string | Uint8Array): void {
    this.receiveRaw(data);
  }

  /** The connection drops. */
  drop(): void {
    this.closed({ code: 1006, reason: '', wasClean: false });
  }

  /** Fires the transport's drain event. */
  drain(): void {
    this.drained();
  }
}

type Of<T extends number> = Extract<WampMessage, { type: T }>;

/** The router side: a queue of what the session sent, and helpers to answer. */
export class ScriptedRouter {
  readonly transport: PeerTransport;
  readonly inbox: WampMessage[] = [];
  private waiter: ((m: WampMessage) => void) | null = null;

  constructor() {
    this.transport = new PeerTransport(this);
  }

  /** @internal called by the transport */
  receive(msg: WampMessage): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(msg);
    } else {
      this.inbox.push(msg);
    }
  }

  /** The next message the session sent (waits up to `ms`). */
  next(ms = 2000): Promise<WampMessage> {
    const m = this.inbox.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no message from the session within ${ms} ms`));
      }, ms);
      this.waiter = (msg) => {
        clearTimeout(t);
        resolve(msg);
      };
    });
  }

  /** The next message, which must be of `type`. */
  async expect<T extends WampMessage['type']>(type: T, ms?: number): Promise<Of<T>> {
    const m = await this.next(ms);
    assert.equal(
      MESSAGE_TYPE_NAMES[m.type],
      MESSAGE_TYPE_NAMES[type],
      `expected ${MESSAGE_TYPE_NAMES[type]}, got ${JSON.stringify(toWire(m))}`,
    );
    return m as Of<T>;
  }

  /** Asserts that the session sent nothing (after letting microtasks run). */
  async expectNothing(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(this.inbox.map(toWire), [], 'the session sent something unexpected');
  }

  /** Sends a message to the session (serialized, decoded and validated on the way). */
  send(msg: WampMessage): void {
    this.transport.inject(json.encode(toWire(msg)));
  }

  /** Sends a raw wire array (JSON), valid or not. */
  sendWire(wire: unknown[]): void {
    this.transport.inject(JSON.stringify(wire));
  }

  /** WELCOME with a broker and dealer announcing every feature the session uses. */
  welcome(session = 4242, details: Record<string, unknown> = {}): void {
    this.send({ type: MessageType.WELCOME, session, details: { roles: allRouterFeatures(), ...details } });
  }
}

/** Router roles with every advanced feature the client uses. */
export function allRouterFeatures(): Record<string, unknown> {
  const shared = { payload_passthru_mode: true };
  return {
    broker: {
      features: {
        publisher_identification: true,
        subscriber_blackwhite_listing: true,
        publisher_exclusion: true,
        pattern_based_subscription: true,
        subscription_revocation: true,
        session_meta_api: true,
        subscription_meta_api: true,
        ...shared,
      },
    },
    dealer: {
      features: {
        progressive_call_results: true,
        progressive_call_invocations: true,
        call_canceling: true,
        caller_identification: true,
        pattern_based_registration: true,
        shared_registration: true,
        registration_revocation: true,
        session_meta_api: true,
        registration_meta_api: true,
        testament_meta_api: true,
        ...shared,
      },
    },
  };
}

/** A joined session and its router. */
export async function joined(
  options: JoinOptions = {},
  welcomeDetails: Record<string, unknown> = {},
): Promise<{ session: Session; router: ScriptedRouter }> {
  const router = new ScriptedRouter();
  const joining = Session.join(router.transport, 'realm1', { onUserError: () => {}, ...options });
  await router.expect(MessageType.HELLO);
  router.welcome(4242, welcomeDetails);
  const session = await joining;
  return { session, router };
}

export { defaultRoles };

/**
 * A tiny scripted WAMP client for router tests: sends raw WAMP messages over
 * an in-process transport and awaits replies, each wait bounded in time.
 */
import { createLocalTransportPair, type WampTransport, type WampTransportCloseInfo } from '../../../src/wamp/transport.js';
import { MessageType, type WampMessage } from '../../../src/wamp/messages.js';
import type { Serializer } from '../../../src/wamp/serializers/types.js';
import type { WampDict, WampList } from '../../../src/wamp/uri.js';
import type { AttachOptions, Router } from '../../../src/router/router.js';
import type { ChallengeResponse, ClientAuthenticator } from '../../../src/wamp/auth/types.js';

/** Every client feature the router knows, for all four roles. */
export const ALL_ROLES: WampDict = {
  caller: {
    features: {
      caller_identification: true,
      progressive_call_results: true,
      progressive_call_invocations: true,
      call_canceling: true,
      call_timeout: true,
      payload_passthru_mode: true,
    },
  },
  callee: {
    features: {
      caller_identification: true,
      progressive_call_results: true,
      progressive_call_invocations: true,
      call_canceling: true,
      pattern_based_registration: true,
      shared_registration: true,
      registration_revocation: true,
      payload_passthru_mode: true,
    },
  },
  publisher: {
    features: { publisher_identification: true, publisher_exclusion: true, subscriber_blackwhite_listing: true },
  },
  subscriber: {
    features: { publisher_identification: true, pattern_based_subscription: true, subscription_revocation: true },
  },
};

type Pred = (m: WampMessage) => boolean;
type ChallengeAnswer = (method: string, extra: WampDict) => ChallengeResponse | Promise<ChallengeResponse>;

export interface ConnectOptions {
  realm?: string;
  details?: WampDict;
  attach?: AttachOptions;
  serializer?: Serializer;
  /** Answers a CHALLENGE. */
  onChallenge?: ChallengeAnswer;
  /** A client authenticator (sets authmethods/authid/authextra, answers CHALLENGE, checks WELCOME). */
  auth?: ClientAuthenticator;
}

export class TestClient {
  readonly inbox: WampMessage[] = [];
  private handlers: ((m: WampMessage) => boolean)[] = [];
  private waiters: { pred: Pred; resolve: (m: WampMessage) => void }[] = [];
  private nextId = 0;
  session = 0;
  /** Reply to the router's GOODBYE automatically. */
  autoGoodbye = true;
  welcome: WampDict = {};
  closeInfo: WampTransportCloseInfo | null = null;
  readonly closed: Promise<WampTransportCloseInfo>;
  private resolveClosed!: (i: WampTransportCloseInfo) => void;
  readonly protocolErrors: Error[] = [];

  constructor(readonly transport: WampTransport) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    transport.open({
      onMessage: (m) => {
        // Answer a router's GOODBYE as real clients do (basic profile "Session Closing").
        if (m.type === MessageType.GOODBYE && m.reason !== 'wamp.close.goodbye_and_out' && this.autoGoodbye) {
          this.send({ type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
        }
        for (const h of this.handlers) if (h(m)) return;
        const i = this.waiters.findIndex((w) => w.pred(m));
        if (i >= 0) {
          const [w] = this.waiters.splice(i, 1);
          w!.resolve(m);
        } else this.inbox.push(m);
      },
      onProtocolError: (e) => this.protocolErrors.push(e),
      onClose: (info) => {
        this.closeInfo = info;
        this.resolveClosed(info);
      },
    });
  }

  /** Attaches a fresh transport to the router (no HELLO yet). */
  static raw(router: Router, attach?: AttachOptions, serializer?: Serializer): TestClient {
    const [client, server] = createLocalTransportPair(serializer ? { serializer } : {});
    router.attach(server, attach);
    return new TestClient(client);
  }

  /** Attaches and joins; rejects unless WELCOME comes. */
  static async connect(router: Router, o: ConnectOptions = {}): Promise<TestClient> {
    const c = TestClient.raw(router, o.attach, o.serializer);
    const reply = o.auth ? await c.helloWith(o.realm ?? 'realm1', o.auth, o.details) : await c.hello(o.realm ?? 'realm1', o.details ?? {}, o.onChallenge);
    if (reply.type !== MessageType.WELCOME) throw new Error(`no WELCOME: ${JSON.stringify(reply)}`);
    return c;
  }

  /** Sends HELLO, answers challenges, returns WELCOME or ABORT. */
  /** HELLO with a client authenticator; WELCOME is checked by it (throws when the router fails verification). */
  async helloWith(realm: string, auth: ClientAuthenticator, details: WampDict = {}): Promise<WampMessage> {
    const d: WampDict = { authmethods: [auth.method], ...details };
    if (auth.authid !== undefined) d.authid = auth.authid;
    if (auth.authextra) d.authextra = auth.authextra;
    const m = await this.hello(realm, d, (_method, extra) => auth.onChallenge(extra, {}));
    if (m.type === MessageType.WELCOME) auth.onWelcome?.(m.details);
    return m;
  }

  async hello(realm: string, details: WampDict = {}, onChallenge?: ChallengeAnswer): Promise<WampMessage> {
    this.send({ type: MessageType.HELLO, realm, details: { roles: ALL_ROLES, ...details } });
    for (;;) {
      const m = await this.next((x) => x.type === MessageType.WELCOME || x.type === MessageType.ABORT || x.type === MessageType.CHALLENGE);
      if (m.type === MessageType.CHALLENGE) {
        if (!onChallenge) throw new Error('unexpected CHALLENGE');
        const r = await onChallenge(m.authMethod, m.extra);
        const signature = typeof r === 'string' ? r : r.signature;
        const extra = typeof r === 'string' ? {} : (r.extra ?? {});
        this.send({ type: MessageType.AUTHENTICATE, signature, extra });
        continue;
      }
      if (m.type === MessageType.WELCOME) {
        this.session = m.session;
        this.welcome = m.details;
      }
      return m;
    }
  }

  send(msg: WampMessage): void {
    this.transport.send(msg);
  }

  /** A fresh request ID. */
  id(): number {
    return ++this.nextId;
  }

  /** The next message matching `pred` (from the inbox first); rejects after `ms`. */
  next(pred: Pred = () => true, ms = 2000): Promise<WampMessage> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: WampMessage) => {
          clearTimeout(t);
          resolve(m);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for a message; inbox: ${JSON.stringify(this.inbox.map((m) => m.type))}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** The next message of a type (optionally for a request ID). */
  nextOf<T extends WampMessage['type']>(type: T, request?: number, ms = 2000): Promise<Extract<WampMessage, { type: T }>> {
    return this.next(
      (m) => m.type === type && (request === undefined || (m as { request?: number }).request === request),
      ms,
    ) as Promise<Extract<WampMessage, { type: T }>>;
  }

  /** Resolves true if no message matching `pred` arrives within `ms`. */
  async none(pred: Pred = () => true, ms = 50): Promise<boolean> {
    try {
      await this.next(pred, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** SUBSCRIBE; resolves with SUBSCRIBED or ERROR. */
  async subscribe(topic: string, options: WampDict = {}): Promise<WampMessage> {
    const request = this.id();
    this.send({ type: MessageType.SUBSCRIBE, request, options, topic });
    return this.next((m) => (m.type === MessageType.SUBSCRIBED || m.type === MessageType.ERROR) && (m as { request: number }).request === request);
  }

  /** SUBSCRIBE that must succeed; resolves with the subscription ID. */
  async sub(topic: string, options: WampDict = {}): Promise<number> {
    const m = await this.subscribe(topic, options);
    if (m.type !== MessageType.SUBSCRIBED) throw new Error(`subscribe failed: ${JSON.stringify(m)}`);
    return m.subscription;
  }

  /** REGISTER; resolves with REGISTERED or ERROR. */
  async register(procedure: string, options: WampDict = {}): Promise<WampMessage> {
    const request = this.id();
    this.send({ type: MessageType.REGISTER, request, options, procedure });
    return this.next((m) => (m.type === MessageType.REGISTERED || m.type === MessageType.ERROR) && (m as { request: number }).request === request);
  }

  /** REGISTER that must succeed; resolves with the registration ID. */
  async reg(procedure: string, options: WampDict = {}): Promise<number> {
    const m = await this.register(procedure, options);
    if (m.type !== MessageType.REGISTERED) throw new Error(`register failed: ${JSON.stringify(m)}`);
    return m.registration;
  }

  /** Sends CALL; returns the request ID. */
  sendCall(procedure: string, args?: WampList, kwargs?: WampDict, options: WampDict = {}): number {
    const request = this.id();
    this.send({ type: MessageType.CALL, request, options, procedure, ...(args ? { args } : {}), ...(kwargs ? { kwargs } : {}) });
    return request;
  }

  /** CALL; resolves with the final RESULT or ERROR. */
  async call(procedure: string, args?: WampList, kwargs?: WampDict, options: WampDict = {}, ms = 2000): Promise<WampMessage> {
    const request = this.sendCall(procedure, args, kwargs, options);
    return this.reply(request, ms);
  }

  /** The final RESULT or ERROR for a CALL request. */
  reply(request: number, ms = 2000): Promise<WampMessage> {
    return this.next(
      (m) =>
        ((m.type === MessageType.RESULT && m.details.progress !== true) ||
          (m.type === MessageType.ERROR && m.requestType === MessageType.CALL)) &&
        (m as { request: number }).request === request,
      ms,
    );
  }

  /** CALL that must succeed; resolves with RESULT.args. */
  async result(procedure: string, args?: WampList, kwargs?: WampDict, options: WampDict = {}): Promise<WampList | undefined> {
    const m = await this.call(procedure, args, kwargs, options);
    if (m.type !== MessageType.RESULT) throw new Error(`call failed: ${JSON.stringify(m)}`);
    return m.args;
  }

  /** PUBLISH (acknowledged when options say so). */
  publish(topic: string, args?: WampList, kwargs?: WampDict, options: WampDict = {}): number {
    const request = this.id();
    this.send({ type: MessageType.PUBLISH, request, options, topic, ...(args ? { args } : {}), ...(kwargs ? { kwargs } : {}) });
    return request;
  }

  /** Acts as a callee: answers every INVOCATION for `registration` with `fn`'s result (until the returned stop is called). */
  serve(registration: number, fn: (args: WampList, details: WampDict) => WampList): () => void {
    const h = (m: WampMessage): boolean => {
      if (m.type !== MessageType.INVOCATION || m.registration !== registration) return false;
      this.send({ type: MessageType.YIELD, request: m.request, options: {}, args: fn(m.args ?? [], m.details) });
      return true;
    };
    this.handlers.push(h);
    return () => {
      this.handlers = this.handlers.filter((x) => x !== h);
    };
  }

  /** GOODBYE and wait for the reply. */
  async goodbye(): Promise<WampMessage> {
    this.send({ type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.close_realm' });
    return this.nextOf(MessageType.GOODBYE);
  }

  /** Closes the transport. */
  close(): void {
    this.transport.close();
  }
}

/**
 * A server-side transport driven by the test: inject messages and protocol
 * errors, see what the router sends, and set `bufferedAmount` by hand (a slow
 * consumer).
 */
export class FakeTransport implements WampTransport {
  readonly info = { type: 'local' as const, serializer: 'json', protocol: 'wamp.2.json', peer: 'fake' };
  bufferedAmount = 0;
  /** Bytes added to bufferedAmount per message sent (simulated socket that never drains). */
  growth = 0;
  readonly sent: WampMessage[] = [];
  handler: Parameters<WampTransport['open']>[0] | null = null;
  private ended = false;
  closeCode: number | null = null;
  private waiters: ((m: WampMessage) => void)[] = [];

  get isOpen(): boolean {
    return !this.ended;
  }
  open(handler: Parameters<WampTransport['open']>[0]): void {
    this.handler = handler;
  }
  send(msg: WampMessage): void {
    if (this.ended) return;
    this.sent.push(msg);
    this.bufferedAmount += this.growth;
    if (msg.type === MessageType.GOODBYE && msg.reason !== 'wamp.close.goodbye_and_out') {
      queueMicrotask(() => this.inject({ type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' }));
    }
    const w = this.waiters.shift();
    if (w) w(msg);
  }
  close(code = 1000): void {
    if (this.ended) return;
    this.closeCode = code;
    queueMicrotask(() => {
      this.ended = true;
      this.handler?.onClose({ code, reason: '', wasClean: true });
    });
  }
  /** Delivers a message from the "client". */
  inject(msg: WampMessage): void {
    this.handler?.onMessage(msg);
  }
  /** Resolves with the next message the router sends. */
  nextSent(ms = 2000): Promise<WampMessage> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message from the router')), ms);
      this.waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }
}

/**
 * The WAMP router core: realms, authentication, authorization, broker, dealer
 * and meta API, driven by {@link WampTransport}s. Runtime-neutral: it never
 * touches a socket; a listener (WebSocket, RawSocket) or
 * `createLocalTransportPair` hands it transports with {@link Router.attach}.
 *
 * @module
 */
import type { WampTransport } from '../wamp/transport.js';
import type { WampDict } from '../wamp/uri.js';
import { isValidUri } from '../wamp/uri.js';
import { buildAuthMethods, type AuthConfig, type ServerAuthMethod } from './auth.js';
import { IdSequence } from './ids.js';
import { Deadlines, tickFor } from '../core/deadlines.js';
import { DEFAULT_LIMITS, type RealmConfig, type SessionLimits } from './options.js';
import { Realm } from './realm.js';
import { Connection, type RouterContext } from './session.js';

/** Options of {@link Router}. */
export interface RouterOptions {
  /** The realms. Default none (then set `autoCreateRealms`). */
  realms?: RealmConfig[];
  /**
   * Create a realm when a client asks for one that does not exist: `true` (an
   * open realm) or the config (without `name`) new realms get. Default false:
   * unknown realms are refused with `wamp.error.no_such_realm`.
   */
  autoCreateRealms?: boolean | Omit<RealmConfig, 'name'>;
  /** Authentication for every transport (unless {@link AttachOptions.auth} says otherwise). Default anonymous. */
  auth?: AuthConfig;
  /** Per-session limits; unset ones take {@link DEFAULT_LIMITS}. */
  limits?: Partial<SessionLimits>;
  /** Unexpected internal errors (never sent to peers). Default: ignored. */
  onError?: (err: unknown) => void;
}

/** Options of {@link Router.attach}. */
export interface AttachOptions {
  /** Authentication for this transport (e.g. per listener), instead of the router's. */
  auth?: AuthConfig;
  /**
   * An in-process, trusted peer: it joins without authentication as authrole
   * `'trusted'` (or the HELLO's `authrole`), which is allowed everything. Use for
   * embedded components such as dynamic authenticators; never for network peers.
   */
  trusted?: boolean;
}

/**
 * WELCOME.Details.roles: exactly the advanced features this router implements.
 * @internal
 */
export const ROUTER_ROLES: WampDict = Object.freeze({
  broker: {
    features: {
      publisher_identification: true,
      publisher_exclusion: true,
      subscriber_blackwhite_listing: true,
      pattern_based_subscription: true,
      event_retention: true,
      subscription_revocation: true,
      session_meta_api: true,
      subscription_meta_api: true,
      payload_passthru_mode: true,
    },
  },
  dealer: {
    features: {
      caller_identification: true,
      progressive_call_results: true,
      progressive_call_invocations: true,
      call_canceling: true,
      call_timeout: true,
      pattern_based_registration: true,
      shared_registration: true,
      registration_revocation: true,
      session_meta_api: true,
      registration_meta_api: true,
      testament_meta_api: true,
      payload_passthru_mode: true,
    },
  },
});

/**
 * A WAMP router.
 *
 * @example
 * ```ts
 * const router = new Router({ realms: [{ name: 'realm1' }] });
 * const [client, server] = createLocalTransportPair();
 * router.attach(server);
 * const welcome = await new Promise((resolve) => {
 *   client.open({ onMessage: resolve, onProtocolError: () => {}, onClose: () => {} });
 *   client.send({ type: 1, realm: 'realm1', details: { roles: { caller: {} } } });
 * });
 * console.assert((welcome as { type: number }).type === 2);
 * await router.close();
 * ```
 */
export class Router {
  private readonly realms = new Map<string, Realm>();
  private readonly connections = new Set<Connection>();
  private readonly limits: SessionLimits;
  private readonly ids = new IdSequence();
  private readonly defaultMethods: Map<string, ServerAuthMethod>;
  private readonly ctx: RouterContext;
  private closing: Promise<void> | null = null;
  private readonly deadlines: Deadlines<Connection>;

  constructor(private readonly options: RouterOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.deadlines = new Deadlines<Connection>(tickFor(this.limits.helloTimeout, this.limits.authTimeout, this.limits.goodbyeTimeout), (conn) =>
      conn.expire(),
    );
    this.defaultMethods = buildAuthMethods(options.auth);
    for (const r of options.realms ?? []) this.addRealm(r);
    const onError = options.onError ?? (() => {});
    this.ctx = {
      limits: this.limits,
      welcomeRoles: ROUTER_ROLES,
      realm: (name, create) => this.realmFor(name, create),
      onError,
      // (the connection has already cleared its own deadline)
      closed: (conn) => this.connections.delete(conn),
      deadlines: this.deadlines,
    };
  }

  /**
   * Adds a realm at run time.
   * @throws TypeError when the name is not a valid URI or the realm exists
   */
  addRealm(config: RealmConfig): void {
    if (!isValidUri(config.name)) throw new TypeError(`realm name '${config.name}' is not a valid URI`);
    if (this.realms.has(config.name)) throw new TypeError(`realm '${config.name}' exists`);
    this.realms.set(config.name, new Realm(config, this.limits, this.ids, (e) => this.options.onError?.(e)));
  }

  /** Names of the realms. */
  get realmNames(): string[] {
    return [...this.realms.keys()];
  }

  /** Number of joined sessions across realms. */
  get sessionCount(): number {
    let n = 0;
    for (const r of this.realms.values()) n += r.sessionCount;
    return n;
  }

  /**
   * Serves one accepted transport: the client may now send HELLO. After
   * {@link close} the transport is closed at once.
   */
  attach(transport: WampTransport, options: AttachOptions = {}): void {
    const methods = options.auth ? buildAuthMethods(options.auth) : this.defaultMethods;
    const conn = new Connection(this.ctx, transport, methods, options.trusted === true);
    if (this.closing) {
      transport.close(1001, 'router shutting down');
      return;
    }
    this.connections.add(conn);
    conn.start();
  }

  /**
   * Sends GOODBYE (`wamp.close.system_shutdown`) to every session, closes every
   * transport (after the GOODBYE reply, or `limits.goodbyeTimeout`), and
   * resolves when all have closed. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.connections].map((c) => c.shutdown());
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A transport that never reports its close must not hang shutdown.
      const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.limits.goodbyeTimeout + 2000)));
      await Promise.race([Promise.all(all), cap]);
      clearTimeout(timer);
      this.deadlines.clear();
      for (const r of this.realms.values()) r.dealer.clearAllTimers();
    })();
    return this.closing;
  }

  private realmFor(name: string, create: boolean): Realm | undefined {
    let realm = this.realms.get(name);
    const auto = this.options.autoCreateRealms;
    if (!realm && create && auto && !this.closing) {
      this.addRealm({ ...(auto === true ? {} : auto), name });
      realm = this.realms.get(name);
    }
    return realm;
  }
}

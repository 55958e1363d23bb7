/**
 * Per-realm routing state behind one small interface, {@link RealmStore}:
 * who is in the realm, which subscriptions and registrations exist (and who is
 * on them), and retained events. The broker, dealer and meta API read and
 * change routing state only through it, by session ID (never by object), so a
 * later step can put a distributed store behind the same interface.
 *
 * All calls are synchronous and run on the router's one logical thread; a
 * store must apply each change atomically before returning.
 *
 * @module
 */
import type { WampDict, WampList } from '../wamp/uri.js';
import { IdSequence } from './ids.js';
import { PatternMap, type MatchPolicy } from './matching.js';

/** What the realm knows about a joined session (the meta API's session details). */
export interface SessionInfo {
  /** Session ID (global scope). */
  readonly session: number;
  readonly authid: string;
  readonly authrole: string;
  readonly authmethod: string;
  readonly authprovider: string;
  /** Extra data from authentication (WELCOME.Details.authextra). */
  readonly authextra?: WampDict;
  /**
   * Transport facts: the transport's own info object, read field by field
   * (`peer` may be a getter, computed when first read); the meta API copies
   * type, serializer, protocol, peer and secure out of it.
   */
  readonly transport: SessionTransport;
}

/** The transport facts of a session the meta API reports. */
export interface SessionTransport {
  readonly type: string;
  readonly serializer: string;
  readonly protocol: string;
  /** Remote address, e.g. `'tcp4:127.0.0.1:51234'`. */
  readonly peer?: string | undefined;
  /** Whether the channel is encrypted. */
  readonly secure?: boolean | undefined;
}

/** Invocation policy of a shared registration (advanced profile "Shared Registration"). */
export type InvokePolicy = 'single' | 'roundrobin' | 'random' | 'first' | 'last';

/** One callee on a registration, with its REGISTER options that matter when routing. */
export interface CalleeEntry {
  readonly session: number;
  /** REGISTER.Options.disclose_caller. */
  readonly discloseCaller: boolean;
  /** REGISTER.Options.forward_timeout. */
  readonly forwardTimeout: boolean;
}

/** A registration: one procedure URI + match policy, with one or more callees (shared). */
export interface RegistrationRecord {
  readonly id: number;
  readonly uri: string;
  readonly match: MatchPolicy;
  readonly invoke: InvokePolicy;
  /** ISO 8601 creation time. */
  readonly created: string;
  /** Callees in order of registration. */
  readonly callees: readonly CalleeEntry[];
}

/** A subscription: one topic URI + match policy, with its subscribers. */
export interface SubscriptionRecord {
  readonly id: number;
  readonly uri: string;
  readonly match: MatchPolicy;
  /** ISO 8601 creation time. */
  readonly created: string;
  /** Subscriber session IDs in order of subscription. */
  readonly subscribers: ReadonlySet<number>;
}

/** The event a publisher asked the broker to retain (advanced profile "Event Retention"). */
export interface RetainedEvent {
  readonly topic: string;
  readonly publication: number;
  /** EVENT.Details parts that do not depend on the subscription (publisher identification, ppt_*). */
  readonly details: WampDict;
  readonly args?: WampList;
  readonly kwargs?: WampDict;
  readonly payload?: Uint8Array;
  /** Who may receive it: the publication's black/white lists, kept to honour them on delivery. */
  readonly audience: WampDict;
  /** Publisher session ID (excluded unless the publication said `exclude_me: false`). */
  readonly publisher: number;
  readonly excludeMe: boolean;
}

/** Result of adding a session to a subscription or registration. */
export interface Added<R> {
  readonly record: R;
  /** Whether the subscription/registration was created by this call. */
  readonly created: boolean;
}

/**
 * The routing state of one realm. Records returned are snapshots or live
 * read-only views; callers never mutate them.
 */
export interface RealmStore {
  /** Adds a joined session. */
  addSession(info: SessionInfo): void;
  /** Removes a session (its subscriptions and registrations are removed separately, first). */
  removeSession(session: number): void;
  /** A joined session, or undefined. */
  getSession(session: number): SessionInfo | undefined;
  /** All joined sessions. */
  sessions(): Iterable<SessionInfo>;
  /** Number of joined sessions. */
  sessionCount(): number;

  /** Adds `session` to the subscription for (uri, match), creating it if needed. */
  subscribe(uri: string, match: MatchPolicy, session: number): Added<SubscriptionRecord>;
  /** Removes `session` from a subscription; `undefined` when it was not on it; `deleted` when the subscription is now gone. */
  unsubscribe(subscription: number, session: number): { record: SubscriptionRecord; deleted: boolean } | undefined;
  /** A subscription by ID. */
  getSubscription(subscription: number): SubscriptionRecord | undefined;
  /** The subscription for exactly (uri, match). */
  lookupSubscription(uri: string, match: MatchPolicy): SubscriptionRecord | undefined;
  /** Every subscription matching a concrete topic. */
  matchSubscriptions(topic: string): Iterable<SubscriptionRecord>;
  /** All subscriptions, optionally of one match policy. */
  subscriptions(match?: MatchPolicy): Iterable<SubscriptionRecord>;

  /**
   * Adds a callee to the registration for (uri, match), creating it with `invoke`.
   * Returns an error URI instead when the spec forbids it (`single`, or a different
   * invoke policy than the registration's, or the same session twice).
   */
  register(uri: string, match: MatchPolicy, invoke: InvokePolicy, callee: CalleeEntry): Added<RegistrationRecord> | string;
  /** Removes a callee from a registration; like {@link unsubscribe}. */
  unregister(registration: number, session: number): { record: RegistrationRecord; deleted: boolean } | undefined;
  /** A registration by ID. */
  getRegistration(registration: number): RegistrationRecord | undefined;
  /** The registration for exactly (uri, match). */
  lookupRegistration(uri: string, match: MatchPolicy): RegistrationRecord | undefined;
  /** The registration a call to `procedure` goes to (exact > longest prefix > most specific wildcard). */
  matchRegistration(procedure: string): RegistrationRecord | undefined;
  /** All registrations, optionally of one match policy. */
  registrations(match?: MatchPolicy): Iterable<RegistrationRecord>;
  /**
   * Picks the callees of a registration to try, in order, for one call by its
   * invoke policy (advancing round-robin state).
   */
  pickCallees(registration: number): number[];

  /** Stores the retained event of a topic (replacing the previous one). */
  retain(event: RetainedEvent): void;
  /** Retained events of topics matching (uri, match). */
  retained(uri: string, match: MatchPolicy): Iterable<RetainedEvent>;
}

interface MutableSubscription extends SubscriptionRecord {
  readonly subscribers: Set<number>;
}

interface MutableRegistration extends RegistrationRecord {
  callees: CalleeEntry[];
  /** Round-robin position. */
  next: number;
}

/** The in-memory {@link RealmStore} (one process). */
export class MemoryRealmStore implements RealmStore {
  private readonly sessionMap = new Map<number, SessionInfo>();
  private readonly subs = new PatternMap<MutableSubscription>();
  private readonly subsById = new Map<number, MutableSubscription>();
  private readonly regs = new PatternMap<MutableRegistration>();
  private readonly regsById = new Map<number, MutableRegistration>();
  private readonly retainedByTopic = new Map<string, RetainedEvent>();

  /**
   * @param ids - router-scope ID sequence shared by subscriptions and registrations
   * @param maxRetained - most topics with a retained event; the oldest is dropped beyond
   */
  constructor(
    private readonly ids: IdSequence = new IdSequence(),
    private readonly maxRetained = 10_000,
  ) {}

  addSession(info: SessionInfo): void {
    this.sessionMap.set(info.session, info);
  }
  removeSession(session: number): void {
    this.sessionMap.delete(session);
  }
  getSession(session: number): SessionInfo | undefined {
    return this.sessionMap.get(session);
  }
  sessions(): Iterable<SessionInfo> {
    return this.sessionMap.values();
  }
  sessionCount(): number {
    return this.sessionMap.size;
  }

  subscribe(uri: string, match: MatchPolicy, session: number): Added<SubscriptionRecord> {
    let record = this.subs.get(uri, match);
    let created = false;
    if (!record) {
      record = { id: this.ids.next(), uri, match, created: new Date().toISOString(), subscribers: new Set() };
      this.subs.set(uri, match, record);
      this.subsById.set(record.id, record);
      created = true;
    }
    record.subscribers.add(session);
    return { record, created };
  }

  unsubscribe(subscription: number, session: number): { record: SubscriptionRecord; deleted: boolean } | undefined {
    const record = this.subsById.get(subscription);
    if (!record || !record.subscribers.delete(session)) return undefined;
    const deleted = record.subscribers.size === 0;
    if (deleted) {
      this.subs.delete(record.uri, record.match);
      this.subsById.delete(record.id);
    }
    return { record, deleted };
  }

  getSubscription(subscription: number): SubscriptionRecord | undefined {
    return this.subsById.get(subscription);
  }
  lookupSubscription(uri: string, match: MatchPolicy): SubscriptionRecord | undefined {
    return this.subs.get(uri, match);
  }
  matchSubscriptions(topic: string): Iterable<SubscriptionRecord> {
    return this.subs.matchAll(topic);
  }
  subscriptions(match?: MatchPolicy): Iterable<SubscriptionRecord> {
    return this.subs.values(match);
  }

  register(
    uri: string,
    match: MatchPolicy,
    invoke: InvokePolicy,
    callee: CalleeEntry,
  ): Added<RegistrationRecord> | string {
    const existing = this.regs.get(uri, match);
    if (existing) {
      // Advanced profile "Shared Registration": 'single' fails every further
      // registration; other policies fail when the policy differs.
      if (existing.invoke === 'single' || existing.invoke !== invoke) return 'wamp.error.procedure_already_exists';
      if (existing.callees.some((c) => c.session === callee.session)) return 'wamp.error.procedure_already_exists';
      existing.callees.push(callee);
      return { record: existing, created: false };
    }
    const record: MutableRegistration = {
      id: this.ids.next(),
      uri,
      match,
      invoke,
      created: new Date().toISOString(),
      callees: [callee],
      next: 0,
    };
    this.regs.set(uri, match, record);
    this.regsById.set(record.id, record);
    return { record, created: true };
  }

  unregister(registration: number, session: number): { record: RegistrationRecord; deleted: boolean } | undefined {
    const record = this.regsById.get(registration);
    if (!record) return undefined;
    const i = record.callees.findIndex((c) => c.session === session);
    if (i < 0) return undefined;
    record.callees.splice(i, 1);
    if (record.next > i) record.next--;
    const deleted = record.callees.length === 0;
    if (deleted) {
      this.regs.delete(record.uri, record.match);
      this.regsById.delete(record.id);
    }
    return { record, deleted };
  }

  getRegistration(registration: number): RegistrationRecord | undefined {
    return this.regsById.get(registration);
  }
  lookupRegistration(uri: string, match: MatchPolicy): RegistrationRecord | undefined {
    return this.regs.get(uri, match);
  }
  matchRegistration(procedure: string): RegistrationRecord | undefined {
    return this.regs.best(procedure);
  }
  registrations(match?: MatchPolicy): Iterable<RegistrationRecord> {
    return this.regs.values(match);
  }

  pickCallees(registration: number): number[] {
    const r = this.regsById.get(registration);
    if (!r || r.callees.length === 0) return [];
    const all = r.callees.map((c) => c.session);
    const n = all.length;
    switch (r.invoke) {
      case 'single':
      case 'first':
        return all;
      case 'last':
        return all.reverse();
      case 'roundrobin': {
        const start = r.next % n;
        r.next = (start + 1) % n;
        return [...all.slice(start), ...all.slice(0, start)];
      }
      case 'random': {
        const start = Math.floor(Math.random() * n);
        return [...all.slice(start), ...all.slice(0, start)];
      }
    }
  }

  retain(event: RetainedEvent): void {
    this.retainedByTopic.delete(event.topic);
    this.retainedByTopic.set(event.topic, event);
    if (this.retainedByTopic.size > this.maxRetained) {
      const oldest = this.retainedByTopic.keys().next().value as string;
      this.retainedByTopic.delete(oldest);
    }
  }

  *retained(uri: string, match: MatchPolicy): Iterable<RetainedEvent> {
    if (match === 'exact') {
      const e = this.retainedByTopic.get(uri);
      if (e) yield e;
      return;
    }
    const one = new PatternMap<true>();
    one.set(uri, match, true);
    for (const e of this.retainedByTopic.values()) if (one.best(e.topic)) yield e;
  }
}


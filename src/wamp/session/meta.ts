/**
 * Typed wrappers for the router's meta procedures: the Session Meta API
 * (`wamp.session.*`), the Registration and Subscription Meta APIs
 * (`wamp.registration.*`, `wamp.subscription.*`) and the testament procedures
 * (advanced profile, "Session Meta API", "Registration Meta API",
 * "Subscriptions Meta API", "Session Testament").
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import { isDict, isWampId, type WampDict, type WampList } from '../uri.js';
import type { CallResult, PublishOptions } from './types.js';

/** IDs by match policy (`wamp.registration.list`, `wamp.subscription.list`). */
export interface MatchLists {
  exact: number[];
  prefix: number[];
  wildcard: number[];
}

/** `wamp.session.get` result. */
export interface SessionInfo {
  session: number;
  authid?: string;
  authrole?: string;
  authmethod?: string;
  authprovider?: string;
  transport?: WampDict;
  [key: string]: unknown;
}

/** `wamp.registration.get` result. */
export interface RegistrationInfo {
  id: number;
  created?: string;
  uri: string;
  match?: string;
  invoke?: string;
  [key: string]: unknown;
}

/** `wamp.subscription.get` result. */
export interface SubscriptionInfo {
  id: number;
  created?: string;
  uri: string;
  match?: string;
  [key: string]: unknown;
}

/** When a testament is published: when the session is detached, or destroyed (default). */
export type TestamentScope = 'detached' | 'destroyed';

/** Options of {@link MetaApi.addTestament}. */
export interface TestamentOptions {
  /** PUBLISH.Options of the testament's event. */
  publishOptions?: PublishOptions;
  /** Default `'destroyed'`. */
  scope?: TestamentScope;
}

type Caller = (procedure: string, args?: WampList, kwargs?: WampDict) => Promise<CallResult>;

function bad(procedure: string, what: string): WampSessionError {
  return new WampSessionError('WAMP_ERR_INVALID_RESULT', 'wamp.error.invalid_argument', `${procedure} returned ${what}`);
}

function first(procedure: string, r: CallResult): unknown {
  if (r.args.length === 0) throw bad(procedure, 'no result');
  return r.args[0];
}

function count(procedure: string, r: CallResult): number {
  const v = first(procedure, r);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(procedure, 'a count that is not a number');
  return v;
}

function ids(procedure: string, v: unknown): number[] {
  if (!Array.isArray(v) || !v.every(isWampId)) throw bad(procedure, 'something other than a list of IDs');
  return v;
}

/**
 * A list result: `[ids]` as the spec has it, or the IDs spread over the
 * positional results (as fox-wamp sends `wamp.session.list`).
 */
function idList(procedure: string, r: CallResult): number[] {
  if (r.args.length > 0 && !Array.isArray(r.args[0]) && r.args.every(isWampId)) return r.args as number[];
  return ids(procedure, first(procedure, r));
}

function nullableId(procedure: string, r: CallResult): number | null {
  const v = r.args.length === 0 ? null : r.args[0];
  if (v === null) return null;
  if (!isWampId(v)) throw bad(procedure, 'something other than an ID or null');
  return v;
}

function dict(procedure: string, r: CallResult): WampDict {
  const v = first(procedure, r);
  if (!isDict(v)) throw bad(procedure, 'something other than a dict');
  return v;
}

function matchLists(procedure: string, r: CallResult): MatchLists {
  const d = dict(procedure, r);
  const list = (k: string): number[] => (d[k] === undefined ? [] : ids(procedure, d[k]));
  return { exact: list('exact'), prefix: list('prefix'), wildcard: list('wildcard') };
}

/**
 * The router's meta procedures as typed methods (`session.meta`). Each is a
 * plain call: it rejects with an {@link ApplicationError} when the router
 * refuses (e.g. `wamp.error.no_such_procedure` when it has no meta API, or
 * `wamp.error.not_authorized`), and with `WAMP_ERR_INVALID_RESULT` when the
 * result has the wrong shape.
 */
export class MetaApi {
  /** @internal */
  constructor(private readonly call: Caller) {}

  /** `wamp.session.count`: sessions attached to the realm (optionally only with these authroles). */
  async sessionCount(filterAuthroles?: string[]): Promise<number> {
    const p = 'wamp.session.count';
    return count(p, await this.call(p, filterAuthroles ? [filterAuthroles] : []));
  }

  /** `wamp.session.list`: IDs of the sessions attached to the realm. */
  async sessionList(filterAuthroles?: string[]): Promise<number[]> {
    const p = 'wamp.session.list';
    return idList(p, await this.call(p, filterAuthroles ? [filterAuthroles] : []));
  }

  /** `wamp.session.get`: details of one session. */
  async sessionGet(session: number): Promise<SessionInfo> {
    const p = 'wamp.session.get';
    const d = dict(p, await this.call(p, [session]));
    if (!isWampId(d.session)) throw bad(p, 'details without a session ID');
    return d as SessionInfo;
  }

  /** `wamp.registration.list`: registration IDs by match policy. */
  async registrationList(): Promise<MatchLists> {
    const p = 'wamp.registration.list';
    return matchLists(p, await this.call(p));
  }

  /** `wamp.registration.lookup`: the registration for `procedure` under a match policy, or null. */
  async registrationLookup(procedure: string, options?: { match?: 'exact' | 'prefix' | 'wildcard' }): Promise<number | null> {
    const p = 'wamp.registration.lookup';
    return nullableId(p, await this.call(p, options ? [procedure, options] : [procedure]));
  }

  /** `wamp.registration.match`: the registration that would serve a call to `procedure`, or null. */
  async registrationMatch(procedure: string): Promise<number | null> {
    const p = 'wamp.registration.match';
    return nullableId(p, await this.call(p, [procedure]));
  }

  /** `wamp.registration.get`: details of a registration. */
  async registrationGet(registration: number): Promise<RegistrationInfo> {
    const p = 'wamp.registration.get';
    const d = dict(p, await this.call(p, [registration]));
    if (!isWampId(d.id) || typeof d.uri !== 'string') throw bad(p, 'details without id and uri');
    return d as RegistrationInfo;
  }

  /** `wamp.registration.list_callees`: sessions attached to a registration. */
  async registrationListCallees(registration: number): Promise<number[]> {
    const p = 'wamp.registration.list_callees';
    return idList(p, await this.call(p, [registration]));
  }

  /** `wamp.registration.count_callees`: how many sessions are attached to a registration. */
  async registrationCountCallees(registration: number): Promise<number> {
    const p = 'wamp.registration.count_callees';
    return count(p, await this.call(p, [registration]));
  }

  /** `wamp.subscription.list`: subscription IDs by match policy. */
  async subscriptionList(): Promise<MatchLists> {
    const p = 'wamp.subscription.list';
    return matchLists(p, await this.call(p));
  }

  /** `wamp.subscription.lookup`: the subscription for `topic` under a match policy, or null. */
  async subscriptionLookup(topic: string, options?: { match?: 'exact' | 'prefix' | 'wildcard' }): Promise<number | null> {
    const p = 'wamp.subscription.lookup';
    return nullableId(p, await this.call(p, options ? [topic, options] : [topic]));
  }

  /** `wamp.subscription.match`: every subscription matching `topic`, or null. */
  async subscriptionMatch(topic: string): Promise<number[] | null> {
    const p = 'wamp.subscription.match';
    const r = await this.call(p, [topic]);
    const v = r.args.length === 0 ? null : r.args[0];
    return v === null ? null : ids(p, v);
  }

  /** `wamp.subscription.get`: details of a subscription. */
  async subscriptionGet(subscription: number): Promise<SubscriptionInfo> {
    const p = 'wamp.subscription.get';
    const d = dict(p, await this.call(p, [subscription]));
    if (!isWampId(d.id) || typeof d.uri !== 'string') throw bad(p, 'details without id and uri');
    return d as SubscriptionInfo;
  }

  /** `wamp.subscription.list_subscribers`: sessions attached to a subscription. */
  async subscriptionListSubscribers(subscription: number): Promise<number[]> {
    const p = 'wamp.subscription.list_subscribers';
    return idList(p, await this.call(p, [subscription]));
  }

  /** `wamp.subscription.count_subscribers`: how many sessions are attached to a subscription. */
  async subscriptionCountSubscribers(subscription: number): Promise<number> {
    const p = 'wamp.subscription.count_subscribers';
    return count(p, await this.call(p, [subscription]));
  }

  /**
   * `wamp.session.add_testament`: the router publishes this event when our
   * session is detached or destroyed (advanced profile, "Session Testament").
   */
  async addTestament(topic: string, args: WampList = [], kwargs: WampDict = {}, options: TestamentOptions = {}): Promise<void> {
    const kw: WampDict = {};
    if (options.publishOptions) {
      const { payload: _payload, ...publishOptions } = options.publishOptions;
      void _payload;
      kw.publish_options = publishOptions;
    }
    if (options.scope) kw.scope = options.scope;
    await this.call('wamp.session.add_testament', [topic, args, kwargs], kw);
  }

  /** `wamp.session.flush_testaments`: removes our testaments of a scope (default `'destroyed'`). */
  async flushTestaments(scope?: TestamentScope): Promise<void> {
    await this.call('wamp.session.flush_testaments', [], scope ? { scope } : {});
  }
}

/**
 * The meta API procedures (advanced profile "Session Meta API",
 * "Registration Meta API", "Subscription Meta API", "Session Testament"),
 * answered by the router for the caller's realm only. Meta events are
 * published by the broker and dealer where the change happens.
 *
 * Besides the spec's procedures: `wamp.registration.remove_callee(registration,
 * session, {reason})` and `wamp.subscription.remove_subscriber(subscription,
 * session, {reason})` revoke one session's registration/subscription (as
 * Crossbar's do), telling it with UNREGISTERED/UNSUBSCRIBED `[.., 0, Details]`
 * when it announced revocation support.
 *
 * @module
 */
import { MessageType, type CallMessage } from '../wamp/messages.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { isDict, isList, isValidUri, toWampId } from '../wamp/uri.js';
import { subscriptionDetails } from './broker.js';
import { registrationDetails } from './dealer.js';
import { matchPolicyOf, type MatchPolicy } from './matching.js';
import type { Peer, Testament } from './peer.js';
import type { Realm } from './realm.js';
import type { SessionInfo, SessionTransport } from './state.js';
import { WampUri } from './uris.js';

/** A meta procedure's answer: a result, or an error URI with a message. */
type MetaAnswer = { args: WampList; kwargs?: WampDict } | { error: string; message: string };

type MetaProcedure = (caller: Peer, args: WampList, kwargs: WampDict) => MetaAnswer | Promise<MetaAnswer>;

const ok = (...args: WampList): MetaAnswer => ({ args });
const fail = (error: string, message: string): MetaAnswer => ({ error, message });

/** The meta API of one realm. */
export class MetaApi {
  private readonly procedures: ReadonlyMap<string, MetaProcedure>;

  constructor(private readonly realm: Realm) {
    this.procedures = new Map<string, MetaProcedure>([
      ['wamp.session.count', (_c, a) => ok(this.filterSessions(a[0]).length)],
      ['wamp.session.list', (_c, a) => ok(this.filterSessions(a[0]).map((s) => s.session))],
      ['wamp.session.get', (_c, a) => this.sessionGet(a)],
      ['wamp.session.kill', (c, a, k) => this.kill(c, a, k)],
      ['wamp.session.kill_by_authid', (c, a, k) => this.killBy(c, 'authid', a, k)],
      ['wamp.session.kill_by_authrole', (c, a, k) => this.killBy(c, 'authrole', a, k)],
      ['wamp.session.kill_all', (c, _a, k) => this.killBy(c, 'all', [], k)],
      ['wamp.session.add_testament', (c, a, k) => this.addTestament(c, a, k)],
      ['wamp.session.flush_testaments', (c, _a, k) => this.flushTestaments(c, k)],
      ['wamp.registration.list', () => ok(this.listBy((m) => this.realm.store.registrations(m)))],
      ['wamp.registration.lookup', (_c, a) => this.lookup(a, (u, m) => this.realm.store.lookupRegistration(u, m))],
      ['wamp.registration.match', (_c, a) => this.uriArg(a, (u) => ok(this.realm.store.matchRegistration(u)?.id ?? null))],
      ['wamp.registration.get', (_c, a) => this.withReg(a, (r) => ok(registrationDetails(r)))],
      ['wamp.registration.list_callees', (_c, a) => this.withReg(a, (r) => ok(r.callees.map((c) => c.session)))],
      ['wamp.registration.count_callees', (_c, a) => this.withReg(a, (r) => ok(r.callees.length))],
      ['wamp.registration.remove_callee', (_c, a, k) => this.removeCallee(a, k)],
      ['wamp.subscription.list', () => ok(this.listBy((m) => this.realm.store.subscriptions(m)))],
      ['wamp.subscription.lookup', (_c, a) => this.lookup(a, (u, m) => this.realm.store.lookupSubscription(u, m))],
      ['wamp.subscription.match', (_c, a) => this.uriArg(a, (u) => {
        const ids = [...this.realm.store.matchSubscriptions(u)].map((s) => s.id);
        return ok(ids.length ? ids : null);
      })],
      ['wamp.subscription.get', (_c, a) => this.withSub(a, (s) => ok(subscriptionDetails(s)))],
      ['wamp.subscription.list_subscribers', (_c, a) => this.withSub(a, (s) => ok([...s.subscribers]))],
      ['wamp.subscription.count_subscribers', (_c, a) => this.withSub(a, (s) => ok(s.subscribers.size))],
      ['wamp.subscription.remove_subscriber', (_c, a, k) => this.removeSubscriber(a, k)],
    ]);
  }

  /** The procedures this realm answers itself. */
  get names(): string[] {
    return [...this.procedures.keys()];
  }

  /** Session details as `wamp.session.get` and `wamp.session.on_join` give them. */
  sessionDetails(s: SessionInfo): WampDict {
    const d: WampDict = {
      session: s.session,
      authid: s.authid,
      authrole: s.authrole,
      authmethod: s.authmethod,
      authprovider: s.authprovider,
      transport: transportDetails(s.transport),
    };
    if (s.authextra) d.authextra = s.authextra;
    return d;
  }

  /** Answers a CALL to a `wamp.*` procedure (already authorized). */
  call(caller: Peer, msg: CallMessage): void | Promise<void> {
    const proc = this.procedures.get(msg.procedure);
    const reply = (a: MetaAnswer): void => {
      if (!caller.alive) return;
      if ('error' in a) {
        this.realm.sendError(caller, MessageType.CALL, msg.request, a.error, [a.message]);
        return;
      }
      caller.send({ type: MessageType.RESULT, request: msg.request, details: {}, args: a.args, ...(a.kwargs ? { kwargs: a.kwargs } : {}) });
    };
    if (!proc) {
      reply(fail(WampUri.NO_SUCH_PROCEDURE, `no meta procedure '${msg.procedure}'`));
      return;
    }
    if (msg.options.progress === true || msg.payload !== undefined) {
      reply(fail(WampUri.FEATURE_NOT_SUPPORTED, 'meta procedures take neither progressive invocations nor passthru payloads'));
      return;
    }
    let answer: MetaAnswer | Promise<MetaAnswer>;
    try {
      answer = proc(caller, msg.args ?? [], msg.kwargs ?? {});
    } catch (err) {
      this.realm.onError(err);
      answer = fail(WampUri.INVALID_ARGUMENT, 'the meta procedure failed');
    }
    if (answer instanceof Promise) {
      return answer.then(reply, (err: unknown) => {
        this.realm.onError(err);
        reply(fail(WampUri.INVALID_ARGUMENT, 'the meta procedure failed'));
      });
    }
    reply(answer);
  }

  private filterSessions(filter: unknown): SessionInfo[] {
    const all = [...this.realm.store.sessions()];
    if (!isList(filter)) return all;
    const roles = new Set(filter);
    return all.filter((s) => roles.has(s.authrole));
  }

  private sessionGet(a: WampList): MetaAnswer {
    const id = toWampId(a[0]);
    const s = id === undefined ? undefined : this.realm.store.getSession(id);
    if (!s) return fail(WampUri.NO_SUCH_SESSION, 'no session with this ID in the realm');
    const d = this.sessionDetails(s);
    const peer = this.realm.peers.get(s.session);
    if (peer) d.x_dropped_events = peer.droppedEvents;
    return ok(d);
  }

  /** GOODBYE reason and message from the kwargs of the kill procedures. */
  private killArgs(k: WampDict): { reason: string; message?: string } | MetaAnswer {
    const reason = k.reason ?? WampUri.CLOSE_KILLED;
    if (typeof reason !== 'string' || reason === '' || !isValidUri(reason)) {
      return fail(WampUri.INVALID_URI, 'reason must be a valid URI');
    }
    const out: { reason: string; message?: string } = { reason };
    if (typeof k.message === 'string') out.message = k.message;
    return out;
  }

  private kill(caller: Peer, a: WampList, k: WampDict): MetaAnswer {
    const id = toWampId(a[0]);
    const ka = this.killArgs(k);
    if ('args' in ka || 'error' in ka) return ka;
    // "Specifying the caller's own session will result in a wamp.error.no_such_session."
    const target = id === undefined || id === caller.id ? undefined : this.realm.peers.get(id);
    if (!target) return fail(WampUri.NO_SUCH_SESSION, 'no other session with this ID in the realm');
    target.link.kill(ka.reason, ka.message);
    return ok();
  }

  private killBy(caller: Peer, by: 'authid' | 'authrole' | 'all', a: WampList, k: WampDict): MetaAnswer {
    const ka = this.killArgs(k);
    if ('args' in ka || 'error' in ka) return ka;
    const value = a[0];
    if (by !== 'all' && typeof value !== 'string') return fail(WampUri.INVALID_ARGUMENT, `${by} must be a string`);
    const victims = [...this.realm.peers.values()].filter(
      (p) => p !== caller && (by === 'all' || p.info[by] === value),
    );
    for (const p of victims) p.link.kill(ka.reason, ka.message);
    return by === 'authid' ? ok(victims.map((p) => p.id)) : ok(victims.length);
  }

  private addTestament(caller: Peer, a: WampList, k: WampDict): MetaAnswer | Promise<MetaAnswer> {
    const [topic, args = [], kwargs = {}] = a;
    const scope = k.scope ?? 'destroyed';
    const options = k.publish_options ?? {};
    if (typeof topic !== 'string' || !isValidUri(topic)) return fail(WampUri.INVALID_URI, 'topic must be a valid URI');
    if (!isList(args) || !isDict(kwargs) || !isDict(options)) {
      return fail(WampUri.INVALID_ARGUMENT, 'expected (topic, args|list, kwargs|dict) and publish_options|dict');
    }
    if (scope !== 'destroyed' && scope !== 'detached') return fail(WampUri.INVALID_ARGUMENT, 'scope must be detached or destroyed');
    if (caller.testaments.detached.length + caller.testaments.destroyed.length >= this.realm.limits.maxTestaments) {
      return fail(WampUri.LIMIT_EXCEEDED, 'max_testaments');
    }
    const add = (): MetaAnswer => {
      // Acknowledgement makes no sense for a testament; retain/disclose/black-white lists are kept.
      const { acknowledge: _ack, ...kept } = options;
      void _ack;
      if (kept.disclose_me === true && this.realm.disclosePublisher === 'deny') delete kept.disclose_me;
      const t: Testament = { topic, args, kwargs, options: kept };
      caller.testaments[scope].push(t);
      return ok();
    };
    const d = this.realm.authorizer.authorize(caller.info, topic, 'publish', options);
    const decide = (allow: boolean): MetaAnswer =>
      allow ? add() : fail(WampUri.NOT_AUTHORIZED, `session is not authorized to publish to '${topic}'`);
    return d instanceof Promise ? d.then((x) => decide(x.allow)) : decide(d.allow);
  }

  private flushTestaments(caller: Peer, k: WampDict): MetaAnswer {
    const scope = k.scope ?? 'destroyed';
    if (scope !== 'destroyed' && scope !== 'detached') return fail(WampUri.INVALID_ARGUMENT, 'scope must be detached or destroyed');
    const n = caller.testaments[scope].length;
    caller.testaments[scope] = [];
    return ok(n);
  }

  private listBy(list: (m: MatchPolicy) => Iterable<{ id: number }>): WampDict {
    const ids = (m: MatchPolicy): number[] => [...list(m)].map((r) => r.id);
    return { exact: ids('exact'), prefix: ids('prefix'), wildcard: ids('wildcard') };
  }

  private uriArg(a: WampList, then: (uri: string) => MetaAnswer): MetaAnswer {
    const uri = a[0];
    if (typeof uri !== 'string') return fail(WampUri.INVALID_ARGUMENT, 'expected a URI');
    return then(uri);
  }

  private lookup(a: WampList, find: (uri: string, m: MatchPolicy) => { id: number } | undefined): MetaAnswer {
    const opts = isDict(a[1]) ? a[1] : {};
    return this.uriArg(a, (uri) => ok(find(uri, matchPolicyOf(opts.match))?.id ?? null));
  }

  private withReg(a: WampList, then: (r: NonNullable<ReturnType<Realm['store']['getRegistration']>>) => MetaAnswer): MetaAnswer {
    const id = toWampId(a[0]);
    const r = id === undefined ? undefined : this.realm.store.getRegistration(id);
    return r ? then(r) : fail(WampUri.NO_SUCH_REGISTRATION, 'no registration with this ID in the realm');
  }

  private withSub(a: WampList, then: (s: NonNullable<ReturnType<Realm['store']['getSubscription']>>) => MetaAnswer): MetaAnswer {
    const id = toWampId(a[0]);
    const s = id === undefined ? undefined : this.realm.store.getSubscription(id);
    return s ? then(s) : fail(WampUri.NO_SUCH_SUBSCRIPTION, 'no subscription with this ID in the realm');
  }

  private removeCallee(a: WampList, k: WampDict): MetaAnswer {
    return this.withReg(a, (r) => {
      const sid = toWampId(a[1]);
      const peer = sid === undefined ? undefined : this.realm.peers.get(sid);
      if (!peer || !r.callees.some((c) => c.session === sid)) return fail(WampUri.NO_SUCH_SESSION, 'that session is not a callee of this registration');
      this.realm.dealer.removeCallee(peer, r.id, true, typeof k.reason === 'string' ? k.reason : undefined);
      return ok();
    });
  }

  private removeSubscriber(a: WampList, k: WampDict): MetaAnswer {
    return this.withSub(a, (s) => {
      const sid = toWampId(a[1]);
      const peer = sid === undefined ? undefined : this.realm.peers.get(sid);
      if (!peer || !s.subscribers.has(peer.id)) return fail(WampUri.NO_SUCH_SESSION, 'that session is not a subscriber of this subscription');
      this.realm.broker.removeSubscriber(peer, s.id, true, typeof k.reason === 'string' ? k.reason : undefined);
      return ok();
    });
  }
}

/** The `transport` entry of session details: a plain copy, made when asked for. */
function transportDetails(t: SessionTransport): WampDict {
  const d: WampDict = { type: t.type, serializer: t.serializer, protocol: t.protocol };
  const peer = t.peer;
  if (peer !== undefined) d.peer = peer;
  if (t.secure !== undefined) d.secure = t.secure;
  return d;
}

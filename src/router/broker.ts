/**
 * The broker: subscribe, unsubscribe and publish, with the advanced profile's
 * pattern-based subscriptions, publisher identification and exclusion,
 * subscriber black/white listing, acknowledged publish, event retention,
 * subscription revocation and the subscription meta events.
 *
 * @module
 */
import {
  MessageType,
  type EventMessage,
  type PublishMessage,
  type SubscribeMessage,
  type UnsubscribeMessage,
  type WampPayload,
} from '../wamp/messages.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { isList } from '../wamp/uri.js';
import { randomId } from './ids.js';
import { matchPolicyOf } from './matching.js';
import type { Peer } from './peer.js';
import { copyPpt, isReserved, payloadOf, type Realm } from './realm.js';
import type { RetainedEvent, SessionInfo, SubscriptionRecord } from './state.js';
import { WampUri } from './uris.js';

/** PUBLISH.Options that restrict receivers (advanced profile "Subscriber Black- and Whitelisting"). */
const AUDIENCE_KEYS = ['eligible', 'eligible_authid', 'eligible_authrole', 'exclude', 'exclude_authid', 'exclude_authrole'] as const;

/** Parsed black/white lists; `null` where absent. */
interface Audience {
  eligible: Set<unknown> | null;
  eligible_authid: Set<unknown> | null;
  eligible_authrole: Set<unknown> | null;
  exclude: Set<unknown> | null;
  exclude_authid: Set<unknown> | null;
  exclude_authrole: Set<unknown> | null;
}

/** Reads the lists from PUBLISH.Options; `null` when one is malformed. */
function readAudience(options: WampDict): { audience: Audience; raw: WampDict } | null {
  const audience: Audience = {
    eligible: null,
    eligible_authid: null,
    eligible_authrole: null,
    exclude: null,
    exclude_authid: null,
    exclude_authrole: null,
  };
  const raw: WampDict = {};
  for (const k of AUDIENCE_KEYS) {
    const v = options[k];
    if (v === undefined) continue;
    const isIds = k === 'eligible' || k === 'exclude';
    if (!isList(v) || !v.every((x) => (isIds ? typeof x === 'number' : typeof x === 'string'))) return null;
    audience[k] = new Set(v);
    raw[k] = v;
  }
  return { audience, raw };
}

function audienceFromRaw(raw: WampDict): Audience {
  const get = (k: (typeof AUDIENCE_KEYS)[number]): Set<unknown> | null => (isList(raw[k]) ? new Set(raw[k]) : null);
  return {
    eligible: get('eligible'),
    eligible_authid: get('eligible_authid'),
    eligible_authrole: get('eligible_authrole'),
    exclude: get('exclude'),
    exclude_authid: get('exclude_authid'),
    exclude_authrole: get('exclude_authrole'),
  };
}

/** The six rules of the spec: all must hold. */
function isEligible(s: SessionInfo, a: Audience): boolean {
  return (
    (a.eligible === null || a.eligible.has(s.session)) &&
    (a.eligible_authid === null || a.eligible_authid.has(s.authid)) &&
    (a.eligible_authrole === null || a.eligible_authrole.has(s.authrole)) &&
    (a.exclude === null || !a.exclude.has(s.session)) &&
    (a.exclude_authid === null || !a.exclude_authid.has(s.authid)) &&
    (a.exclude_authrole === null || !a.exclude_authrole.has(s.authrole))
  );
}

const NO_AUDIENCE: Audience = audienceFromRaw({});

/** The broker of one realm. */
export class Broker {
  constructor(private readonly realm: Realm) {}

  /** SUBSCRIBE: `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]` → SUBSCRIBED or ERROR. */
  subscribe(peer: Peer, msg: SubscribeMessage): void | Promise<void> {
    const match = matchPolicyOf(msg.options.match);
    return this.realm.authorized(peer, msg.topic, 'subscribe', msg.options, MessageType.SUBSCRIBE, msg.request, () => {
      const store = this.realm.store;
      const existing = store.lookupSubscription(msg.topic, match);
      const already = existing !== undefined && existing.subscribers.has(peer.id);
      if (!already && peer.subscriptions.size >= this.realm.limits.maxSubscriptions) {
        this.realm.sendError(peer, MessageType.SUBSCRIBE, msg.request, WampUri.LIMIT_EXCEEDED, ['max_subscriptions']);
        return;
      }
      const { record, created } = store.subscribe(msg.topic, match, peer.id);
      peer.subscriptions.add(record.id);
      peer.send({ type: MessageType.SUBSCRIBED, request: msg.request, subscription: record.id });
      if (created) this.publishMeta('wamp.subscription.on_create', [peer.id, subscriptionDetails(record)]);
      if (!already) this.publishMeta('wamp.subscription.on_subscribe', [peer.id, record.id]);
      // Advanced profile "Event Retention": on get_retained, the most recent
      // retained event the subscriber would have received, marked retained.
      if (msg.options.get_retained === true) {
        for (const ev of store.retained(msg.topic, match)) {
          if (ev.publisher === peer.id && ev.excludeMe) continue;
          if (!isEligible(peer.info, audienceFromRaw(ev.audience))) continue;
          const details: WampDict = { ...ev.details, retained: true };
          if (match !== 'exact') details.topic = ev.topic;
          peer.sendEvent(eventMessage(record.id, ev.publication, details, ev));
        }
      }
    });
  }

  /** UNSUBSCRIBE: `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]` → UNSUBSCRIBED or ERROR. */
  unsubscribe(peer: Peer, msg: UnsubscribeMessage): void {
    if (!peer.subscriptions.has(msg.subscription)) {
      this.realm.sendError(peer, MessageType.UNSUBSCRIBE, msg.request, WampUri.NO_SUCH_SUBSCRIPTION);
      return;
    }
    this.removeSubscriber(peer, msg.subscription, false);
    peer.send({ type: MessageType.UNSUBSCRIBED, request: msg.request });
  }

  /**
   * Takes a session off a subscription, with meta events; with `revoke`, tells
   * the subscriber by `[UNSUBSCRIBED, 0, {subscription, reason}]` if it announced
   * subscription revocation (advanced profile "Subscription Revocation").
   *
   * @returns whether it was subscribed
   */
  removeSubscriber(peer: Peer, subscription: number, revoke: boolean, reason?: string): boolean {
    const r = this.realm.store.unsubscribe(subscription, peer.id);
    peer.subscriptions.delete(subscription);
    if (!r) return false;
    if (revoke && peer.has('subscriber', 'subscription_revocation')) {
      const details: WampDict = { subscription };
      if (reason !== undefined) details.reason = reason;
      peer.send({ type: MessageType.UNSUBSCRIBED, request: 0, details });
    }
    this.publishMeta('wamp.subscription.on_unsubscribe', [peer.id, subscription]);
    if (r.deleted) this.publishMeta('wamp.subscription.on_delete', [peer.id, subscription]);
    return true;
  }

  /** PUBLISH from a client: `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]`. */
  onPublish(peer: Peer, msg: PublishMessage): void | Promise<void> {
    const ack = msg.options.acknowledge === true;
    const fail = (uri: string, why: string): void => {
      if (ack) this.realm.sendError(peer, MessageType.PUBLISH, msg.request, uri, [why]);
    };
    if (isReserved(msg.topic) && !this.realm.isTrusted(peer)) {
      fail(WampUri.INVALID_URI, `topic '${msg.topic}' is reserved for the router`);
      return;
    }
    if (msg.options.disclose_me === true && this.realm.disclosePublisher === 'deny') {
      // Advanced profile "Publisher Identification": a broker may deny disclose_me.
      this.realm.sendError(peer, MessageType.PUBLISH, msg.request, WampUri.DISCLOSE_ME_DISALLOWED);
      return;
    }
    if (readAudience(msg.options) === null) {
      fail(WampUri.INVALID_ARGUMENT, 'eligible/exclude must be lists of session IDs, *_authid/*_authrole lists of strings');
      return;
    }
    return this.realm.authorized(peer, msg.topic, 'publish', msg.options, MessageType.PUBLISH, msg.request, (d) => {
      const policy = this.realm.disclosePublisher;
      const disclose = policy === 'force' || (policy !== 'deny' && (d.disclose || msg.options.disclose_me === true));
      const publication = this.publish(peer, msg.topic, msg.options, payloadOf(msg), disclose);
      if (ack) peer.send({ type: MessageType.PUBLISHED, request: msg.request, publication });
    });
  }

  /**
   * Publishes an event (from a session, or from the router when `publisher` is
   * null: meta events, testaments) and retains it if asked.
   *
   * @returns the publication ID
   */
  publish(publisher: Peer | null, topic: string, options: WampDict, payload: WampPayload, disclose: boolean): number {
    const publication = randomId();
    const parsed = readAudience(options);
    const audience = parsed?.audience ?? NO_AUDIENCE;
    const excludeMe = options.exclude_me !== false;
    const base: WampDict = {};
    if (publisher && disclose) {
      base.publisher = publisher.id;
      base.publisher_authid = publisher.info.authid;
      base.publisher_authrole = publisher.info.authrole;
    }
    copyPpt(options, base);
    const peers = this.realm.peers;
    for (const sub of this.realm.store.matchSubscriptions(topic)) {
      const details = sub.match === 'exact' ? base : { ...base, topic };
      let msg: EventMessage | undefined;
      for (const sid of sub.subscribers) {
        if (publisher && sid === publisher.id && excludeMe) continue;
        const p = peers.get(sid);
        if (!p || !isEligible(p.info, audience)) continue;
        msg ??= eventMessage(sub.id, publication, details, payload);
        p.sendEvent(msg);
      }
    }
    if (options.retain === true) {
      const ev: RetainedEvent = {
        topic,
        publication,
        details: base,
        audience: parsed?.raw ?? {},
        publisher: publisher?.id ?? 0,
        excludeMe,
        ...payload,
      };
      this.realm.store.retain(ev);
    }
    return publication;
  }

  /** Publishes a meta event (router as publisher, nobody excluded) if anyone could receive it. */
  publishMeta(topic: string, args: WampList | (() => WampList), kwargs?: WampDict): void {
    if (this.realm.peers.size === 0) return;
    // Nobody subscribed (sessions join and leave far more often than anyone
    // watches them): nothing to build or send.
    if (this.realm.store.matchSubscriptions(topic)[Symbol.iterator]().next().done) return;
    if (typeof args === 'function') args = args();
    const payload: WampPayload = kwargs ? { args, kwargs } : { args };
    this.publish(null, topic, {}, payload, false);
  }
}

function eventMessage(subscription: number, publication: number, details: WampDict, p: WampPayload): EventMessage {
  const msg: EventMessage = { type: MessageType.EVENT, subscription, publication, details };
  if (p.payload !== undefined) msg.payload = p.payload;
  else {
    if (p.args !== undefined) msg.args = p.args;
    if (p.kwargs !== undefined) msg.kwargs = p.kwargs;
  }
  return msg;
}

/** SubscriptionDetails of the meta API. */
export function subscriptionDetails(r: SubscriptionRecord): WampDict {
  return { id: r.id, created: r.created, uri: r.uri, match: r.match };
}

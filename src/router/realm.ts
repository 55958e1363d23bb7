/**
 * A realm: its sessions, and the broker, dealer and meta API working on its
 * {@link RealmStore}. Every state change runs on the router's one logical
 * thread; the only waits are dynamic authorization and the router's own calls,
 * and after each wait the session is checked to still be there.
 *
 * @module
 */
import {
  MessageType,
  type CallMessage,
  type CancelMessage,
  type ErrorMessage,
  type FailableRequestType,
  type PublishMessage,
  type RegisterMessage,
  type SubscribeMessage,
  type UnregisterMessage,
  type UnsubscribeMessage,
  type WampMessage,
  type WampPayload,
  type YieldMessage,
} from '../wamp/messages.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { protocolViolation, type WampProtocolError } from '../wamp/errors.js';
import { InternalCallError, type InternalCallResult } from './auth.js';
import { RealmAuthorizer, TRUSTED_ROLE, type AuthzDecision } from './authorization.js';
import { Broker } from './broker.js';
import { Dealer } from './dealer.js';
import { IdSequence } from './ids.js';
import { MetaApi } from './meta.js';
import type { Action, DisclosePolicy, RealmConfig, SessionLimits } from './options.js';
import type { Peer } from './peer.js';
import { MemoryRealmStore, type RealmStore } from './state.js';
import { WampUri } from './uris.js';

/** Thrown by a handler to abort the offending session with `wamp.error.protocol_violation`. */
export type ProtocolViolation = WampProtocolError;

/** The payload fields of a message, copied (absent ones stay absent). */
export function payloadOf(p: WampPayload): WampPayload {
  const out: WampPayload = {};
  if (p.payload !== undefined) out.payload = p.payload;
  else {
    if (p.args !== undefined) out.args = p.args;
    if (p.kwargs !== undefined) out.kwargs = p.kwargs;
  }
  return out;
}

/** Copies the payload passthru keys (`ppt_*`) of Options into Details (advanced profile "Payload Passthru Mode"). */
export function copyPpt(from: WampDict, to: WampDict): void {
  for (const k in from) if (k.startsWith('ppt_')) to[k] = from[k];
}

/** Whether a URI is reserved for the router (`wamp.*`): clients may not register it or publish to it. */
export function isReserved(uri: string): boolean {
  return uri.startsWith('wamp.');
}

/** One realm. */
export class Realm {
  readonly store: RealmStore;
  readonly authorizer: RealmAuthorizer;
  readonly broker: Broker;
  readonly dealer: Dealer;
  readonly meta: MetaApi;
  /** Joined sessions by ID (the local part of the store's sessions). */
  readonly peers = new Map<number, Peer>();
  readonly discloseCaller: DisclosePolicy;
  readonly disclosePublisher: DisclosePolicy;

  /**
   * @param config - realm config
   * @param limits - per-session limits
   * @param ids - router-scope ID sequence
   * @param onError - reports unexpected internal errors (never reaches the wire)
   */
  constructor(
    readonly config: RealmConfig,
    readonly limits: SessionLimits,
    ids: IdSequence,
    readonly onError: (err: unknown) => void,
  ) {
    this.store = new MemoryRealmStore(ids, config.maxRetained ?? 10_000);
    this.authorizer = new RealmAuthorizer(config, (procedure, args, kwargs) =>
      this.callInternal(procedure, args, kwargs, limits.internalCallTimeout),
    );
    this.broker = new Broker(this);
    this.dealer = new Dealer(this);
    this.meta = new MetaApi(this);
    this.discloseCaller = config.disclose?.caller ?? 'allow';
    this.disclosePublisher = config.disclose?.publisher ?? 'allow';
  }

  /** Realm name. */
  get name(): string {
    return this.config.name;
  }

  /** Adds a session that was welcomed; publishes `wamp.session.on_join`. */
  join(peer: Peer): void {
    this.store.addSession(peer.info);
    this.peers.set(peer.id, peer);
    this.broker.publishMeta('wamp.session.on_join', () => [this.meta.sessionDetails(peer.info)]);
  }

  /**
   * Removes a session: its subscriptions and registrations (with meta events),
   * its calls (callees get INTERRUPT), its invocations (callers get
   * `wamp.error.canceled`); then publishes its testaments and
   * `wamp.session.on_leave`. Idempotent.
   */
  leave(peer: Peer): void {
    if (!peer.alive) return;
    peer.alive = false;
    for (const sub of [...peer.subscriptions]) this.broker.removeSubscriber(peer, sub, false);
    for (const reg of [...peer.registrations]) this.dealer.removeCallee(peer, reg, false);
    this.dealer.sessionGone(peer);
    this.store.removeSession(peer.id);
    this.peers.delete(peer.id);
    const testaments = [...peer.testaments.detached, ...peer.testaments.destroyed];
    peer.testaments.detached.length = 0;
    peer.testaments.destroyed.length = 0;
    for (const t of testaments) {
      try {
        this.broker.publish(null, t.topic, t.options, { args: t.args, kwargs: t.kwargs }, false);
      } catch (err) {
        this.onError(err);
      }
    }
    this.broker.publishMeta('wamp.session.on_leave', [peer.id, peer.info.authid, peer.info.authrole]);
  }

  /**
   * Handles one message of an established session.
   *
   * @returns a promise when the message waits on asynchronous authorization (the
   *   connection holds later input until it settles)
   * @throws {@link WampProtocolError} on a protocol violation
   */
  handle(peer: Peer, msg: WampMessage): void | Promise<void> {
    switch (msg.type) {
      case MessageType.SUBSCRIBE:
        return this.broker.subscribe(peer, msg as SubscribeMessage);
      case MessageType.UNSUBSCRIBE:
        return this.broker.unsubscribe(peer, msg as UnsubscribeMessage);
      case MessageType.PUBLISH:
        return this.broker.onPublish(peer, msg as PublishMessage);
      case MessageType.REGISTER:
        return this.dealer.register(peer, msg as RegisterMessage);
      case MessageType.UNREGISTER:
        return this.dealer.unregister(peer, msg as UnregisterMessage);
      case MessageType.CALL:
        return this.dealer.call(peer, msg as CallMessage);
      case MessageType.CANCEL:
        return this.dealer.cancel(peer, msg as CancelMessage);
      case MessageType.YIELD:
        return this.dealer.onYield(peer, msg as YieldMessage);
      case MessageType.ERROR: {
        const err = msg as ErrorMessage;
        // Basic profile: a client only ever answers an INVOCATION with ERROR.
        if (err.requestType !== MessageType.INVOCATION) {
          throw protocolViolation(`ERROR for request type ${err.requestType} from a client (only INVOCATION can fail at a callee)`);
        }
        return this.dealer.onInvocationError(peer, err);
      }
      default:
        throw protocolViolation(`unexpected message type ${msg.type} from a client in an established session`);
    }
  }

  /** Sends ERROR for a request. */
  sendError(
    peer: Peer,
    requestType: FailableRequestType,
    request: number,
    error: string,
    args?: WampList,
    kwargs?: WampDict,
    details: WampDict = {},
  ): void {
    const msg: ErrorMessage = { type: MessageType.ERROR, requestType, request, details, error };
    if (args !== undefined) msg.args = args;
    if (kwargs !== undefined) msg.kwargs = kwargs;
    peer.send(msg);
  }

  /**
   * Runs `then` if `peer` may do `action` on `uri`; else sends the ERROR.
   * Synchronous for static permissions; a promise for dynamic authorizers.
   */
  authorized(
    peer: Peer,
    uri: string,
    action: Action,
    options: WampDict,
    requestType: FailableRequestType,
    request: number,
    then: (d: AuthzDecision) => void,
  ): void | Promise<void> {
    const apply = (d: AuthzDecision): void => {
      if (!peer.alive) return;
      if (!d.allow) {
        this.sendError(peer, requestType, request, d.error ?? WampUri.NOT_AUTHORIZED, [
          `session is not authorized to ${action} '${uri}'`,
        ]);
        return;
      }
      then(d);
    };
    const d = this.authorizer.authorize(peer.info, uri, action, options);
    if (d instanceof Promise) return d.then(apply);
    apply(d);
  }

  /** Whether the session is trusted (embedded router components). */
  isTrusted(peer: Peer): boolean {
    return peer.info.authrole === TRUSTED_ROLE;
  }

  /**
   * Calls a procedure in this realm as the router (dynamic authenticators and
   * authorizers), with a timeout.
   *
   * @throws {@link InternalCallError}
   */
  callInternal(procedure: string, args: WampList, kwargs: WampDict | undefined, timeout: number): Promise<InternalCallResult> {
    return new Promise<InternalCallResult>((resolve, reject) => {
      this.dealer.callFromRouter(procedure, args, kwargs, timeout, (r) => {
        if ('error' in r) reject(new InternalCallError(r.error, r.args, r.kwargs));
        else resolve(r);
      });
    });
  }

  /** Number of joined sessions. */
  get sessionCount(): number {
    return this.peers.size;
  }
}

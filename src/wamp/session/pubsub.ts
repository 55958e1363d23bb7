/**
 * The publisher and subscriber roles: PUBLISH (acknowledged or not) with
 * publisher exclusion, identification and subscriber black/white listing;
 * SUBSCRIBE/UNSUBSCRIBE with pattern-based subscriptions, EVENT delivery,
 * subscription revocation and payload passthru (advanced profile, PubSub).
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import { MessageType, type ErrorMessage, type EventMessage, type UnsubscribedMessage, type WampMessage } from '../messages.js';
import { emptyComponentsForMatch, isValidUri, type WampDict, type WampList } from '../uri.js';
import { checkUri, payloadOf, toApplicationError, wireOptions } from './caller.js';
import type { PendingRequest, SessionCore, SessionPart } from './core.js';
import type { EventDetails, EventHandler, Publication, PublishOptions, SubscribeOptions } from './types.js';

const LOCAL_SUBSCRIBE_KEYS = new Set(['onRevoke']);
const LOCAL_PUBLISH_KEYS = new Set(['payload']);

/** One subscription handler of ours. Several may share one router subscription (same topic and match). */
export class Subscription {
  private isActive = true;

  /** @internal */
  constructor(
    private readonly pubsub: PubSub,
    /** SUBSCRIBED.Subscription (shared by every local subscription to the same topic and match). */
    readonly id: number,
    /** The topic URI (or pattern) subscribed. */
    readonly topic: string,
    /** SUBSCRIBE.Options as sent. */
    readonly options: Readonly<WampDict>,
    /** @internal */
    readonly handler: EventHandler,
    /** @internal */
    readonly onRevoke: ((reason: string | undefined) => void) | undefined,
  ) {}

  /** `false` once unsubscribed, revoked, or the session ended. */
  get active(): boolean {
    return this.isActive;
  }

  /** @internal */
  deactivate(): void {
    this.isActive = false;
  }

  /**
   * Stops this handler. The router is told (UNSUBSCRIBE) when it was the last
   * handler of its router subscription; resolves when that is confirmed.
   */
  unsubscribe(): Promise<void> {
    return this.pubsub.unsubscribe(this);
  }
}

interface Group {
  readonly id: number;
  /** Topic and match policy: what the broker keys a subscription by. */
  readonly key: string;
  readonly members: Set<Subscription>;
}

function groupKey(topic: string, options: SubscribeOptions): string {
  return `${options.match ?? 'exact'} ${topic}`;
}

/** The publisher and subscriber roles of a session. @internal */
export class PubSub implements SessionPart {
  private readonly groups = new Map<number, Group>();
  /**
   * UNSUBSCRIBEs in flight by group key. A SUBSCRIBE to the same topic waits
   * for it: sent before the broker handled the UNSUBSCRIBE, it would get the
   * old subscription back, which the UNSUBSCRIBE then removes.
   */
  private readonly unsubscribing = new Map<string, Promise<void>>();

  constructor(private readonly core: SessionCore) {}

  publish(topic: string, args: WampList | undefined, kwargs: WampDict | undefined, options: PublishOptions): Promise<Publication | undefined> {
    const core = this.core;
    let payload;
    const wire = wireOptions(options, LOCAL_PUBLISH_KEYS);
    try {
      core.ensureOpen();
      checkUri(topic, 'topic');
      payload = payloadOf(core, 'broker', args, kwargs, options);
      if (options.acknowledge === true) core.checkPendingLimit(MessageType.PUBLISH);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = core.nextId();
    if (options.acknowledge !== true) {
      try {
        core.send({ type: MessageType.PUBLISH, request: id, options: wire, topic, ...payload });
      } catch (err) {
        core.releaseId(id);
        return Promise.reject(err as Error);
      }
      return core.waitWritable().then(() => undefined);
    }
    return new Promise<Publication>((resolve, reject) => {
      const req: PendingRequest = {
        type: MessageType.PUBLISH,
        onReply: (msg: WampMessage) => {
          if (msg.type === MessageType.PUBLISHED) resolve({ id: msg.publication });
        },
        onError: (msg: ErrorMessage) => reject(toApplicationError(msg)),
        onClose: reject,
      };
      core.track(id, req);
      try {
        core.send({ type: MessageType.PUBLISH, request: id, options: wire, topic, ...payload });
      } catch (err) {
        core.untrack(id);
        core.releaseId(id);
        reject(err as Error);
      }
    });
  }

  subscribe(topic: string, handler: EventHandler, options: SubscribeOptions): Promise<Subscription> {
    const core = this.core;
    try {
      core.ensureOpen();
      if (typeof handler !== 'function') {
        throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'the handler must be a function');
      }
      if (!isValidUri(topic, { empty: emptyComponentsForMatch(options.match) })) {
        throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_uri', `invalid topic URI: ${String(topic)}`);
      }
      core.checkPendingLimit(MessageType.SUBSCRIBE);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const key = groupKey(topic, options);
    const inFlight = this.unsubscribing.get(key);
    if (inFlight) return inFlight.then(() => this.subscribe(topic, handler, options));
    const wire = wireOptions(options, LOCAL_SUBSCRIBE_KEYS);
    const onRevoke = options.onRevoke;
    return new Promise<Subscription>((resolve, reject) => {
      const req: PendingRequest = {
        type: MessageType.SUBSCRIBE,
        onReply: (msg: WampMessage) => {
          if (msg.type !== MessageType.SUBSCRIBED) return;
          let group = this.groups.get(msg.subscription);
          if (!group) {
            group = { id: msg.subscription, key, members: new Set() };
            this.groups.set(group.id, group);
          }
          const sub = new Subscription(this, msg.subscription, topic, wire, handler, onRevoke);
          group.members.add(sub);
          resolve(sub);
        },
        onError: (msg: ErrorMessage) => reject(toApplicationError(msg)),
        onClose: reject,
      };
      const id = core.nextId();
      core.track(id, req);
      try {
        core.send({ type: MessageType.SUBSCRIBE, request: id, options: wire, topic });
      } catch (err) {
        core.untrack(id);
        core.releaseId(id);
        reject(err as Error);
      }
    });
  }

  unsubscribe(sub: Subscription): Promise<void> {
    if (!sub.active) return Promise.resolve();
    sub.deactivate();
    const group = this.groups.get(sub.id);
    if (!group) return Promise.resolve();
    group.members.delete(sub);
    if (group.members.size > 0) return Promise.resolve();
    // The last local handler: the router subscription goes.
    this.groups.delete(group.id);
    const core = this.core;
    if (!core.isOpen) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      const req: PendingRequest = {
        type: MessageType.UNSUBSCRIBE,
        onReply: () => resolve(),
        onError: (msg: ErrorMessage) => {
          if (msg.error === 'wamp.error.no_such_subscription') resolve();
          else reject(toApplicationError(msg));
        },
        onClose: () => resolve(),
      };
      try {
        core.checkPendingLimit(MessageType.UNSUBSCRIBE);
      } catch (err) {
        reject(err as Error);
        return;
      }
      const id = core.nextId();
      core.track(id, req);
      try {
        core.send({ type: MessageType.UNSUBSCRIBE, request: id, subscription: group.id });
      } catch (err) {
        core.untrack(id);
        core.releaseId(id);
        reject(err as Error);
      }
    });
    const settled = p.then(
      () => {},
      () => {},
    );
    this.unsubscribing.set(group.key, settled);
    void settled.then(() => {
      if (this.unsubscribing.get(group.key) === settled) this.unsubscribing.delete(group.key);
    });
    return p;
  }

  onEvent(msg: EventMessage): void {
    // Events may still arrive for a subscription just unsubscribed: drop them.
    const group = this.groups.get(msg.subscription);
    if (!group) return;
    for (const sub of [...group.members]) {
      if (!sub.active) continue;
      const details: EventDetails = {
        ...msg.details,
        topic: typeof msg.details.topic === 'string' ? msg.details.topic : sub.topic,
        publication: msg.publication,
        subscription: msg.subscription,
      };
      if (msg.payload !== undefined) details.payload = msg.payload;
      let ret: unknown;
      try {
        ret = sub.handler(msg.args ?? [], msg.kwargs ?? {}, details);
      } catch (err) {
        this.core.userError(err, { kind: 'event', uri: details.topic });
        continue;
      }
      if (typeof ret === 'object' && ret !== null && typeof (ret as { then?: unknown }).then === 'function') {
        Promise.resolve(ret).then(undefined, (err: unknown) => this.core.userError(err, { kind: 'event', uri: details.topic }));
      }
    }
  }

  /** UNSUBSCRIBED with request 0: the router revoked a subscription (advanced profile, "Subscription Revocation"). */
  onRevoked(msg: UnsubscribedMessage): void {
    const details = msg.details ?? {};
    const id = details.subscription;
    const group = typeof id === 'number' ? this.groups.get(id) : undefined;
    if (!group) return;
    this.groups.delete(group.id);
    const reason = typeof details.reason === 'string' ? details.reason : undefined;
    for (const sub of group.members) {
      sub.deactivate();
      if (!sub.onRevoke) continue;
      try {
        sub.onRevoke(reason);
      } catch (err) {
        this.core.userError(err, { kind: 'hook', uri: sub.topic });
      }
    }
  }

  onSessionEnd(): void {
    for (const group of this.groups.values()) for (const sub of group.members) sub.deactivate();
    this.groups.clear();
  }
}

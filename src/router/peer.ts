/**
 * A joined WAMP session as the realm sees it: identity, announced client
 * features, what it holds (subscriptions, registrations, calls, invocations,
 * testaments) and a bounded way to send to it.
 *
 * @module
 */
import type { EventMessage, WampMessage } from '../wamp/messages.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { isDict } from '../wamp/uri.js';
import { IdSequence } from './ids.js';
import type { SessionInfo } from './state.js';

/** What a peer's connection does for it. */
export interface PeerLink {
  /** Sends one message; false when it could not be sent (closed, unserializable, overflow). */
  send(msg: WampMessage): boolean;
  /** Sends an EVENT unless the outgoing buffer is over the drop threshold; false when dropped. */
  sendEvent(msg: EventMessage): boolean;
  /** False once the connection is closing or overflowed (nothing more can be sent). */
  readonly writable: boolean;
  /** Router-initiated close: GOODBYE with `reason` (and `message` in Details), then the session is gone. */
  kill(reason: string, message?: string): void;
}

/** A call in flight, shared by its caller's and its callee's records. */
export interface Call {
  /** INVOCATION.Request (session scope of the callee). */
  readonly invocation: number;
  /** CALL.Request of the caller (0 for the router's own calls). */
  readonly request: number;
  readonly procedure: string;
  readonly registration: number;
  readonly callee: Peer;
  /** null: the router itself called (dynamic authenticator/authorizer). */
  readonly caller: Peer | null;
  /** For the router's own calls. */
  readonly settle?: (result: { args?: WampList; kwargs?: WampDict } | { error: string; args?: WampList; kwargs?: WampDict }) => void;
  /** The caller asked for progressive results and the callee can give them. */
  readonly receiveProgress: boolean;
  /** The caller is still sending progressive invocations. */
  callerProgress: boolean;
  /** Router-side timeout in ms (0 = none). */
  readonly timeout: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * `active`; `skipped` (the caller got its ERROR, the callee's answer is dropped
   * when it comes); `killing` (INTERRUPT sent, waiting for the callee's answer).
   */
  state: 'active' | 'skipped' | 'killing';
}

/** A testament (advanced profile "Session Testament"). */
export interface Testament {
  readonly topic: string;
  readonly args: WampList;
  readonly kwargs: WampDict;
  readonly options: WampDict;
}

/** The client roles of HELLO.Details.roles. */
type ClientRole = 'caller' | 'callee' | 'publisher' | 'subscriber';

/**
 * The client features of the spec (HELLO.Details.roles.<role>.features) that
 * a Peer remembers, one bit each: a session keeps 4 bytes of them instead of
 * the client's whole roles dictionary (~0.6 KB per idle session, bench:router).
 */
const FEATURES: Record<ClientRole, readonly string[]> = {
  caller: ['caller_identification', 'call_canceling', 'call_cancelling', 'call_timeout', 'progressive_call_results', 'progressive_call_invocations', 'payload_passthru_mode'],
  callee: [
    'caller_identification',
    'call_trustlevels',
    'pattern_based_registration',
    'shared_registration',
    'call_canceling',
    'call_cancelling',
    'call_timeout',
    'progressive_call_results',
    'progressive_call_invocations',
    'registration_revocation',
    'payload_passthru_mode',
  ],
  publisher: ['publisher_identification', 'subscriber_blackwhite_listing', 'publisher_exclusion', 'payload_passthru_mode'],
  subscriber: ['publisher_identification', 'pattern_based_subscription', 'subscription_revocation', 'payload_passthru_mode'],
};
const ROLE_BITS = new Map<ClientRole, { role: number; features: Map<string, number> }>();
{
  let bit = 0;
  for (const role of Object.keys(FEATURES) as ClientRole[]) {
    const features = new Map<string, number>();
    const roleBit = 2 ** bit++;
    for (const f of FEATURES[role]) features.set(f, 2 ** bit++);
    ROLE_BITS.set(role, { role: roleBit, features });
  }
  // 4 roles + 26 features: within the 31 bits of a small integer.
  if (bit > 31) throw new Error('client features do not fit 31 bits');
}

/** HELLO.Details.roles as bits (roles announced, and the spec's features of each that are `true`). */
export function clientFeatureBits(helloRoles: WampDict): number {
  let bits = 0;
  for (const [role, b] of ROLE_BITS) {
    const r = helloRoles[role];
    if (!isDict(r)) continue;
    bits |= b.role;
    if (!isDict(r.features)) continue;
    for (const [f, fb] of b.features) if (r.features[f] === true) bits |= fb;
  }
  return bits;
}

/** One joined session. */
export class Peer {
  /** Session ID. */
  readonly id: number;
  // The collections below are created on first use: most sessions use a few
  // of them, and five empty ones cost ~0.6 KB per idle session (bench:router).
  private subs: Set<number> | undefined;
  private regs: Set<number> | undefined;
  private callMap: Map<number, Call> | undefined;
  private invocationMap: Map<number, Call> | undefined;
  private invocationSeq: IdSequence | undefined;
  private testamentLists: { detached: Testament[]; destroyed: Testament[] } | undefined;
  /** Subscription IDs of this session. */
  get subscriptions(): Set<number> {
    return (this.subs ??= new Set());
  }
  /** Registration IDs of this session. */
  get registrations(): Set<number> {
    return (this.regs ??= new Set());
  }
  /** As caller, by CALL.Request. */
  get calls(): Map<number, Call> {
    return (this.callMap ??= new Map());
  }
  /** As callee, by INVOCATION.Request. */
  get invocations(): Map<number, Call> {
    return (this.invocationMap ??= new Map());
  }
  /** INVOCATION request IDs (session scope). */
  get invocationIds(): IdSequence {
    return (this.invocationSeq ??= new IdSequence());
  }
  /** Testaments by scope. */
  get testaments(): { detached: Testament[]; destroyed: Testament[] } {
    return (this.testamentLists ??= { detached: [], destroyed: [] });
  }
  /** Highest CALL.Request seen (progressive call invocations: continuation candidates). */
  callWatermark = 0;
  /** EVENTs dropped because the outgoing buffer was full. */
  droppedEvents = 0;
  /** False once the session left the realm. */
  alive = true;
  /** {@link clientFeatureBits} of the HELLO. */
  private readonly features: number;

  /**
   * @param info - identity
   * @param helloRoles - HELLO.Details.roles
   * @param link - the connection
   */
  constructor(
    readonly info: SessionInfo,
    helloRoles: WampDict,
    readonly link: PeerLink,
  ) {
    this.id = info.session;
    this.features = clientFeatureBits(helloRoles);
  }

  /**
   * Whether the client announced `feature` for `role`
   * (HELLO.Details.roles.<role>.features.<feature> === true); features the
   * spec does not define for the role read as false.
   */
  has(role: ClientRole, feature: string): boolean {
    const bit = ROLE_BITS.get(role)?.features.get(feature);
    return bit !== undefined && (this.features & bit) !== 0;
  }

  /** Whether the client announced the role at all. */
  hasRole(role: ClientRole): boolean {
    const b = ROLE_BITS.get(role);
    return b !== undefined && (this.features & b.role) !== 0;
  }

  /** The callee can be interrupted (call canceling; `call_cancelling` also accepted, as the spec spells it in places). */
  get calleeCancels(): boolean {
    return this.has('callee', 'call_canceling') || this.has('callee', 'call_cancelling');
  }

  /** Sends one message; see {@link PeerLink.send}. */
  send(msg: WampMessage): boolean {
    return this.alive && this.link.send(msg);
  }

  /** Sends an EVENT, or drops it on a full buffer; see {@link PeerLink.sendEvent}. */
  sendEvent(msg: EventMessage): boolean {
    if (!this.alive) return false;
    if (this.link.sendEvent(msg)) return true;
    this.droppedEvents++;
    return false;
  }
}

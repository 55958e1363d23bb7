/**
 * The dealer: register, unregister, call, yield, cancel — with the advanced
 * profile's progressive call results and invocations, call canceling (skip,
 * kill, killnowait), dealer-side call timeouts, caller identification,
 * pattern-based and shared registrations, registration revocation and the
 * registration meta events. Meta procedures (`wamp.*`) are answered by
 * {@link MetaApi} after authorization.
 *
 * @module
 */
import {
  MessageType,
  type CallMessage,
  type CancelMessage,
  type ErrorMessage,
  type InvocationMessage,
  type RegisterMessage,
  type ResultMessage,
  type UnregisterMessage,
  type WampPayload,
  type YieldMessage,
} from '../wamp/messages.js';
import { protocolViolation } from '../wamp/errors.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { matchPolicyOf } from './matching.js';
import type { Call, Peer } from './peer.js';
import { copyPpt, isReserved, payloadOf, type Realm } from './realm.js';
import type { InvokePolicy, RegistrationRecord } from './state.js';
import { WampUri } from './uris.js';

const INVOKE_POLICIES = new Set<unknown>(['single', 'roundrobin', 'random', 'first', 'last']);
const CANCEL_MODES = new Set<unknown>(['skip', 'kill', 'killnowait']);

type Settle = NonNullable<Call['settle']>;

/** The dealer of one realm. */
export class Dealer {
  constructor(private readonly realm: Realm) {}

  // -------------------------------------------------------------------------
  // Registrations

  /** REGISTER: `[REGISTER, Request|id, Options|dict, Procedure|uri]` → REGISTERED or ERROR. */
  register(peer: Peer, msg: RegisterMessage): void | Promise<void> {
    const { options, procedure, request } = msg;
    if (isReserved(procedure)) {
      this.realm.sendError(peer, MessageType.REGISTER, request, WampUri.INVALID_URI, [
        `procedure '${procedure}' is reserved for the router`,
      ]);
      return;
    }
    const invoke = options.invoke ?? 'single';
    if (!INVOKE_POLICIES.has(invoke)) {
      this.realm.sendError(peer, MessageType.REGISTER, request, WampUri.INVALID_ARGUMENT, [
        `invoke must be single, roundrobin, random, first or last`,
      ]);
      return;
    }
    const match = matchPolicyOf(options.match);
    return this.realm.authorized(peer, procedure, 'register', options, MessageType.REGISTER, request, () => {
      if (peer.registrations.size >= this.realm.limits.maxRegistrations) {
        this.realm.sendError(peer, MessageType.REGISTER, request, WampUri.LIMIT_EXCEEDED, ['max_registrations']);
        return;
      }
      const r = this.realm.store.register(procedure, match, invoke as InvokePolicy, {
        session: peer.id,
        discloseCaller: options.disclose_caller === true,
        forwardTimeout: options.forward_timeout === true,
      });
      if (typeof r === 'string') {
        this.realm.sendError(peer, MessageType.REGISTER, request, r, [`procedure '${procedure}' is already registered`]);
        return;
      }
      peer.registrations.add(r.record.id);
      peer.send({ type: MessageType.REGISTERED, request, registration: r.record.id });
      const broker = this.realm.broker;
      if (r.created) broker.publishMeta('wamp.registration.on_create', [peer.id, registrationDetails(r.record)]);
      broker.publishMeta('wamp.registration.on_register', [peer.id, r.record.id]);
    });
  }

  /** UNREGISTER: `[UNREGISTER, Request|id, REGISTERED.Registration|id]` → UNREGISTERED or ERROR. */
  unregister(peer: Peer, msg: UnregisterMessage): void {
    if (!peer.registrations.has(msg.registration)) {
      this.realm.sendError(peer, MessageType.UNREGISTER, msg.request, WampUri.NO_SUCH_REGISTRATION);
      return;
    }
    this.removeCallee(peer, msg.registration, false);
    peer.send({ type: MessageType.UNREGISTERED, request: msg.request });
  }

  /**
   * Takes a callee off a registration, with meta events; with `revoke`, tells it
   * by `[UNREGISTERED, 0, {registration, reason}]` if it announced registration
   * revocation. Its invocations in flight continue.
   *
   * @returns whether it was registered
   */
  removeCallee(peer: Peer, registration: number, revoke: boolean, reason?: string): boolean {
    const r = this.realm.store.unregister(registration, peer.id);
    peer.registrations.delete(registration);
    if (!r) return false;
    if (revoke && peer.has('callee', 'registration_revocation')) {
      const details: WampDict = { registration };
      if (reason !== undefined) details.reason = reason;
      peer.send({ type: MessageType.UNREGISTERED, request: 0, details });
    }
    const broker = this.realm.broker;
    broker.publishMeta('wamp.registration.on_unregister', [peer.id, registration]);
    if (r.deleted) broker.publishMeta('wamp.registration.on_delete', [peer.id, registration]);
    return true;
  }

  // -------------------------------------------------------------------------
  // Calls

  /** CALL: `[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]`. */
  call(peer: Peer, msg: CallMessage): void | Promise<void> {
    const { request, options } = msg;
    const progress = options.progress === true;
    const existing = peer.calls.get(request);
    if (existing) {
      // Advanced profile "Progressive Call Invocations": the same request ID
      // continues a call whose caller is still sending; anything else reusing
      // an ID in flight is a protocol violation.
      if (!existing.callerProgress) throw protocolViolation(`CALL.Request ${request} is already in flight`);
      this.continueCall(existing, msg, progress);
      return;
    }
    if (peer.has('caller', 'progressive_call_invocations')) {
      // A continuation of a call that completed meanwhile is discarded ("Verification of CALL Request IDs").
      if (request <= peer.callWatermark) return;
      peer.callWatermark = request;
    }
    if (progress && !peer.has('caller', 'progressive_call_invocations')) {
      throw protocolViolation('CALL with progress=true from a caller that did not announce progressive_call_invocations');
    }
    if (peer.calls.size >= this.realm.limits.maxPendingCalls) {
      this.realm.sendError(peer, MessageType.CALL, request, WampUri.LIMIT_EXCEEDED, ['max_pending_calls']);
      return;
    }
    if (options.disclose_me === true && this.realm.discloseCaller === 'deny') {
      this.realm.sendError(peer, MessageType.CALL, request, WampUri.DISCLOSE_ME_DISALLOWED);
      return;
    }
    return this.realm.authorized(peer, msg.procedure, 'call', options, MessageType.CALL, request, (d) => {
      if (isReserved(msg.procedure)) {
        this.realm.meta.call(peer, msg);
        return;
      }
      const policy = this.realm.discloseCaller;
      const forced = policy === 'force' || d.disclose;
      this.route(peer, msg, forced, policy !== 'deny');
    });
  }

  /** Routes a new call from a session to a callee. */
  private route(peer: Peer, msg: CallMessage, forceDisclose: boolean, mayDisclose: boolean): void {
    const { request, options, procedure } = msg;
    const fail = (uri: string, args?: WampList): void => this.realm.sendError(peer, MessageType.CALL, request, uri, args);
    const reg = this.realm.store.matchRegistration(procedure);
    if (!reg) {
      fail(WampUri.NO_SUCH_PROCEDURE, [`no callee registered procedure '${procedure}'`]);
      return;
    }
    const callee = this.pickCallee(reg);
    if (typeof callee === 'string') {
      fail(callee, [callee === WampUri.LIMIT_EXCEEDED ? 'max_concurrent_invocations' : 'no callee available']);
      return;
    }
    const progress = options.progress === true;
    if (progress && !(callee.has('callee', 'progressive_call_invocations') && callee.calleeCancels)) {
      fail(WampUri.FEATURE_NOT_SUPPORTED, ['the callee does not support progressive call invocations']);
      return;
    }
    if (typeof options.ppt_scheme === 'string' && !callee.has('callee', 'payload_passthru_mode')) {
      fail(WampUri.FEATURE_NOT_SUPPORTED, ['the callee does not support payload passthru mode']);
      return;
    }
    const entry = reg.callees.find((c) => c.session === callee.id);
    const disclose = forceDisclose || (mayDisclose && (options.disclose_me === true || entry?.discloseCaller === true));
    const details: WampDict = {};
    if (reg.match !== 'exact') details.procedure = procedure;
    // The spec has the dealer disregard progressive results of a callee without
    // call canceling; like Crossbar we do not, because Autobahn (|JS and
    // |Python) callees announce progressive_call_results without call_canceling.
    // Such a callee is not interrupted when the caller leaves: its answer is dropped.
    const receiveProgress = options.receive_progress === true && callee.has('callee', 'progressive_call_results');
    if (receiveProgress) details.receive_progress = true;
    if (progress) details.progress = true;
    if (disclose) {
      details.caller = peer.id;
      details.caller_authid = peer.info.authid;
      details.caller_authrole = peer.info.authrole;
    }
    let timeout = timeoutOf(options.timeout);
    if (timeout > 0 && entry?.forwardTimeout && callee.has('callee', 'call_timeout')) {
      details.timeout = timeout; // "Callee-Initiated Timeouts": the callee runs the timer.
      timeout = 0;
    }
    copyPpt(options, details);
    const call = this.startCall(callee, reg, procedure, peer, request, undefined, receiveProgress, progress, timeout);
    if (!this.sendInvocation(call, details, payloadOf(msg))) return;
  }

  /** Picks a callee with room for one more invocation, by the invoke policy. */
  private pickCallee(reg: RegistrationRecord): Peer | string {
    const order = this.realm.store.pickCallees(reg.id);
    let busy = false;
    for (const sid of order) {
      const p = this.realm.peers.get(sid);
      if (!p) continue;
      if (p.invocations.size >= this.realm.limits.maxConcurrentInvocations) {
        busy = true;
        // 'single', 'first' and 'last' name one callee: no fallback to another.
        if (reg.invoke === 'single' || reg.invoke === 'first' || reg.invoke === 'last') break;
        continue;
      }
      return p;
    }
    return busy ? WampUri.LIMIT_EXCEEDED : WampUri.NO_AVAILABLE_CALLEE;
  }

  private startCall(
    callee: Peer,
    reg: RegistrationRecord,
    procedure: string,
    caller: Peer | null,
    request: number,
    settle: Settle | undefined,
    receiveProgress: boolean,
    callerProgress: boolean,
    timeout: number,
  ): Call {
    const call: Call = {
      invocation: callee.invocationIds.next(),
      request,
      procedure,
      registration: reg.id,
      callee,
      caller,
      ...(settle ? { settle } : {}),
      receiveProgress,
      callerProgress,
      timeout,
      timer: undefined,
      state: 'active',
    };
    callee.invocations.set(call.invocation, call);
    if (caller) caller.calls.set(request, call);
    this.armTimer(call);
    return call;
  }

  /** Sends an INVOCATION; when it cannot be serialized for the callee, fails the call. */
  private sendInvocation(call: Call, details: WampDict, payload: WampPayload): boolean {
    const inv: InvocationMessage = {
      type: MessageType.INVOCATION,
      request: call.invocation,
      registration: call.registration,
      details,
      ...payload,
    };
    if (call.callee.send(inv)) return true;
    if (!call.callee.alive) return false;
    // A callee on its way out: the call is canceled; else the payload could not be serialized for it.
    if (!call.callee.link.writable) this.finish(call, { error: WampUri.CANCELED, args: ['the callee is gone'] });
    else this.finish(call, { error: WampUri.INVALID_ARGUMENT, args: ['the call cannot be sent to the callee'] });
    return false;
  }

  /** A CALL continuing a progressive call invocation: forwarded with only `progress` (options are frozen). */
  private continueCall(call: Call, msg: CallMessage, progress: boolean): void {
    if (call.state !== 'active') return;
    call.callerProgress = progress;
    const details: WampDict = progress ? { progress: true } : {};
    this.sendInvocation(call, details, payloadOf(msg));
  }

  /** The router's own call (dynamic authenticator/authorizer). */
  callFromRouter(procedure: string, args: WampList, kwargs: WampDict | undefined, timeout: number, settle: Settle): void {
    const reg = this.realm.store.matchRegistration(procedure);
    if (!reg) {
      settle({ error: WampUri.NO_SUCH_PROCEDURE });
      return;
    }
    const callee = this.pickCallee(reg);
    if (typeof callee === 'string') {
      settle({ error: callee });
      return;
    }
    const details: WampDict = reg.match !== 'exact' ? { procedure } : {};
    const call = this.startCall(callee, reg, procedure, null, 0, settle, false, false, timeout);
    this.sendInvocation(call, details, kwargs ? { args, kwargs } : { args });
  }

  /** YIELD: `[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]`. */
  onYield(peer: Peer, msg: YieldMessage): void {
    const call = this.invocationOf(peer, msg.request, 'YIELD');
    if (!call) return;
    const progress = msg.options.progress === true;
    if (progress) {
      // Progressive result: only for callers that asked; restarts the timeout
      // (advanced profile "Progressive Call Results", "Timeouts").
      if (!call.receiveProgress || call.state === 'skipped') return;
      this.armTimer(call);
      const details: WampDict = { progress: true };
      copyPpt(msg.options, details);
      this.toCaller(call, details, payloadOf(msg), true);
      return;
    }
    const details: WampDict = {};
    copyPpt(msg.options, details);
    this.finish(call, { details, ...payloadOf(msg) });
  }

  /** ERROR for an INVOCATION: forwarded to the caller as ERROR for its CALL. */
  onInvocationError(peer: Peer, msg: ErrorMessage): void {
    const call = this.invocationOf(peer, msg.request, 'ERROR');
    if (!call) return;
    this.finish(call, { error: msg.error, details: msg.details, ...payloadOf(msg) });
  }

  /**
   * The call of an INVOCATION.Request. A request ID the dealer never issued is a
   * protocol violation ("Receiving YIELD message with invalid INVOCATION.Request");
   * one that was issued but is no longer in flight (canceled, timed out) is
   * silently dropped, as cancel modes require.
   */
  private invocationOf(peer: Peer, request: number, what: string): Call | undefined {
    const call = peer.invocations.get(request);
    if (call) return call;
    if (request > peer.invocationIds.current) throw protocolViolation(`${what} for INVOCATION.Request ${request}, never issued`);
    return undefined;
  }

  /** CANCEL: `[CANCEL, CALL.Request|id, Options|dict]` (advanced profile "Call Canceling"). */
  cancel(peer: Peer, msg: CancelMessage): void {
    const call = peer.calls.get(msg.request);
    if (!call || call.state !== 'active') return; // already answered: nothing to cancel
    const requested = CANCEL_MODES.has(msg.options.mode) ? (msg.options.mode as string) : 'killnowait';
    // "If the callee does not support call canceling, then behavior is skip."
    const mode = call.callee.calleeCancels ? requested : 'skip';
    this.interrupt(call, mode, WampUri.CANCELED);
  }

  private interrupt(call: Call, mode: string, error: string): void {
    this.clearTimer(call);
    if (mode === 'kill') {
      call.state = 'killing';
      call.callee.send({ type: MessageType.INTERRUPT, request: call.invocation, options: { mode: 'kill' } });
      return;
    }
    if (mode === 'killnowait') {
      call.callee.send({ type: MessageType.INTERRUPT, request: call.invocation, options: { mode: 'killnowait', reason: error } });
      this.finish(call, { error, args: [error === WampUri.TIMEOUT ? 'call timed out' : 'call canceled'] });
      return;
    }
    // skip: the caller gets its ERROR now; the invocation stays on the callee
    // (and counts against its concurrency) until it answers or leaves.
    this.toCaller(call, undefined, undefined, false, {
      error,
      args: [error === WampUri.TIMEOUT ? 'call timed out' : 'call canceled'],
    });
    if (call.caller) call.caller.calls.delete(call.request);
    call.state = 'skipped';
  }

  /** The caller or the callee left: clean up its calls and invocations. */
  sessionGone(peer: Peer): void {
    // As caller: "Caller Leaving" → INTERRUPT killnowait when the callee can take it.
    for (const call of [...peer.calls.values()]) {
      peer.calls.delete(call.request);
      this.clearTimer(call);
      if (call.state === 'skipped') continue;
      if (call.callee.calleeCancels && call.callee.alive) {
        call.callee.send({ type: MessageType.INTERRUPT, request: call.invocation, options: { mode: 'killnowait', reason: WampUri.CANCELED } });
        call.callee.invocations.delete(call.invocation);
      } else {
        call.state = 'skipped';
      }
    }
    // As callee: "Callee Leaving" → the caller gets wamp.error.canceled.
    for (const call of [...peer.invocations.values()]) {
      this.finish(call, { error: WampUri.CANCELED, args: ['the callee left'] });
    }
  }

  /** Ends a call: the final RESULT or ERROR to the caller (unless skipped) and forgets it everywhere. */
  private finish(
    call: Call,
    outcome: { details?: WampDict; error?: string } & WampPayload,
  ): void {
    this.clearTimer(call);
    call.callee.invocations.delete(call.invocation);
    if (call.state === 'skipped') return;
    if (call.caller) call.caller.calls.delete(call.request);
    if (outcome.error !== undefined) this.toCaller(call, undefined, undefined, false, { ...outcome, error: outcome.error });
    else this.toCaller(call, outcome.details ?? {}, outcome, false);
  }

  /** Sends RESULT (or ERROR with `err`) to the caller, or settles the router's own call. */
  private toCaller(
    call: Call,
    details: WampDict | undefined,
    payload: WampPayload | undefined,
    progress: boolean,
    err?: { error: string; details?: WampDict } & WampPayload,
  ): void {
    if (call.settle) {
      if (progress) return;
      if (err) call.settle({ error: err.error, ...(err.args ? { args: err.args } : {}), ...(err.kwargs ? { kwargs: err.kwargs } : {}) });
      else call.settle({ ...(payload?.args ? { args: payload.args } : {}), ...(payload?.kwargs ? { kwargs: payload.kwargs } : {}) });
      return;
    }
    const caller = call.caller;
    if (!caller?.alive) return;
    if (err) {
      this.realm.sendError(caller, MessageType.CALL, call.request, err.error, err.args, err.kwargs, err.details ?? {});
      return;
    }
    const result: ResultMessage = { type: MessageType.RESULT, request: call.request, details: details ?? {}, ...payload };
    if (!caller.send(result) && caller.alive) {
      // Could not serialize for the caller (e.g. a value its serializer lacks).
      this.realm.sendError(caller, MessageType.CALL, call.request, WampUri.INVALID_ARGUMENT, [
        'the result cannot be sent to the caller',
      ]);
      if (progress) this.interrupt(call, call.callee.calleeCancels ? 'killnowait' : 'skip', WampUri.CANCELED);
    }
  }

  private armTimer(call: Call): void {
    if (call.timeout <= 0) return;
    this.clearTimer(call);
    call.timer = setTimeout(() => {
      call.timer = undefined;
      if (call.state !== 'active') return;
      // Advanced profile "Call Timeouts": killnowait if the callee supports
      // canceling, else skip; the caller gets wamp.error.timeout.
      this.interrupt(call, call.callee.calleeCancels ? 'killnowait' : 'skip', WampUri.TIMEOUT);
    }, call.timeout);
  }

  private clearTimer(call: Call): void {
    if (call.timer !== undefined) {
      clearTimeout(call.timer);
      call.timer = undefined;
    }
  }

  /** Every call timer, for shutdown. */
  clearAllTimers(): void {
    for (const p of this.realm.peers.values()) for (const c of p.invocations.values()) this.clearTimer(c);
  }
}

function timeoutOf(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(v, 2 ** 31 - 1) : 0;
}

/** RegistrationDetails of the meta API. */
export function registrationDetails(r: RegistrationRecord): WampDict {
  return { id: r.id, created: r.created, uri: r.uri, match: r.match, invoke: r.invoke };
}

/**
 * WAMP v2 messages: types, validation of decoded arrays, and the canonical wire
 * arrays (WAMP basic profile "Messages"; advanced profile for CHALLENGE,
 * AUTHENTICATE, CANCEL, INTERRUPT, subscription/registration revocation and
 * payload passthru).
 *
 * Messages are plain objects discriminated by `type` (the message code), so
 * handlers read fields by name (`msg.procedure`, not `msg[3]`); {@link toWire}
 * builds the wire array with one array literal per type.
 *
 * @module
 */

import { protocolViolation } from './errors.js';
import {
  MAX_WAMP_ID,
  emptyComponentsForMatch,
  isDict,
  isList,
  isValidUri,
  toWampId,
  type EmptyComponents,
  type WampDict,
  type WampList,
} from './uri.js';

export type { WampDict, WampList } from './uri.js';

/** WAMP message type codes (basic profile "Message Codes and Direction"; advanced profile "Messages"). */
export const MessageType = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;

/** A message type name, e.g. `'CALL'`. */
export type MessageTypeName = keyof typeof MessageType;
/** A message type code, e.g. `48`. */
export type MessageTypeCode = (typeof MessageType)[MessageTypeName];

/** Message type name by code, for logs and error details. */
export const MESSAGE_TYPE_NAMES: Readonly<Record<MessageTypeCode, MessageTypeName>> = Object.freeze(
  Object.fromEntries(Object.entries(MessageType).map(([name, code]) => [code, name])) as Record<
    MessageTypeCode,
    MessageTypeName
  >,
);

/**
 * The request types an ERROR may answer (basic profile: ERROR for SUBSCRIBE,
 * UNSUBSCRIBE, PUBLISH, REGISTER, UNREGISTER, CALL, INVOCATION). An ERROR with any
 * other REQUEST.Type is a protocol error ("Receiving ERROR message with invalid
 * REQUEST.Type").
 */
export type FailableRequestType =
  | typeof MessageType.PUBLISH
  | typeof MessageType.SUBSCRIBE
  | typeof MessageType.UNSUBSCRIBE
  | typeof MessageType.CALL
  | typeof MessageType.REGISTER
  | typeof MessageType.UNREGISTER
  | typeof MessageType.INVOCATION;

const FAILABLE = new Set<number>([16, 32, 34, 48, 64, 66, 68]);

/**
 * Application payload of messages that carry one: positional `args` and keyword
 * `kwargs` (the spec's Arguments|list and ArgumentsKw|dict), or in payload
 * passthru mode an opaque `payload` in place of both (advanced profile "Payload
 * Passthru Mode": `[..., Payload|binary]`, only when the Options/Details carry
 * `ppt_scheme`, or `enc_algo` as in the older E2E encryption and the test vectors).
 */
export interface WampPayload {
  /** Arguments|list; absent when the message had none. */
  args?: WampList;
  /** ArgumentsKw|dict; only ever present together with `args`. */
  kwargs?: WampDict;
  /** Payload|binary (passthru mode); excludes `args` and `kwargs`. */
  payload?: Uint8Array;
}

/** `[HELLO, Realm|uri, Details|dict]` */
export interface HelloMessage {
  type: typeof MessageType.HELLO;
  realm: string;
  details: WampDict;
}

/** `[WELCOME, Session|id, Details|dict]` */
export interface WelcomeMessage {
  type: typeof MessageType.WELCOME;
  session: number;
  details: WampDict;
}

/** `[ABORT, Details|dict, Reason|uri, Arguments|list, ArgumentsKw|dict]` (args, kwargs optional) */
export interface AbortMessage {
  type: typeof MessageType.ABORT;
  details: WampDict;
  reason: string;
  args?: WampList;
  kwargs?: WampDict;
}

/** `[CHALLENGE, AuthMethod|string, Extra|dict]` */
export interface ChallengeMessage {
  type: typeof MessageType.CHALLENGE;
  authMethod: string;
  extra: WampDict;
}

/** `[AUTHENTICATE, Signature|string, Extra|dict]` */
export interface AuthenticateMessage {
  type: typeof MessageType.AUTHENTICATE;
  signature: string;
  extra: WampDict;
}

/** `[GOODBYE, Details|dict, Reason|uri]` */
export interface GoodbyeMessage {
  type: typeof MessageType.GOODBYE;
  details: WampDict;
  reason: string;
}

/** `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict]` */
export interface ErrorMessage extends WampPayload {
  type: typeof MessageType.ERROR;
  requestType: FailableRequestType;
  request: number;
  details: WampDict;
  error: string;
}

/** `[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]` */
export interface PublishMessage extends WampPayload {
  type: typeof MessageType.PUBLISH;
  request: number;
  options: WampDict;
  topic: string;
}

/** `[PUBLISHED, PUBLISH.Request|id, Publication|id]` */
export interface PublishedMessage {
  type: typeof MessageType.PUBLISHED;
  request: number;
  publication: number;
}

/** `[SUBSCRIBE, Request|id, Options|dict, Topic|uri]` */
export interface SubscribeMessage {
  type: typeof MessageType.SUBSCRIBE;
  request: number;
  options: WampDict;
  topic: string;
}

/** `[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]` */
export interface SubscribedMessage {
  type: typeof MessageType.SUBSCRIBED;
  request: number;
  subscription: number;
}

/** `[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]` */
export interface UnsubscribeMessage {
  type: typeof MessageType.UNSUBSCRIBE;
  request: number;
  subscription: number;
}

/**
 * `[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]`, or router-initiated (advanced profile
 * "Subscription Revocation") `[UNSUBSCRIBED, 0, Details|dict]`: `request` is 0
 * only in the form with `details`.
 */
export interface UnsubscribedMessage {
  type: typeof MessageType.UNSUBSCRIBED;
  request: number;
  details?: WampDict;
}

/** `[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, PUBLISH.Arguments|list, PUBLISH.ArgumentsKw|dict]` */
export interface EventMessage extends WampPayload {
  type: typeof MessageType.EVENT;
  subscription: number;
  publication: number;
  details: WampDict;
}

/** `[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]` */
export interface CallMessage extends WampPayload {
  type: typeof MessageType.CALL;
  request: number;
  options: WampDict;
  procedure: string;
}

/** `[CANCEL, CALL.Request|id, Options|dict]` */
export interface CancelMessage {
  type: typeof MessageType.CANCEL;
  request: number;
  options: WampDict;
}

/** `[RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list, YIELD.ArgumentsKw|dict]` */
export interface ResultMessage extends WampPayload {
  type: typeof MessageType.RESULT;
  request: number;
  details: WampDict;
}

/** `[REGISTER, Request|id, Options|dict, Procedure|uri]` */
export interface RegisterMessage {
  type: typeof MessageType.REGISTER;
  request: number;
  options: WampDict;
  procedure: string;
}

/** `[REGISTERED, REGISTER.Request|id, Registration|id]` */
export interface RegisteredMessage {
  type: typeof MessageType.REGISTERED;
  request: number;
  registration: number;
}

/** `[UNREGISTER, Request|id, REGISTERED.Registration|id]` */
export interface UnregisterMessage {
  type: typeof MessageType.UNREGISTER;
  request: number;
  registration: number;
}

/**
 * `[UNREGISTERED, UNREGISTER.Request|id]`, or router-initiated (advanced profile
 * "Registration Revocation") `[UNREGISTERED, 0, Details|dict]`: `request` is 0
 * only in the form with `details`.
 */
export interface UnregisteredMessage {
  type: typeof MessageType.UNREGISTERED;
  request: number;
  details?: WampDict;
}

/** `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, CALL.Arguments|list, CALL.ArgumentsKw|dict]` */
export interface InvocationMessage extends WampPayload {
  type: typeof MessageType.INVOCATION;
  request: number;
  registration: number;
  details: WampDict;
}

/** `[INTERRUPT, INVOCATION.Request|id, Options|dict]` */
export interface InterruptMessage {
  type: typeof MessageType.INTERRUPT;
  request: number;
  options: WampDict;
}

/** `[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]` */
export interface YieldMessage extends WampPayload {
  type: typeof MessageType.YIELD;
  request: number;
  options: WampDict;
}

/** Any WAMP v2 message, discriminated by `type`. */
export type WampMessage =
  | HelloMessage
  | WelcomeMessage
  | AbortMessage
  | ChallengeMessage
  | AuthenticateMessage
  | GoodbyeMessage
  | ErrorMessage
  | PublishMessage
  | PublishedMessage
  | SubscribeMessage
  | SubscribedMessage
  | UnsubscribeMessage
  | UnsubscribedMessage
  | EventMessage
  | CallMessage
  | CancelMessage
  | ResultMessage
  | RegisterMessage
  | RegisteredMessage
  | UnregisterMessage
  | UnregisteredMessage
  | InvocationMessage
  | InterruptMessage
  | YieldMessage;

/** Options for {@link parseMessage}. */
export interface ParseOptions {
  /**
   * Check URIs with the spec's strict rules (components only `[0-9a-z_]`).
   * Default `false`: the loose rules every peer MUST follow.
   */
  strictUris?: boolean;
  /**
   * Accept `null` in place of Arguments|list or ArgumentsKw|dict and read it
   * as absent (`[50, 7, {}, null, null]` is then a RESULT without payload).
   * Some routers send this (fox-wamp does for empty payloads). Default `false`:
   * `null` there is a protocol violation.
   */
  acceptNullPayload?: boolean;
}

// ---------------------------------------------------------------------------
// Validation

/** A short, never-throwing description of a value for error details. */
function describe(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return `number ${v}`;
    case 'bigint':
      return `bigint ${v}n`;
    case 'string':
      return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    case 'object':
      if (v === null) return 'null';
      if (Array.isArray(v)) return `list of ${v.length}`;
      if (v instanceof Uint8Array) return 'binary';
      return isDict(v) ? 'dict' : 'non-plain object';
    default:
      return typeof v;
  }
}

const MATCH_POLICIES = new Set<unknown>([undefined, 'exact', 'prefix', 'wildcard']);

/** Reads one message's fields by position; each getter throws a protocol violation. */
class Fields {
  constructor(
    private readonly raw: readonly unknown[],
    private readonly name: MessageTypeName,
    private readonly strict: boolean,
    private readonly nullPayload = false,
  ) {}

  arity(min: number, max: number, shape: string): void {
    const n = this.raw.length;
    if (n < min || n > max) {
      throw protocolViolation(
        `${this.name} must have ${min === max ? min : `${min} to ${max}`} elements (${shape}), got ${n}`,
      );
    }
  }

  id(i: number, field: string): number {
    const id = toWampId(this.raw[i]);
    if (id === undefined) {
      throw protocolViolation(`${this.name}.${field} must be an ID in [1, 2^53], got ${describe(this.raw[i])}`);
    }
    return id;
  }

  /** A dict; for Options/Details also the values of the attributes the spec types ({@link VALUE_RULES}). */
  dict(i: number, field: string): WampDict {
    const v = this.raw[i];
    if (!isDict(v)) throw protocolViolation(`${this.name}.${field} must be a dict, got ${describe(v)}`);
    if (field === 'Options' || field === 'Details') checkValues(this.name, field, v, VALUE_RULES[MessageType[this.name]]);
    return v;
  }

  string(i: number, field: string): string {
    const v = this.raw[i];
    if (typeof v !== 'string') throw protocolViolation(`${this.name}.${field} must be a string, got ${describe(v)}`);
    return v;
  }

  uri(i: number, field: string, empty: EmptyComponents = 'none'): string {
    const v = this.raw[i];
    if (!isValidUri(v, { strict: this.strict, empty })) {
      const rules = this.strict ? 'strict' : 'loose';
      throw protocolViolation(`${this.name}.${field} must be a valid URI (${rules} rules), got ${describe(v)}`);
    }
    return v;
  }

  /** Match policy of a SUBSCRIBE/REGISTER (advanced profile, pattern-based). */
  matchPolicy(options: WampDict): EmptyComponents {
    if (!MATCH_POLICIES.has(options.match)) {
      throw protocolViolation(
        `${this.name}.Options.match must be "exact", "prefix" or "wildcard", got ${describe(options.match)}`,
      );
    }
    return emptyComponentsForMatch(options.match);
  }

  /**
   * Arguments|list and ArgumentsKw|dict from position `i` on (the arity is
   * already checked), or Payload|binary in passthru mode.
   */
  payload(i: number, dict: WampDict): WampPayload {
    const raw = this.raw;
    if (raw.length <= i) return {};
    const first = raw[i];
    if (first === null && this.nullPayload) return this.nullArgs(i);
    if (isList(first)) {
      if (raw.length <= i + 1 || (raw[i + 1] === null && this.nullPayload)) return { args: first };
      return { args: first, kwargs: this.dict(i + 1, 'ArgumentsKw') };
    }
    if (first instanceof Uint8Array && isPassthru(dict)) {
      if (raw.length > i + 1) {
        throw protocolViolation(`${this.name} in payload passthru mode must end with Payload|binary`);
      }
      return { payload: first };
    }
    throw protocolViolation(`${this.name}.Arguments must be a list, got ${describe(first)}`);
  }

  /** Arguments|list and ArgumentsKw|dict, never passthru (ABORT). */
  argsOnly(i: number): { args?: WampList; kwargs?: WampDict } {
    const raw = this.raw;
    if (raw.length <= i) return {};
    const first = raw[i];
    if (first === null && this.nullPayload) return this.nullArgs(i);
    if (!isList(first)) throw protocolViolation(`${this.name}.Arguments must be a list, got ${describe(first)}`);
    if (raw.length <= i + 1 || (raw[i + 1] === null && this.nullPayload)) return { args: first };
    return { args: first, kwargs: this.dict(i + 1, 'ArgumentsKw') };
  }

  /** `null` Arguments (with `acceptNullPayload`): absent, or `[]` when ArgumentsKw follows. */
  private nullArgs(i: number): { args?: WampList; kwargs?: WampDict } {
    if (this.raw.length <= i + 1 || this.raw[i + 1] === null) return {};
    return { args: [], kwargs: this.dict(i + 1, 'ArgumentsKw') };
  }

  /** Request of UNSUBSCRIBED/UNREGISTERED: 0 allowed only with Details (revocation). */
  revocable(): { request: number; details?: WampDict } {
    if (this.raw.length === 2) return { request: this.id(1, 'Request') };
    const details = this.dict(2, 'Details');
    if (this.raw[1] === 0) return { request: 0, details };
    return { request: this.id(1, 'Request'), details };
  }
}

// ---------------------------------------------------------------------------
// Options and Details values

/** A check of one Options/Details value, and what it expects (for the error detail). */
interface ValueRule {
  ok: (v: unknown) => boolean;
  expected: string;
}

const isString = (v: unknown): boolean => typeof v === 'string';
const isStringList = (v: unknown): boolean => isList(v) && v.every(isString);
const isId = (v: unknown): boolean => toWampId(v) !== undefined;

const BOOL: ValueRule = { ok: (v) => typeof v === 'boolean', expected: 'a bool' };
const STRING: ValueRule = { ok: isString, expected: 'a string' };
const DICT: ValueRule = { ok: isDict, expected: 'a dict' };
const ID: ValueRule = { ok: isId, expected: 'an ID in [1, 2^53]' };
const URI: ValueRule = { ok: (v) => isValidUri(v), expected: 'a URI' };
const ID_LIST: ValueRule = { ok: (v) => isList(v) && v.every(isId), expected: 'a list of IDs' };
const STRING_LIST: ValueRule = { ok: isStringList, expected: 'a list of strings' };
/** Milliseconds (advanced profile "Call Timeouts": `timeout|integer`, 0 = none). */
const MILLIS: ValueRule = {
  ok: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_WAMP_ID) || (typeof v === 'bigint' && v >= 0n),
  expected: 'a non-negative integer',
};
const POSITIVE_INT: ValueRule = {
  ok: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_WAMP_ID,
  expected: 'a positive integer',
};
const oneOf = (...values: string[]): ValueRule => ({
  ok: (v) => typeof v === 'string' && values.includes(v),
  expected: values.map((x) => `"${x}"`).join(', ').replace(/, ([^,]*)$/, ' or $1'),
});
/**
 * `forward_for|list[dict]` (router-to-router links): each entry names the
 * session a message was forwarded for, `{session|id, authid|string, authrole|string}`.
 */
const FORWARD_FOR: ValueRule = {
  ok: (v) =>
    isList(v) && v.every((e) => isDict(e) && isId(e.session) && isString(e.authid) && isString(e.authrole)),
  expected: 'a list of {session, authid, authrole}',
};
/**
 * End-to-end encryption's `enc_algo` (the older form of payload passthru, as in
 * the test vectors and Autobahn): a standard identifier or a custom `x_` one.
 */
const ENC_ALGO: ValueRule = {
  ok: (v) => typeof v === 'string' && (['cryptobox', 'mqtt', 'xbr'].includes(v) || v.startsWith('x_')),
  expected: '"cryptobox", "mqtt", "xbr" or "x_..."',
};

/** Payload passthru / E2E attributes (advanced profile, "Payload Passthru Mode"). */
const PASSTHRU: Record<string, ValueRule> = {
  ppt_scheme: STRING,
  ppt_serializer: STRING,
  ppt_cipher: STRING,
  ppt_keyid: STRING,
  enc_algo: ENC_ALGO,
  enc_serializer: STRING,
  enc_key: STRING,
};
const IDENTIFY = (who: 'caller' | 'callee' | 'publisher'): Record<string, ValueRule> => ({
  [who]: ID,
  [`${who}_authid`]: STRING,
  [`${who}_authrole`]: STRING,
});

/**
 * The Options/Details attributes the spec gives a type, per message type and
 * dict. Attributes not listed (custom `x_` keys, router-specific extras) pass
 * through untouched; `null` or `undefined` reads as "not given" (MessagePack
 * and CBOR encoders write a JavaScript `undefined` that way). A value of the
 * wrong type is a protocol violation, as in Autobahn|Python and the wamp-proto
 * test vectors. SUBSCRIBE/REGISTER `match` is checked with the topic/procedure
 * (it decides the URI rules); REGISTER `invoke` is checked only for its type:
 * an unknown policy fails the registration (ERROR `wamp.error.invalid_argument`
 * from the dealer), it does not end the session.
 */
const VALUE_RULES: Partial<Record<MessageTypeCode, Map<string, ValueRule>>> = Object.fromEntries(
  (
    [
      [MessageType.HELLO, { roles: DICT, authmethods: STRING_LIST, authid: STRING, authrole: STRING, authextra: DICT, agent: STRING, resumable: BOOL }],
      [
        MessageType.WELCOME,
        { roles: DICT, authid: STRING, authrole: STRING, authmethod: STRING, authprovider: STRING, authextra: DICT, agent: STRING, realm: STRING, resumed: BOOL, resumable: BOOL, resume_token: STRING },
      ],
      [MessageType.ABORT, { message: STRING }],
      [MessageType.GOODBYE, { message: STRING, resumable: BOOL }],
      [MessageType.ERROR, { ...IDENTIFY('callee'), forward_for: FORWARD_FOR, ...PASSTHRU }],
      [
        MessageType.PUBLISH,
        {
          acknowledge: BOOL,
          exclude_me: BOOL,
          disclose_me: BOOL,
          retain: BOOL,
          exclude: ID_LIST,
          exclude_authid: STRING_LIST,
          exclude_authrole: STRING_LIST,
          eligible: ID_LIST,
          eligible_authid: STRING_LIST,
          eligible_authrole: STRING_LIST,
          transaction_hash: STRING,
          forward_for: FORWARD_FOR,
          ...PASSTHRU,
        },
      ],
      [MessageType.SUBSCRIBE, { get_retained: BOOL, forward_for: FORWARD_FOR }],
      [MessageType.UNSUBSCRIBED, { subscription: ID, reason: URI }],
      [
        MessageType.EVENT,
        { ...IDENTIFY('publisher'), topic: URI, retained: BOOL, transaction_hash: STRING, x_acknowledged_delivery: BOOL, forward_for: FORWARD_FOR, ...PASSTHRU },
      ],
      [
        MessageType.CALL,
        { timeout: MILLIS, receive_progress: BOOL, progress: BOOL, disclose_me: BOOL, transaction_hash: STRING, rkey: STRING, ...IDENTIFY('caller'), forward_for: FORWARD_FOR, ...PASSTHRU },
      ],
      [MessageType.CANCEL, { mode: oneOf('skip', 'kill', 'killnowait'), forward_for: FORWARD_FOR }],
      [MessageType.RESULT, { progress: BOOL, ...IDENTIFY('callee'), forward_for: FORWARD_FOR, ...PASSTHRU }],
      [
        MessageType.REGISTER,
        { invoke: STRING, concurrency: POSITIVE_INT, disclose_caller: BOOL, force_reregister: BOOL, forward_timeout: BOOL, forward_for: FORWARD_FOR },
      ],
      [MessageType.UNREGISTERED, { registration: ID, reason: URI }],
      [
        MessageType.INVOCATION,
        { timeout: MILLIS, receive_progress: BOOL, progress: BOOL, ...IDENTIFY('caller'), procedure: URI, transaction_hash: STRING, forward_for: FORWARD_FOR, ...PASSTHRU },
      ],
      [MessageType.INTERRUPT, { mode: oneOf('kill', 'killnowait'), reason: URI, forward_for: FORWARD_FOR }],
      [MessageType.YIELD, { progress: BOOL, ...IDENTIFY('callee'), forward_for: FORWARD_FOR, ...PASSTHRU }],
    ] as [MessageTypeCode, Record<string, ValueRule>][]
  ).map(([code, rules]) => [code, new Map(Object.entries(rules))]),
);

/** Checks the attributes of an Options/Details dict that the spec types (see VALUE_RULES). */
function checkValues(name: MessageTypeName, field: string, dict: WampDict, rules: Map<string, ValueRule> | undefined): void {
  if (rules === undefined) return;
  for (const key in dict) {
    const rule = rules.get(key);
    if (rule === undefined) continue;
    const v = dict[key];
    if (v === null || v === undefined || rule.ok(v)) continue;
    throw protocolViolation(`${name}.${field}.${key} must be ${rule.expected}, got ${describe(v)}`);
  }
}

/** Whether Options/Details select payload passthru mode (`ppt_scheme`, or `enc_algo` as in the test vectors). */
function isPassthru(dict: WampDict): boolean {
  return typeof dict.ppt_scheme === 'string' || typeof dict.enc_algo === 'string';
}

/** Copies the present payload fields onto a message (absent ones stay absent). */
function withPayload<T extends object>(msg: T, p: WampPayload): T & WampPayload {
  const out: T & WampPayload = msg;
  if (p.args !== undefined) out.args = p.args;
  if (p.kwargs !== undefined) out.kwargs = p.kwargs;
  if (p.payload !== undefined) out.payload = p.payload;
  return out;
}

const ARGS = 'Arguments|list, ArgumentsKw|dict';

/**
 * Validates a decoded WAMP message (the array a serializer produced) and returns
 * it as a typed {@link WampMessage}.
 *
 * Checks that the type code is known, the arity is allowed, every field has its
 * type (IDs integers in [1, 2^53], dicts plain objects, lists arrays, URIs valid
 * under the chosen rules, with empty components only for prefix/wildcard
 * SUBSCRIBE/REGISTER), that an ERROR answers a request type that can fail, and
 * that ArgumentsKw only follows Arguments. In Options and Details, the
 * attributes the spec gives a type (`acknowledge|bool`, `exclude|list[id]`,
 * `timeout|integer`, `match`, `mode`, `forward_for`, ...) must have it; other
 * attributes are passed through untouched.
 *
 * The returned message shares its dicts and lists with `raw` (no copies).
 *
 * @param raw - the decoded value (anything)
 * @param opts - URI strictness
 * @returns the message
 * @throws {@link WampProtocolError} (code `WAMP_ERR_PROTOCOL_VIOLATION`) on anything
 *   invalid; never any other error, whatever `raw` is.
 */
export function parseMessage(raw: unknown, opts: ParseOptions = {}): WampMessage {
  if (!Array.isArray(raw)) throw protocolViolation(`a message must be a list, got ${describe(raw)}`);
  if (raw.length === 0) throw protocolViolation('a message must not be an empty list');
  const code: unknown = raw[0];
  const name = typeof code === 'number' ? MESSAGE_TYPE_NAMES[code as MessageTypeCode] : undefined;
  if (name === undefined) {
    throw protocolViolation(`unknown message type ${describe(code)}`);
  }
  const f = new Fields(raw, name, opts.strictUris === true, opts.acceptNullPayload === true);

  switch (code as MessageTypeCode) {
    case MessageType.HELLO:
      f.arity(3, 3, '[HELLO, Realm|uri, Details|dict]');
      return { type: MessageType.HELLO, realm: f.uri(1, 'Realm'), details: f.dict(2, 'Details') };

    case MessageType.WELCOME:
      f.arity(3, 3, '[WELCOME, Session|id, Details|dict]');
      return { type: MessageType.WELCOME, session: f.id(1, 'Session'), details: f.dict(2, 'Details') };

    case MessageType.ABORT: {
      f.arity(3, 5, `[ABORT, Details|dict, Reason|uri, ${ARGS}]`);
      const msg: AbortMessage = { type: MessageType.ABORT, details: f.dict(1, 'Details'), reason: f.uri(2, 'Reason') };
      return withPayload(msg, f.argsOnly(3));
    }

    case MessageType.CHALLENGE:
      f.arity(3, 3, '[CHALLENGE, AuthMethod|string, Extra|dict]');
      return { type: MessageType.CHALLENGE, authMethod: f.string(1, 'AuthMethod'), extra: f.dict(2, 'Extra') };

    case MessageType.AUTHENTICATE:
      f.arity(3, 3, '[AUTHENTICATE, Signature|string, Extra|dict]');
      return { type: MessageType.AUTHENTICATE, signature: f.string(1, 'Signature'), extra: f.dict(2, 'Extra') };

    case MessageType.GOODBYE:
      f.arity(3, 3, '[GOODBYE, Details|dict, Reason|uri]');
      return { type: MessageType.GOODBYE, details: f.dict(1, 'Details'), reason: f.uri(2, 'Reason') };

    case MessageType.ERROR: {
      f.arity(5, 7, `[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, ${ARGS}]`);
      const requestType: unknown = raw[1];
      // Basic profile, "Protocol Errors": "Receiving ERROR message with invalid REQUEST.Type".
      if (typeof requestType !== 'number' || !FAILABLE.has(requestType)) {
        throw protocolViolation(
          `ERROR.REQUEST.Type must be PUBLISH, SUBSCRIBE, UNSUBSCRIBE, CALL, REGISTER, UNREGISTER or INVOCATION, got ${describe(requestType)}`,
        );
      }
      const details = f.dict(3, 'Details');
      const msg: ErrorMessage = {
        type: MessageType.ERROR,
        requestType: requestType as FailableRequestType,
        request: f.id(2, 'REQUEST.Request'),
        details,
        error: f.uri(4, 'Error'),
      };
      return withPayload(msg, f.payload(5, details));
    }

    case MessageType.PUBLISH: {
      f.arity(4, 6, `[PUBLISH, Request|id, Options|dict, Topic|uri, ${ARGS}]`);
      const options = f.dict(2, 'Options');
      const msg: PublishMessage = {
        type: MessageType.PUBLISH,
        request: f.id(1, 'Request'),
        options,
        topic: f.uri(3, 'Topic'),
      };
      return withPayload(msg, f.payload(4, options));
    }

    case MessageType.PUBLISHED:
      f.arity(3, 3, '[PUBLISHED, PUBLISH.Request|id, Publication|id]');
      return { type: MessageType.PUBLISHED, request: f.id(1, 'Request'), publication: f.id(2, 'Publication') };

    case MessageType.SUBSCRIBE: {
      f.arity(4, 4, '[SUBSCRIBE, Request|id, Options|dict, Topic|uri]');
      const options = f.dict(2, 'Options');
      return {
        type: MessageType.SUBSCRIBE,
        request: f.id(1, 'Request'),
        options,
        topic: f.uri(3, 'Topic', f.matchPolicy(options)),
      };
    }

    case MessageType.SUBSCRIBED:
      f.arity(3, 3, '[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]');
      return { type: MessageType.SUBSCRIBED, request: f.id(1, 'Request'), subscription: f.id(2, 'Subscription') };

    case MessageType.UNSUBSCRIBE:
      f.arity(3, 3, '[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]');
      return { type: MessageType.UNSUBSCRIBE, request: f.id(1, 'Request'), subscription: f.id(2, 'Subscription') };

    case MessageType.UNSUBSCRIBED:
      f.arity(2, 3, '[UNSUBSCRIBED, UNSUBSCRIBE.Request|id] or [UNSUBSCRIBED, 0, Details|dict]');
      return { type: MessageType.UNSUBSCRIBED, ...f.revocable() };

    case MessageType.EVENT: {
      f.arity(4, 6, `[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, ${ARGS}]`);
      const details = f.dict(3, 'Details');
      const msg: EventMessage = {
        type: MessageType.EVENT,
        subscription: f.id(1, 'Subscription'),
        publication: f.id(2, 'Publication'),
        details,
      };
      return withPayload(msg, f.payload(4, details));
    }

    case MessageType.CALL: {
      f.arity(4, 6, `[CALL, Request|id, Options|dict, Procedure|uri, ${ARGS}]`);
      const options = f.dict(2, 'Options');
      const msg: CallMessage = {
        type: MessageType.CALL,
        request: f.id(1, 'Request'),
        options,
        procedure: f.uri(3, 'Procedure'),
      };
      return withPayload(msg, f.payload(4, options));
    }

    case MessageType.CANCEL:
      f.arity(3, 3, '[CANCEL, CALL.Request|id, Options|dict]');
      return { type: MessageType.CANCEL, request: f.id(1, 'Request'), options: f.dict(2, 'Options') };

    case MessageType.RESULT: {
      f.arity(3, 5, `[RESULT, CALL.Request|id, Details|dict, ${ARGS}]`);
      const details = f.dict(2, 'Details');
      const msg: ResultMessage = { type: MessageType.RESULT, request: f.id(1, 'Request'), details };
      return withPayload(msg, f.payload(3, details));
    }

    case MessageType.REGISTER: {
      f.arity(4, 4, '[REGISTER, Request|id, Options|dict, Procedure|uri]');
      const options = f.dict(2, 'Options');
      return {
        type: MessageType.REGISTER,
        request: f.id(1, 'Request'),
        options,
        procedure: f.uri(3, 'Procedure', f.matchPolicy(options)),
      };
    }

    case MessageType.REGISTERED:
      f.arity(3, 3, '[REGISTERED, REGISTER.Request|id, Registration|id]');
      return { type: MessageType.REGISTERED, request: f.id(1, 'Request'), registration: f.id(2, 'Registration') };

    case MessageType.UNREGISTER:
      f.arity(3, 3, '[UNREGISTER, Request|id, REGISTERED.Registration|id]');
      return { type: MessageType.UNREGISTER, request: f.id(1, 'Request'), registration: f.id(2, 'Registration') };

    case MessageType.UNREGISTERED:
      f.arity(2, 3, '[UNREGISTERED, UNREGISTER.Request|id] or [UNREGISTERED, 0, Details|dict]');
      return { type: MessageType.UNREGISTERED, ...f.revocable() };

    case MessageType.INVOCATION: {
      f.arity(4, 6, `[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, ${ARGS}]`);
      const details = f.dict(3, 'Details');
      const msg: InvocationMessage = {
        type: MessageType.INVOCATION,
        request: f.id(1, 'Request'),
        registration: f.id(2, 'Registration'),
        details,
      };
      return withPayload(msg, f.payload(4, details));
    }

    case MessageType.INTERRUPT:
      f.arity(3, 3, '[INTERRUPT, INVOCATION.Request|id, Options|dict]');
      return { type: MessageType.INTERRUPT, request: f.id(1, 'Request'), options: f.dict(2, 'Options') };

    case MessageType.YIELD: {
      f.arity(3, 5, `[YIELD, INVOCATION.Request|id, Options|dict, ${ARGS}]`);
      const options = f.dict(2, 'Options');
      const msg: YieldMessage = { type: MessageType.YIELD, request: f.id(1, 'Request'), options };
      return withPayload(msg, f.payload(3, options));
    }
  }
}

// ---------------------------------------------------------------------------
// Encoding

/**
 * Appends the payload in canonical form: Payload|binary alone in passthru mode;
 * else Arguments when present (as `[]` when only kwargs are given), ArgumentsKw
 * only when non-empty — trailing empty kwargs are omitted as autobahn does.
 */
function pushPayload(out: unknown[], p: WampPayload): unknown[] {
  if (p.payload !== undefined) {
    out.push(p.payload);
    return out;
  }
  const hasKwargs = p.kwargs !== undefined && Object.keys(p.kwargs).length > 0;
  if (p.args !== undefined || hasKwargs) out.push(p.args ?? []);
  if (hasKwargs) out.push(p.kwargs);
  return out;
}

/**
 * The canonical wire array of a message, ready for a serializer.
 *
 * Optional trailing fields are omitted when absent (Arguments, ArgumentsKw,
 * UNSUBSCRIBED/UNREGISTERED Details); an empty `kwargs` is omitted too, so
 * `toWire(parseMessage(x))` equals `x` for every canonical `x`.
 *
 * @param msg - the message
 * @returns `[type, ...fields]`
 */
export function toWire(msg: WampMessage): unknown[] {
  switch (msg.type) {
    case MessageType.HELLO:
      return [msg.type, msg.realm, msg.details];
    case MessageType.WELCOME:
      return [msg.type, msg.session, msg.details];
    case MessageType.ABORT:
      return pushPayload([msg.type, msg.details, msg.reason], msg);
    case MessageType.CHALLENGE:
      return [msg.type, msg.authMethod, msg.extra];
    case MessageType.AUTHENTICATE:
      return [msg.type, msg.signature, msg.extra];
    case MessageType.GOODBYE:
      return [msg.type, msg.details, msg.reason];
    case MessageType.ERROR:
      return pushPayload([msg.type, msg.requestType, msg.request, msg.details, msg.error], msg);
    case MessageType.PUBLISH:
      return pushPayload([msg.type, msg.request, msg.options, msg.topic], msg);
    case MessageType.PUBLISHED:
      return [msg.type, msg.request, msg.publication];
    case MessageType.SUBSCRIBE:
      return [msg.type, msg.request, msg.options, msg.topic];
    case MessageType.SUBSCRIBED:
      return [msg.type, msg.request, msg.subscription];
    case MessageType.UNSUBSCRIBE:
      return [msg.type, msg.request, msg.subscription];
    case MessageType.UNSUBSCRIBED:
    case MessageType.UNREGISTERED:
      return msg.details === undefined ? [msg.type, msg.request] : [msg.type, msg.request, msg.details];
    case MessageType.EVENT:
      return pushPayload([msg.type, msg.subscription, msg.publication, msg.details], msg);
    case MessageType.CALL:
      return pushPayload([msg.type, msg.request, msg.options, msg.procedure], msg);
    case MessageType.CANCEL:
      return [msg.type, msg.request, msg.options];
    case MessageType.RESULT:
      return pushPayload([msg.type, msg.request, msg.details], msg);
    case MessageType.REGISTER:
      return [msg.type, msg.request, msg.options, msg.procedure];
    case MessageType.REGISTERED:
      return [msg.type, msg.request, msg.registration];
    case MessageType.UNREGISTER:
      return [msg.type, msg.request, msg.registration];
    case MessageType.INVOCATION:
      return pushPayload([msg.type, msg.request, msg.registration, msg.details], msg);
    case MessageType.INTERRUPT:
      return [msg.type, msg.request, msg.options];
    case MessageType.YIELD:
      return pushPayload([msg.type, msg.request, msg.options], msg);
  }
}

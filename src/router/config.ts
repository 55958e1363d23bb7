/**
 * The router's configuration file (`router.json`): its shape, its defaults,
 * and a validator whose errors name the offending key by its full path
 * (`realms[0].roles[1].permissions[0].match must be one of …`) and suggest the
 * key that was probably meant for an unknown one.
 *
 * Node only (reads files).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RealmConfig, SessionLimits } from './options.js';

/** Credentials source per auth method: static principals or a dynamic authenticator procedure. */
export type AuthSourceFile<P> =
  | { type: 'static'; principals: Record<string, P> }
  | { type: 'dynamic'; authenticator: string; authenticatorRealm?: string };

/** A SCRAM principal as Crossbar stores it. */
export interface ScramPrincipalFile {
  role: string;
  kdf: string;
  iterations: number;
  memory?: number;
  salt: string;
  'stored-key': string;
  'server-key': string;
}

/**
 * Authentication section of the config file. Without it, anonymous access is
 * on (role `anonymous`); with it, exactly the methods listed are enabled.
 */
export interface AuthFileConfig {
  /** Anonymous access (default on, role `anonymous`); `false` turns it off. */
  anonymous?: false | { type: 'static'; role?: string } | { type: 'dynamic'; authenticator: string; authenticatorRealm?: string };
  ticket?: AuthSourceFile<{ ticket: string; role: string }>;
  wampcra?: AuthSourceFile<{ secret: string; role: string; salt?: string; iterations?: number; keylen?: number }>;
  cryptosign?: AuthSourceFile<{ authorized_keys: string[]; role: string }>;
  /** Autobahn/Crossbar's SCRAM (authmethod `scram`); principals in Crossbar's shape: kdf, iterations, memory, salt, stored-key, server-key. */
  scram?: AuthSourceFile<ScramPrincipalFile>;
  /** The spec's WAMP-SCRAM (authmethod `wamp-scram`), same principal shape. */
  'wamp-scram'?: AuthSourceFile<ScramPrincipalFile>;
}

/** The whole config file; every key optional. */
export interface RouterConfigFile {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port. Default 8080. */
  port?: number;
  /** TLS: paths of PEM files (relative to the config file). */
  tls?: { key: string; cert: string; ca?: string };
  /** Extra RawSocket listeners on Unix socket paths. */
  unixPaths?: string[];
  websocket?:
    | false
    | {
        path?: string | string[];
        protocols?: string[];
        perMessageDeflate?: boolean;
        maxMessageSize?: number;
        heartbeat?: { interval: number; timeout: number };
      };
  rawsocket?: false | { serializers?: Array<'json' | 'msgpack' | 'cbor'>; maxMessageSize?: number };
  /** Directory served at `/` (relative to the config file); `false` for none. Default: the demo. */
  static?: string | false;
  /** Run the demo's backend (counter, board, chat history) in realm `realm1`. Default true when `static` is the demo. */
  demo?: boolean;
  /** Realms. Default `[{ "name": "realm1" }]` (open). */
  realms?: RealmConfig[];
  /** Create unknown realms on demand (open). Default false. */
  autoCreateRealms?: boolean;
  auth?: AuthFileConfig;
  limits?: Partial<SessionLimits>;
}

/** A config that failed validation; `message` names the key. */
export class ConfigError extends Error {
  /** Stable code. */
  readonly code = 'ROUTER_ERR_CONFIG';
  /** Path of the bad key, e.g. `realms[0].name` (empty for the whole file). */
  readonly path: string;
  constructor(source: string, path: string, problem: string) {
    super(`${source}: ${path === '' ? 'the config' : path} ${problem}`);
    this.name = 'ConfigError';
    this.path = path;
  }
}

// ----------------------------------------------------------------- schema

type Schema =
  | { kind: 'string'; nonEmpty?: boolean }
  | { kind: 'number'; min?: number; integer?: boolean; max?: number }
  | { kind: 'boolean' }
  | { kind: 'false' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'array'; of: Schema; nonEmpty?: boolean }
  | { kind: 'object'; props: Record<string, Schema>; required?: readonly string[] }
  | { kind: 'record'; of: Schema }
  | { kind: 'tagged'; tag: string; variants: Record<string, Schema & { kind: 'object' }> }
  | { kind: 'oneOf'; options: readonly Schema[]; describe: string };

const str: Schema = { kind: 'string', nonEmpty: true };
const anyStr: Schema = { kind: 'string' };
const bool: Schema = { kind: 'boolean' };
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Schema => ({ kind: 'number', integer: true, min, max });
const obj = (props: Record<string, Schema>, required: readonly string[] = []): Schema & { kind: 'object' } => ({
  kind: 'object',
  props,
  required,
});
const serializerIds: Schema = { kind: 'enum', values: ['json', 'msgpack', 'cbor'] };
const dynamic = obj({ type: str, authenticator: str, authenticatorRealm: str }, ['authenticator']);
const authSource = (principal: Schema): Schema => ({
  kind: 'tagged',
  tag: 'type',
  variants: { static: obj({ type: str, principals: { kind: 'record', of: principal } }, ['principals']), dynamic },
});

const permission = obj(
  {
    uri: anyStr,
    match: { kind: 'enum', values: ['exact', 'prefix', 'wildcard'] },
    allow: obj({ call: bool, register: bool, publish: bool, subscribe: bool }),
    disclose: obj({ caller: bool, publisher: bool }),
  },
  ['uri'],
);
const disclosePolicy: Schema = { kind: 'enum', values: ['allow', 'force', 'deny'] };
const realm = obj(
  {
    name: str,
    roles: { kind: 'array', of: obj({ name: str, permissions: { kind: 'array', of: permission }, authorizer: str }, ['name']) },
    disclose: obj({ caller: disclosePolicy, publisher: disclosePolicy }),
    maxRetained: int(0),
  },
  ['name'],
);
const limits = obj({
  maxPendingCalls: int(1),
  maxConcurrentInvocations: int(1),
  maxSubscriptions: int(1),
  maxRegistrations: int(1),
  maxTestaments: int(0),
  eventDropBytes: int(0),
  maxBufferedBytes: int(1024),
  maxQueuedMessages: int(1),
  helloTimeout: int(1),
  authTimeout: int(1),
  goodbyeTimeout: int(1),
  internalCallTimeout: int(1),
});
const heartbeat = obj({ interval: int(1), timeout: int(1) }, ['interval', 'timeout']);

const scramPrincipal = obj(
  {
    role: str,
    kdf: { kind: 'enum', values: ['argon2id13', 'argon2id-13', 'pbkdf2'] },
    iterations: int(1),
    memory: int(1),
    salt: str,
    'stored-key': str,
    'server-key': str,
  },
  ['role', 'kdf', 'iterations', 'salt', 'stored-key', 'server-key'],
);

const CONFIG_SCHEMA = obj({
  host: str,
  port: int(0, 65535),
  tls: obj({ key: str, cert: str, ca: str }, ['key', 'cert']),
  unixPaths: { kind: 'array', of: str },
  websocket: {
    kind: 'oneOf',
    describe: 'false or an object',
    options: [
      { kind: 'false' },
      obj({
        path: { kind: 'oneOf', describe: 'a path or a list of paths', options: [str, { kind: 'array', of: str, nonEmpty: true }] },
        protocols: { kind: 'array', of: { kind: 'enum', values: ['wamp.2.cbor', 'wamp.2.msgpack', 'wamp.2.json', 'wamp.2.msgpack.batched', 'wamp.2.json.batched'] }, nonEmpty: true },
        perMessageDeflate: bool,
        maxMessageSize: int(512),
        heartbeat,
      }),
    ],
  },
  rawsocket: {
    kind: 'oneOf',
    describe: 'false or an object',
    options: [{ kind: 'false' }, obj({ serializers: { kind: 'array', of: serializerIds, nonEmpty: true }, maxMessageSize: int(512, 16 * 1024 * 1024) })],
  },
  static: { kind: 'oneOf', describe: 'a directory or false', options: [str, { kind: 'false' }] },
  demo: bool,
  realms: { kind: 'array', of: realm },
  autoCreateRealms: bool,
  auth: obj({
    anonymous: {
      kind: 'oneOf',
      describe: 'false or { "type": "static" | "dynamic", … }',
      options: [{ kind: 'false' }, { kind: 'tagged', tag: 'type', variants: { static: obj({ type: str, role: str }), dynamic } }],
    },
    ticket: authSource(obj({ ticket: str, role: str }, ['ticket', 'role'])),
    wampcra: authSource(obj({ secret: str, role: str, salt: str, iterations: int(1), keylen: int(1, 1024) }, ['secret', 'role'])),
    cryptosign: authSource(obj({ authorized_keys: { kind: 'array', of: str, nonEmpty: true }, role: str }, ['authorized_keys', 'role'])),
    scram: authSource(scramPrincipal),
    'wamp-scram': authSource(scramPrincipal),
  }),
  limits,
});

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] as number;
}

function check(source: string, path: string, v: unknown, s: Schema): void {
  const fail = (problem: string): never => {
    throw new ConfigError(source, path, problem);
  };
  switch (s.kind) {
    case 'string':
      if (typeof v !== 'string') fail(`must be a string, got ${typeName(v)}`);
      if (s.nonEmpty && v === '') fail('must not be empty');
      return;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`must be a number, got ${typeName(v)}`);
      if (s.integer && !Number.isInteger(v)) fail(`must be an integer, got ${String(v)}`);
      if (s.min !== undefined && (v as number) < s.min) fail(`must be ≥ ${s.min}, got ${String(v)}`);
      if (s.max !== undefined && (v as number) > s.max) fail(`must be ≤ ${s.max}, got ${String(v)}`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail(`must be true or false, got ${typeName(v)}`);
      return;
    case 'false':
      if (v !== false) fail(`must be false, got ${typeName(v)}`);
      return;
    case 'enum':
      if (typeof v !== 'string' || !s.values.includes(v)) fail(`must be one of ${s.values.map((x) => `"${x}"`).join(', ')}, got ${typeName(v)}`);
      return;
    case 'array':
      if (!Array.isArray(v)) fail(`must be a list, got ${typeName(v)}`);
      if (s.nonEmpty && (v as unknown[]).length === 0) fail('must not be empty');
      (v as unknown[]).forEach((item, i) => check(source, `${path}[${i}]`, item, s.of));
      return;
    case 'record':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`must be an object, got ${typeName(v)}`);
      for (const [k, item] of Object.entries(v as object)) check(source, path === '' ? k : `${path}.${k}`, item, s.of);
      return;
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`must be an object, got ${typeName(v)}`);
      const o = v as Record<string, unknown>;
      const known = Object.keys(s.props);
      for (const k of Object.keys(o)) {
        if (s.props[k] !== undefined) continue;
        const best = known.map((x) => [x, distance(k.toLowerCase(), x.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
        const hint = best && best[1] <= Math.max(2, Math.floor(k.length / 3)) ? ` (did you mean "${best[0]}"?)` : '';
        throw new ConfigError(source, path === '' ? k : `${path}.${k}`, `is not a known key${hint}; known keys here: ${known.join(', ')}`);
      }
      for (const k of s.required ?? []) {
        if (o[k] === undefined) throw new ConfigError(source, path === '' ? k : `${path}.${k}`, 'is required');
      }
      for (const [k, item] of Object.entries(o)) check(source, path === '' ? k : `${path}.${k}`, item, s.props[k] as Schema);
      return;
    }
    case 'tagged': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`must be an object, got ${typeName(v)}`);
      const tag = (v as Record<string, unknown>)[s.tag];
      const variant = typeof tag === 'string' ? s.variants[tag] : undefined;
      if (!variant) {
        throw new ConfigError(source, `${path}.${s.tag}`, `must be one of ${Object.keys(s.variants).map((x) => `"${x}"`).join(', ')}, got ${tag === undefined ? 'nothing' : typeName(tag)}`);
      }
      check(source, path, v, variant);
      return;
    }
    case 'oneOf': {
      // Report against the option of the value's own shape (a list for a list…),
      // so the message says what is wrong inside it, not just "wrong type".
      const shaped = s.options.filter((o) => shapeFits(o, v));
      if (shaped.length === 1) {
        check(source, path, v, shaped[0] as Schema);
        return;
      }
      for (const option of shaped) {
        try {
          check(source, path, v, option);
          return;
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
        }
      }
      fail(`must be ${s.describe}, got ${typeName(v)}`);
    }
  }
}

function shapeFits(s: Schema, v: unknown): boolean {
  switch (s.kind) {
    case 'string':
    case 'enum':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'false':
      return v === false;
    case 'array':
      return Array.isArray(v);
    case 'object':
    case 'record':
    case 'tagged':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'oneOf':
      return s.options.some((o) => shapeFits(o, v));
  }
}

/**
 * Validates a parsed config object.
 *
 * @param value - the parsed JSON
 * @param source - name for messages (the file path)
 * @throws {@link ConfigError} naming the first bad key
 */
export function validateRouterConfig(value: unknown, source = 'config'): RouterConfigFile {
  check(source, '', value, CONFIG_SCHEMA);
  const cfg = value as RouterConfigFile;
  const names = new Set<string>();
  (cfg.realms ?? []).forEach((r, i) => {
    if (names.has(r.name)) throw new ConfigError(source, `realms[${i}].name`, `repeats realm "${r.name}"`);
    names.add(r.name);
  });
  if (cfg.websocket === false && cfg.rawsocket === false) {
    throw new ConfigError(source, 'websocket', 'and rawsocket are both false: no WAMP transport left');
  }
  return cfg;
}

/**
 * Reads and validates a config file. Relative paths inside it (tls files,
 * static directory) are resolved against the file's directory.
 *
 * @throws {@link ConfigError} for unreadable files, bad JSON (with position) or bad keys
 */
export function loadRouterConfig(file: string): RouterConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot be read: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, '', `is not valid JSON: ${(err as Error).message}`);
  }
  const cfg = validateRouterConfig(parsed, file);
  const base = dirname(resolve(file));
  if (cfg.tls) {
    cfg.tls = {
      key: resolve(base, cfg.tls.key),
      cert: resolve(base, cfg.tls.cert),
      ...(cfg.tls.ca ? { ca: resolve(base, cfg.tls.ca) } : {}),
    };
  }
  if (typeof cfg.static === 'string') cfg.static = resolve(base, cfg.static);
  return cfg;
}

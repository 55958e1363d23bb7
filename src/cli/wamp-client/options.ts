/**
 * Command line of the WAMP client commands: positional arguments, options,
 * `--keyword NAME VALUE` pairs and the `-- CMD ARGS…` tail of `register`.
 *
 * @module
 * @internal
 */
import { transportFromUrl, type TransportDescriptor } from '../../wamp/component/transports.js';
import type { SerializerId } from '../../wamp/serializers/types.js';
import { emptyComponentsForMatch, isValidUri, type WampDict, type WampList } from '../../wamp/uri.js';

/** The client commands. */
export const CLIENT_COMMANDS = ['call', 'publish', 'subscribe', 'register', 'keygen'] as const;

/** One of {@link CLIENT_COMMANDS}. */
export type ClientCommand = (typeof CLIENT_COMMANDS)[number];

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What the command line says. */
export interface ClientArgs {
  command: ClientCommand;
  help: boolean;
  url: string;
  transport: TransportDescriptor;
  realm: string;
  serializer: SerializerId;
  authid?: string;
  authrole?: string;
  privateKey?: string;
  ticket?: string;
  secret?: string;
  /** ms: connecting, joining and (for `call`) the call. */
  timeout?: number;
  /** Reconnect attempts after a failure (Component max_retries). */
  retries: number;
  uri: string;
  args: WampList;
  kwargs: WampDict;
  times: number;
  match: 'exact' | 'prefix' | 'wildcard';
  /** `register`: the program and its arguments. */
  exec: string[];
  /** `register`: invocations run at once. */
  concurrency: number;
  /** `keygen`: where to write the private key file. */
  output?: string;
}

export const DEFAULT_URL = 'ws://127.0.0.1:8080/ws';
export const DEFAULT_REALM = 'realm1';

type Kind = 'string' | 'int' | 'flag' | 'pair';

const COMMON: Record<string, Kind> = {
  url: 'string',
  realm: 'string',
  authid: 'string',
  authrole: 'string',
  'private-key': 'string',
  ticket: 'string',
  secret: 'string',
  serializer: 'string',
  timeout: 'int',
  retries: 'int',
  help: 'flag',
};

const PER_COMMAND: Record<ClientCommand, Record<string, Kind>> = {
  call: { ...COMMON, keyword: 'pair' },
  publish: { ...COMMON, keyword: 'pair' },
  subscribe: { ...COMMON, times: 'int', match: 'string' },
  register: { ...COMMON, times: 'int', match: 'string', concurrency: 'int' },
  keygen: { output: 'string', help: 'flag' },
};

/**
 * A command-line value: JSON when it parses as JSON (`42`, `true`, `"x"`,
 * `[1,2]`, `{"a":1}`), else the string itself.
 */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Parses the arguments after the command name. @throws {@link UsageError} */
export function parseClientArgs(command: ClientCommand, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ClientArgs {
  const spec = PER_COMMAND[command];
  const raw: Record<string, string | number | boolean> = {};
  const pairs: [string, string][] = [];
  const positional: string[] = [];
  let tail: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      tail = argv.slice(i + 1);
      break;
    }
    if (a === '-h') {
      raw.help = true;
      continue;
    }
    if (!a.startsWith('--') || a.length === 2) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name} for '${command}'`);
    if (kind === 'flag') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      raw[name] = true;
      continue;
    }
    if (kind === 'pair') {
      if (eq !== -1) throw new UsageError(`--${name} takes two values: --${name} NAME VALUE`);
      const k = argv[i + 1];
      const v = argv[i + 2];
      // As argparse: an option is not taken as a value.
      if (k === undefined || v === undefined || k.startsWith('--') || v.startsWith('--')) {
        throw new UsageError(`--${name} takes two values: --${name} NAME VALUE`);
      }
      pairs.push([k, v]);
      i += 2;
      continue;
    }
    const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'int') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
      raw[name] = n;
    } else {
      raw[name] = value;
    }
  }

  const help = raw.help === true;
  const str = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const int = (k: string): number | undefined => (typeof raw[k] === 'number' ? (raw[k] as number) : undefined);

  const serializer = str('serializer') ?? 'json';
  if (serializer !== 'json' && serializer !== 'msgpack' && serializer !== 'cbor') {
    throw new UsageError(`--serializer must be json, msgpack or cbor, got '${serializer}'`);
  }
  const url = str('url') ?? (env.WAMP_URL || DEFAULT_URL);
  let transport: TransportDescriptor;
  try {
    transport = transportFromUrl(url, { serializer });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const realm = str('realm') ?? (env.WAMP_REALM || DEFAULT_REALM);
  if (!help && command !== 'keygen' && !isValidUri(realm)) throw new UsageError(`--realm '${realm}' is not a valid URI`);

  const match = str('match') ?? 'exact';
  if (match !== 'exact' && match !== 'prefix' && match !== 'wildcard') {
    throw new UsageError(`--match must be exact, prefix or wildcard, got '${match}'`);
  }

  let uri = '';
  let values: string[] = [];
  let exec: string[] = [];
  if (command !== 'keygen') {
    const [first, ...rest] = positional;
    if (first === undefined) {
      if (!help) throw new UsageError(`'${command}' needs a URI`);
    } else {
      uri = first;
      const pattern = command === 'subscribe' || command === 'register' ? match : 'exact';
      if (!isValidUri(uri, { empty: emptyComponentsForMatch(pattern) })) throw new UsageError(`'${uri}' is not a valid WAMP URI`);
    }
    if (command === 'register') {
      exec = tail ?? rest;
      if (tail && rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' before '--'`);
      if (exec.length === 0 && !help) throw new UsageError("'register' needs a command to run: register URI -- CMD [ARGS…]");
    } else if (command === 'call' || command === 'publish') {
      values = [...rest, ...(tail ?? [])];
    } else {
      const extra = rest[0] ?? tail?.[0];
      if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
    }
  } else if (positional.length > 0 || tail) {
    throw new UsageError(`unexpected argument '${positional[0] ?? '--'}'`);
  }

  const kwargs: WampDict = {};
  for (const [k, v] of pairs) kwargs[k] = parseValue(v);

  const concurrency = int('concurrency') ?? 8;
  if (concurrency < 1) throw new UsageError('--concurrency must be at least 1');
  const timeout = int('timeout');
  if (timeout !== undefined && timeout < 1) throw new UsageError('--timeout must be at least 1 (ms)');

  const out: ClientArgs = {
    command,
    help,
    url,
    transport,
    realm,
    serializer,
    retries: int('retries') ?? 0,
    uri,
    args: values.map(parseValue),
    kwargs,
    times: int('times') ?? 0,
    match,
    exec,
    concurrency,
  };
  const authid = str('authid') ?? (env.WAMP_AUTHID || undefined);
  if (authid !== undefined) out.authid = authid;
  const authrole = str('authrole');
  if (authrole !== undefined) out.authrole = authrole;
  const privateKey = str('private-key') ?? (env.WAMP_PRIVATE_KEY || undefined);
  if (privateKey !== undefined) out.privateKey = privateKey;
  const ticket = str('ticket') ?? (env.WAMP_TICKET || undefined);
  if (ticket !== undefined) out.ticket = ticket;
  const secret = str('secret') ?? (env.WAMP_SECRET || undefined);
  if (secret !== undefined) out.secret = secret;
  if (timeout !== undefined) out.timeout = timeout;
  const output = str('output');
  if (output !== undefined) out.output = output;
  return out;
}

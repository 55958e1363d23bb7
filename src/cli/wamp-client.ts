/**
 * The WAMP client commands of `autostrada` (like Autobahn's `wamp` tool):
 * `call`, `publish`, `subscribe`, `register`, `keygen`.
 *
 * Exit codes: 0 success (also `subscribe`/`register` ended by `--times`,
 * SIGINT or SIGTERM, after leaving cleanly); 1 failure (no connection, join
 * refused, the call's error, the session lost); 2 a bad command line.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { NodeComponent } from '../adapters/node/component-transports.js';
import { ApplicationError } from '../wamp/application-error.js';
import { cryptosign, ticket, wampcra } from '../wamp/auth/client.js';
import { generateKeyPair, loadPrivateKey, type CryptosignKey } from '../wamp/auth/cryptosign-key.js';
import type { ClientAuthenticator } from '../wamp/auth/types.js';
import type { ComponentOptions } from '../wamp/component/types.js';
import { serializers } from '../wamp/serializers/index.js';
import type { Session } from '../wamp/session/session.js';
import type { EventDetails, InvocationDetails } from '../wamp/session/types.js';
import type { WampDict, WampList } from '../wamp/uri.js';
import { runCommand } from './wamp-client/exec.js';
import {
  CLIENT_COMMANDS,
  DEFAULT_REALM,
  DEFAULT_URL,
  UsageError,
  parseClientArgs,
  type ClientArgs,
  type ClientCommand,
} from './wamp-client/options.js';
import { describeError, toJson, write } from './wamp-client/output.js';

export { CLIENT_COMMANDS, type ClientCommand } from './wamp-client/options.js';

const COMMON_HELP = `connection options:
  --url URL            ws://, wss://, rs://host:port, rss://host:port (RawSocket, TLS)
                       or unix:///path (default ${DEFAULT_URL}, env WAMP_URL)
  --realm REALM        realm to join (default ${DEFAULT_REALM}, env WAMP_REALM)
  --serializer NAME    json, msgpack or cbor (default json)
  --authid ID          authid to announce (env WAMP_AUTHID)
  --authrole ROLE      authrole to ask for
  --private-key KEY    cryptosign: the private key as 64 hex digits, or a key file
                       written by 'keygen --output' (env WAMP_PRIVATE_KEY)
  --ticket TICKET      ticket authentication (env WAMP_TICKET)
  --secret SECRET      WAMP-CRA authentication (env WAMP_SECRET)
  --timeout MS         limit for connecting and joining (and for 'call', the call)
  --retries N          reconnect attempts after a failure (default 0)

Values (ARGS and --keyword values) are parsed as JSON when they are JSON
(42, true, "text", [1,2], {"a":1}), else taken as strings.
Exit status: 0 success, 1 failure (connection, authentication, the call's
error, the session lost), 2 bad command line.`;

const HELP: Record<ClientCommand, string> = {
  call: `usage: autostrada call URI [ARGS...] [--keyword NAME VALUE]... [options]

Calls a procedure and prints the result as JSON on stdout: the single
positional result when there is exactly one and no keyword results, else
{"args": [...], "kwargs": {...}} (null when there is nothing).
An error prints its URI, args and kwargs on stderr and exits 1.

${COMMON_HELP}`,
  publish: `usage: autostrada publish URI [ARGS...] [--keyword NAME VALUE]... [options]

Publishes an event (acknowledged: the broker's refusal exits 1).

${COMMON_HELP}`,
  subscribe: `usage: autostrada subscribe URI [--times N] [--match exact|prefix|wildcard] [options]

Prints one JSON line per event on stdout:
{"args": [...], "kwargs": {...}, "details": {"topic": ..., "publication": ..., ...}}
Runs until N events arrived (--times), or SIGINT/SIGTERM; then leaves and exits 0.

${COMMON_HELP}`,
  register: `usage: autostrada register URI [--times N] [--match ...] [--concurrency N] [options] -- CMD [ARGS...]

Registers URI; each invocation runs CMD (no shell; looked up on PATH) with
the call in its environment: WAMP_ARGS (positional arguments, space-separated),
WAMP_KWARGS (name=value pairs, space-separated), WAMP_ARGS_JSON, WAMP_KWARGS_JSON.
Its stdout, trimmed, is the result; a non-zero exit answers the call with
autostrada.error.command_failed carrying its stderr. At most --concurrency
(default 8) runs at once. Runs until N invocations were answered (--times),
or SIGINT/SIGTERM; then leaves and exits 0.

${COMMON_HELP}`,
  keygen: `usage: autostrada keygen [--output FILE]

Generates a WAMP-cryptosign (Ed25519) key pair and prints it as Crossbar key
files do:
  public-key-ed25519: <64 hex digits>
  private-key-ed25519: <64 hex digits: the private seed>
With --output FILE the pair is written to FILE (mode 0600; never overwritten)
and only the public key is printed. Use the private key with --private-key
(or Autobahn's AuthCryptoSign(privkey=...)), the public key in the router's
authorized_keys.`,
};

/** Where the commands write; replaceable for in-process use. */
export interface ClientIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Registers SIGINT/SIGTERM handling; returns the unregister function. */
  onSignal: (handler: () => void) => () => void;
}

const PROCESS_IO: ClientIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onSignal(handler) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

/** Most bytes waiting in stdout before `subscribe` gives up on a reader that does not read. */
const MAX_STDOUT_BACKLOG = 64 * 1024 * 1024;

/**
 * Runs one client command with its arguments (those after the command name).
 *
 * @param command - one of {@link CLIENT_COMMANDS}
 * @param argv - its arguments
 * @param io - streams, environment and signal handling (default: the process's)
 * @returns the exit code
 */
export async function runClientCommand(command: string, argv: string[], io: ClientIo = PROCESS_IO): Promise<number> {
  if (!(CLIENT_COMMANDS as readonly string[]).includes(command)) {
    await write(io.stderr, `autostrada: unknown client command '${command}'\n`);
    return 2;
  }
  const cmd = command as ClientCommand;
  let args: ClientArgs;
  try {
    args = parseClientArgs(cmd, argv, io.env);
  } catch (err) {
    if (err instanceof UsageError) {
      await write(io.stderr, `autostrada ${cmd}: ${err.message}\n\n${HELP[cmd]}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    await write(io.stdout, `${HELP[cmd]}\n`);
    return 0;
  }
  if (cmd === 'keygen') return keygen(args, io);

  let authenticators: ClientAuthenticator[];
  try {
    authenticators = makeAuthenticators(args);
  } catch (err) {
    await write(io.stderr, `autostrada ${cmd}: ${describeError(err)}\n`);
    return 2;
  }
  switch (cmd) {
    case 'call':
      return call(args, authenticators, io);
    case 'publish':
      return publish(args, authenticators, io);
    case 'subscribe':
      return subscribe(args, authenticators, io);
    case 'register':
      return register(args, authenticators, io);
  }
}

// ------------------------------------------------------------------ helpers

/** The private key from --private-key: 64 hex digits, or a file holding them (a Crossbar-style key file). */
function readPrivateKey(value: string): CryptosignKey {
  const trimmed = value.trim();
  if (/^(0x)?[0-9a-f]{64}$/i.test(trimmed) || /^(0x)?[0-9a-f]{128}$/i.test(trimmed)) return loadPrivateKey(trimmed);
  let text: string;
  try {
    text = readFileSync(trimmed, 'utf8');
  } catch (err) {
    throw new Error(`--private-key is neither 64 hex digits nor a readable key file: ${(err as Error).message}`);
  }
  const tagged = /^\s*private-key-ed25519\s*:\s*([0-9a-fA-F]{64})\s*$/m.exec(text);
  const hex = tagged ? (tagged[1] as string) : text.trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`--private-key file ${trimmed} holds no private-key-ed25519 line`);
  return loadPrivateKey(hex);
}

function makeAuthenticators(args: ClientArgs): ClientAuthenticator[] {
  const idOpt = args.authid !== undefined ? { authid: args.authid } : {};
  const out: ClientAuthenticator[] = [];
  if (args.privateKey !== undefined) out.push(cryptosign(readPrivateKey(args.privateKey), idOpt));
  if (args.secret !== undefined) out.push(wampcra(args.secret, idOpt));
  if (args.ticket !== undefined) out.push(ticket(args.ticket, idOpt));
  return out;
}

function componentOptions(args: ClientArgs, authenticators: ClientAuthenticator[], extra: Partial<ComponentOptions>): ComponentOptions {
  // Exactly the serializer asked for (the Node connector would otherwise offer all three).
  const transport = 'url' in args.transport ? { ...args.transport, serializers: [serializers[args.serializer]] } : args.transport;
  return {
    transports: [transport],
    realm: args.realm,
    authenticators,
    ...(args.authid !== undefined ? { authid: args.authid } : {}),
    ...(args.authrole !== undefined ? { authrole: args.authrole } : {}),
    ...(args.timeout !== undefined ? { timeout: args.timeout, connectTimeout: args.timeout } : {}),
    agent: 'autostrada-cli',
    retry: { max_retries: args.retries, initial_retry_delay: 0.5, max_retry_delay: 10, retry_delay_growth: 1.5 },
    ...extra,
  };
}

/** Starts the component; on failure prints why and returns null. */
async function connect(component: NodeComponent, args: ClientArgs, io: ClientIo): Promise<Session | null> {
  try {
    return await component.start();
  } catch (err) {
    await write(io.stderr, `autostrada ${args.command}: cannot join realm '${args.realm}' at ${args.url}: ${describeError(err)}\n`);
    return null;
  }
}

async function printError(io: ClientIo, what: string, err: unknown): Promise<void> {
  if (err instanceof ApplicationError) {
    let text = `autostrada: ${what} failed: ${err.uri}\n`;
    if (err.args.length > 0) text += `  args: ${toJson(err.args)}\n`;
    if (Object.keys(err.kwargs).length > 0) text += `  kwargs: ${toJson(err.kwargs)}\n`;
    await write(io.stderr, text);
  } else {
    await write(io.stderr, `autostrada: ${what} failed: ${describeError(err)}\n`);
  }
}

/** Resolves with an exit code when a long-running command should end. */
function ending(): { promise: Promise<number>; end: (code: number) => void } {
  let end!: (code: number) => void;
  const promise = new Promise<number>((resolve) => {
    end = resolve;
  });
  return { promise, end };
}

// ----------------------------------------------------------------- commands

async function call(args: ClientArgs, authenticators: ClientAuthenticator[], io: ClientIo): Promise<number> {
  const component = new NodeComponent(componentOptions(args, authenticators, {}));
  const session = await connect(component, args, io);
  if (!session) return 1;
  try {
    const result = await session.call(args.uri, args.args, args.kwargs, args.timeout !== undefined ? { timeout: args.timeout } : {});
    const kw = Object.keys(result.kwargs).length > 0;
    const value = !kw && result.args.length === 1 ? result.args[0] : !kw && result.args.length === 0 ? null : { args: result.args, kwargs: result.kwargs };
    await write(io.stdout, `${toJson(value)}\n`);
    return 0;
  } catch (err) {
    await printError(io, `call ${args.uri}`, err);
    return 1;
  } finally {
    await component.stop();
  }
}

async function publish(args: ClientArgs, authenticators: ClientAuthenticator[], io: ClientIo): Promise<number> {
  const component = new NodeComponent(componentOptions(args, authenticators, {}));
  const session = await connect(component, args, io);
  if (!session) return 1;
  try {
    await session.publish(args.uri, args.args, args.kwargs, { acknowledge: true });
    return 0;
  } catch (err) {
    await printError(io, `publish ${args.uri}`, err);
    return 1;
  } finally {
    await component.stop();
  }
}

/** Runs a subscribe/register component until --times, a signal, or its end. */
async function runUntilDone(
  component: NodeComponent,
  args: ClientArgs,
  io: ClientIo,
  done: { promise: Promise<number>; end: (code: number) => void },
): Promise<number> {
  const unhook = io.onSignal(() => done.end(0));
  try {
    const session = await connect(component, args, io);
    if (!session) return 1;
    void component.done.then(async (info) => {
      if (info.reason === 'stopped') return;
      await write(io.stderr, `autostrada ${args.command}: ${info.error ? describeError(info.error) : `the session ended (${info.reason})`}\n`);
      done.end(1);
    });
    return await done.promise;
  } finally {
    unhook();
    await component.stop();
  }
}

async function subscribe(args: ClientArgs, authenticators: ClientAuthenticator[], io: ClientIo): Promise<number> {
  const done = ending();
  let seen = 0;
  const onEvent = (eventArgs: WampList, kwargs: WampDict, details: EventDetails): void => {
    if (args.times > 0 && seen >= args.times) return;
    seen++;
    const { payload: _p, ...rest } = details;
    const line = `${toJson({ args: eventArgs, kwargs, details: rest })}\n`;
    const backlog = (io.stdout as { writableLength?: number }).writableLength ?? 0;
    if (backlog > MAX_STDOUT_BACKLOG) {
      void write(io.stderr, `autostrada subscribe: stdout is not being read (${backlog} bytes waiting); stopping\n`);
      done.end(1);
      return;
    }
    io.stdout.write(line);
    if (args.times > 0 && seen >= args.times) done.end(0);
  };
  const component = new NodeComponent(
    componentOptions(args, authenticators, {
      subscriptions: { [args.uri]: { handler: onEvent, options: { match: args.match } } },
      onJoin: (s) => void write(io.stderr, `autostrada: subscribed to ${args.uri} (session ${s.id})\n`),
    }),
  );
  const code = await runUntilDone(component, args, io, done);
  // Flush what was printed before leaving.
  await write(io.stdout, '');
  return code;
}

async function register(args: ClientArgs, authenticators: ClientAuthenticator[], io: ClientIo): Promise<number> {
  const done = ending();
  let answered = 0;
  const handler = async (callArgs: WampList, kwargs: WampDict, details: InvocationDetails): Promise<string> => {
    try {
      return await runCommand(args.exec, callArgs, kwargs, details.signal);
    } catch (err) {
      if (err instanceof ApplicationError) {
        void write(io.stderr, `autostrada: ${args.exec[0]} failed: ${describeError(err)}\n`);
      }
      throw err;
    } finally {
      answered++;
      // Leave after the YIELD/ERROR of this invocation went out (sent when this promise settles).
      if (args.times > 0 && answered >= args.times) setImmediate(() => done.end(0));
    }
  };
  const component = new NodeComponent(
    componentOptions(args, authenticators, {
      maxInvocations: args.concurrency,
      registrations: { [args.uri]: { handler, options: { match: args.match } } },
      onJoin: (s) => void write(io.stderr, `autostrada: registered ${args.uri} (session ${s.id})\n`),
    }),
  );
  return runUntilDone(component, args, io, done);
}

async function keygen(args: ClientArgs, io: ClientIo): Promise<number> {
  const key = generateKeyPair();
  const privateHex = Buffer.from(key.privateKey).toString('hex');
  const pub = `public-key-ed25519: ${key.publicKeyHex}\n`;
  const both = `${pub}private-key-ed25519: ${privateHex}\n`;
  if (args.output === undefined) {
    await write(io.stdout, both);
    return 0;
  }
  try {
    writeFileSync(args.output, both, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    await write(io.stderr, `autostrada keygen: cannot write ${args.output}: ${(err as Error).message}\n`);
    return 1;
  }
  await write(io.stdout, pub);
  return 0;
}

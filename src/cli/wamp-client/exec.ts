/**
 * `register`: runs a program per invocation, as Autobahn's `wamp register`
 * does, and turns its outcome into the call's result or error.
 *
 * @module
 * @internal
 */
import { spawn } from 'node:child_process';
import { ApplicationError } from '../../wamp/application-error.js';
import type { WampDict, WampList } from '../../wamp/uri.js';
import { toJson } from './output.js';

/** Error URI of an invocation whose program failed (non-zero exit, signal, cannot start, too much output). */
export const COMMAND_FAILED = 'autostrada.error.command_failed';

/** Most bytes of stdout (and of stderr) kept per run; more kills the program. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;

/** A value as plain text: strings as they are, anything else as JSON. */
function plain(v: unknown): string {
  return typeof v === 'string' ? v : toJson(v);
}

/**
 * The environment of one run: the parent's, plus
 * `WAMP_ARGS` (the positional arguments, space-separated, plain),
 * `WAMP_KWARGS` (`name=value` pairs, space-separated, plain),
 * `WAMP_ARGS_JSON` and `WAMP_KWARGS_JSON`.
 */
export function invocationEnv(base: NodeJS.ProcessEnv, args: WampList, kwargs: WampDict): NodeJS.ProcessEnv {
  return {
    ...base,
    WAMP_ARGS: args.map(plain).join(' '),
    WAMP_ARGS_JSON: toJson(args),
    WAMP_KWARGS: Object.entries(kwargs)
      .map(([k, v]) => `${k}=${plain(v)}`)
      .join(' '),
    WAMP_KWARGS_JSON: toJson(kwargs),
  };
}

/**
 * Runs `exec` (no shell: `exec[0]` is looked up on PATH) with the invocation
 * in its environment. Resolves with its stdout, trimmed; rejects with an
 * {@link ApplicationError} `autostrada.error.command_failed` (args: the
 * trimmed stderr or a description; kwargs: `exit_code` or `signal`) when it
 * exits non-zero, dies of a signal, cannot start, or writes more than
 * {@link MAX_OUTPUT_BYTES}. Aborting `signal` kills it.
 */
export function runCommand(exec: readonly string[], args: WampList, kwargs: WampDict, signal: AbortSignal): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const [file, ...argv] = exec as [string, ...string[]];
    const child = spawn(file, argv, { env: invocationEnv(process.env, args, kwargs), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let overflow = false;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > MAX_OUTPUT_BYTES) {
        overflow = true;
        child.kill('SIGKILL');
      } else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      errBytes += d.length;
      if (errBytes <= MAX_OUTPUT_BYTES) err.push(d);
    });
    child.on('error', (e: Error) => {
      finish(() => reject(new ApplicationError(COMMAND_FAILED, [`cannot run ${file}: ${e.message}`], { command: file })));
    });
    child.on('close', (code: number | null, sig: NodeJS.Signals | null) => {
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (overflow) {
        finish(() => reject(new ApplicationError(COMMAND_FAILED, [`${file} wrote more than ${MAX_OUTPUT_BYTES} bytes`], { command: file })));
      } else if (code === 0) {
        finish(() => resolve(Buffer.concat(out).toString('utf8').trim()));
      } else if (code !== null) {
        finish(() => reject(new ApplicationError(COMMAND_FAILED, [stderr || `${file} exited with code ${code}`], { command: file, exit_code: code })));
      } else {
        finish(() => reject(new ApplicationError(COMMAND_FAILED, [stderr || `${file} was killed by ${sig}`], { command: file, signal: sig })));
      }
    });
  });
}

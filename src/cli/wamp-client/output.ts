/**
 * Printing WAMP values as JSON lines, and error messages.
 *
 * @module
 * @internal
 */
import { ApplicationError, WampSessionError } from '../../wamp/application-error.js';
import { ComponentError } from '../../wamp/component/errors.js';
import { base64Encode } from '../../wamp/serializers/base64.js';

/**
 * JSON text of a WAMP value. Binary values are written as WAMP's JSON
 * serializer puts them on the wire: a string of `\u0000` followed by Base64.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return `\u0000${base64Encode(v)}`;
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** Writes text to a stream and waits until it was handed to the OS. */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}

/** One human-readable line for an error, with its URI and code. */
export function describeError(err: unknown): string {
  if (err instanceof ComponentError && err.code === 'COMPONENT_ERR_RETRIES_EXHAUSTED' && err.cause instanceof Error) {
    return `${describeError(err.cause)}${/after 0 retries/.test(err.message) ? '' : ` (${err.message.replace(/:.*$/s, '')})`}`;
  }
  if (err instanceof ApplicationError) {
    const extra = [err.args.length > 0 ? toJson(err.args) : '', Object.keys(err.kwargs).length > 0 ? toJson(err.kwargs) : ''].filter(Boolean).join(' ');
    return `${err.uri}${extra ? ` ${extra}` : ''}`;
  }
  if (err instanceof WampSessionError || err instanceof ComponentError) return `${err.message} [${err.uri}]`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error && err.cause.message && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}${typeof code === 'string' ? ` [${code}]` : ''}`;
  }
  return String(err);
}

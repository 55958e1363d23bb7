/**
 * The serializer contract shared by every WAMP serialization binding.
 *
 * WAMP spec, Basic Profile "Serializers": each binding maps one WAMP message
 * (an array) to one transport message. Shape validation (is it an array, is
 * the type code known) belongs to the message layer, not here.
 */

/** Identifier of a serialization format. */
export type SerializerId = 'json' | 'msgpack' | 'cbor';

/** One WAMP serialization binding (e.g. `wamp.2.json`). */
export interface Serializer {
  /** Short format id. */
  readonly id: SerializerId;
  /** WebSocket subprotocol, e.g. `'wamp.2.json'`. */
  readonly subprotocol: string;
  /** RawSocket handshake SERIALIZER value (JSON 1, MessagePack 2, CBOR 3). */
  readonly rawSocketId: number;
  /** Whether the transport message is binary (`true`) or text (`false`). */
  readonly binary: boolean;
  /**
   * Serializes one WAMP message.
   * @throws {@link SerializationError} when a value cannot be represented.
   */
  encode(msg: unknown[]): string | Uint8Array;
  /**
   * Deserializes one transport message. Does not validate the message shape.
   * @throws {@link SerializationError} on malformed or truncated input.
   */
  decode(data: string | Uint8Array): unknown;
  /** The batched variant of this format (advanced profile "Message Batching"), when there is one. */
  readonly batched?: BatchedSerializer;
}

/** Stable error code carried by every {@link SerializationError}. */
export const WAMP_ERR_SERIALIZATION = 'WAMP_ERR_SERIALIZATION';

/**
 * Raised when a message cannot be serialized or deserialized. The session
 * treats this as a protocol violation (the peer sent undecodable bytes).
 */
export class SerializationError extends Error {
  /** Always `'WAMP_ERR_SERIALIZATION'`. */
  readonly code: typeof WAMP_ERR_SERIALIZATION = WAMP_ERR_SERIALIZATION;
  /** `true` when the input ended before a complete value was read. */
  readonly incomplete: boolean;

  constructor(message: string, options: { cause?: unknown; incomplete?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SerializationError';
    this.incomplete = options.incomplete ?? false;
  }
}

/** Wraps any thrown value from a codec into a {@link SerializationError}. */
export function toSerializationError(format: string, op: 'encode' | 'decode', err: unknown): SerializationError {
  if (err instanceof SerializationError) return err;
  const incomplete =
    typeof err === 'object' && err !== null && (err as { incomplete?: unknown }).incomplete === true;
  const detail = err instanceof Error ? err.message : String(err);
  return new SerializationError(
    `${format} ${op} failed${incomplete ? ' (truncated input)' : ''}: ${detail}`,
    { cause: err, incomplete },
  );
}

/** Limits applied while decoding a batch. */
export interface BatchLimits {
  /** Maximum number of messages accepted in one batch (default 10000). */
  readonly maxMessages?: number;
}

/** Default for {@link BatchLimits.maxMessages}. */
export const DEFAULT_MAX_BATCH_MESSAGES = 10000;

/** A batched WAMP serialization binding. */
export interface BatchedSerializer {
  /** Underlying format id. */
  readonly id: 'json' | 'msgpack';
  /** WebSocket subprotocol, e.g. `'wamp.2.json.batched'`. */
  readonly subprotocol: string;
  /** Whether the transport message is binary. */
  readonly binary: boolean;
  /**
   * Serializes one or more WAMP messages into one transport message.
   * @throws {@link SerializationError} on an empty batch or unencodable value.
   */
  encodeBatch(msgs: readonly unknown[][]): string | Uint8Array;
  /**
   * Deserializes one transport message into its messages, in order.
   * @throws {@link SerializationError} on an empty, truncated or malformed batch.
   */
  decodeBatch(data: string | Uint8Array, limits?: BatchLimits): unknown[];
}

/** @internal Throws on a batch of length 0 ("a batch of length 0 is illegal"). */
export function requireNonEmpty(n: number): void {
  if (n === 0) throw new SerializationError('a batch of length 0 is illegal (WAMP "Message Batching")');
}

/** @internal The batch size limit in force. */
export function maxOf(limits: BatchLimits | undefined): number {
  return limits?.maxMessages ?? DEFAULT_MAX_BATCH_MESSAGES;
}


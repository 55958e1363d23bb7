/**
 * Web Streams forms of the stages.
 *
 * Every stage is a WHATWG Transformer (FrameDecoder, MessageReceiver, …) and
 * can run as `new TransformStream(stage)`; composing them that way costs a
 * promise hop per chunk per stage. The fused pipelines below run the same
 * stage objects inside ONE TransformStream per direction, the stages calling
 * each other directly.
 *
 * @example
 * ```ts
 * import { createPipeline } from 'autostrada';
 * const { receive, send } = createPipeline({ role: 'server' });
 * // bytes from a socket → events; messages → bytes for the socket
 * socketReadable.pipeThrough(receive).pipeTo(new WritableStream({ write: (ev) => console.log(ev) }));
 * ```
 */
import type { Limits } from '../ws/constants.js';
import { decoderOptions, receiverOptions } from '../ws/protocol.js';
import { FrameDecoder } from '../ws/decoder.js';
import { MessageReceiver, type MessageInflater } from '../ws/receiver.js';
import { MessageSender, type MessageDeflater, type OutgoingMessage } from '../ws/sender.js';

export type { OutgoingMessage };
import type { MaskKeySource, ReceiveEvent } from '../ws/types.js';

export interface PipelineOptions extends Partial<Limits> {
  role: 'client' | 'server';
  /** The negotiated permessage-deflate codec, or null. */
  deflate?: (MessageInflater & MessageDeflater) | null;
  streaming?: boolean;
  maskKey?: MaskKeySource;
  isUtf8?: (b: Uint8Array) => boolean;
}

/**
 * Fused receive direction: bytes → {@link ReceiveEvent}s, the stages called
 * directly inside one writable/readable pair (usable with `pipeThrough`).
 *
 * Not a plain TransformStream on purpose: erroring a TransformStream discards
 * the events still queued on its readable side, so messages decoded from the
 * same chunk just before a protocol violation would be lost. Here a violation
 * rejects the write at once, and the readable errors only after it has
 * delivered everything decoded before the bad byte.
 */
export function createReceiveStream(options: PipelineOptions): ReadableWritablePair<ReceiveEvent, Uint8Array> {
  const receiver = new MessageReceiver(receiverOptions(options, options.deflate ?? null));
  const decoder = new FrameDecoder(decoderOptions(options, !!options.deflate), (piece) => receiver.piece(piece));
  let out!: ReadableStreamDefaultController<ReceiveEvent>;
  let failure: unknown = null;
  /** Resolves when the consumer wants more (backpressure towards the writer). */
  let wanted: (() => void) | null = null;
  const HIGH_WATER = 16;
  const finish = (): void => {
    // Error only once everything queued before the failure has been read
    // (desiredSize back at the high-water mark means the queue is empty).
    if (failure !== null && (out.desiredSize ?? 0) >= HIGH_WATER) out.error(failure);
  };
  const readable = new ReadableStream<ReceiveEvent>(
    {
      start(c) {
        out = c;
      },
      pull() {
        if (failure !== null) finish();
        const w = wanted;
        wanted = null;
        if (w) w();
      },
      cancel(reason) {
        failure ??= reason ?? new Error('cancelled');
      },
    },
    { highWaterMark: HIGH_WATER },
  );
  receiver.sink = (ev) => out.enqueue(ev);
  const fail = (err: unknown): never => {
    failure = err;
    finish();
    throw err;
  };
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (failure !== null) throw failure;
      try {
        decoder.push(chunk);
      } catch (err) {
        return fail(err);
      }
      const afterInflate = receiver.pending
        ? new Promise<void>((resolve, reject) => {
            // An async inflate is running: hold further input until it drains.
            receiver.onDrain = resolve;
            receiver.onAsyncError = reject;
          }).catch(fail)
        : Promise.resolve();
      return afterInflate.then(() => {
        if ((out.desiredSize ?? 1) > 0) return undefined;
        return new Promise<void>((resolve) => {
          wanted = resolve;
        });
      });
    },
    close() {
      try {
        decoder.end();
      } catch (err) {
        fail(err);
      }
      out.close();
    },
    abort(reason) {
      failure ??= reason;
      out.error(reason);
    },
  });
  return { readable, writable };
}

/**
 * Send direction: messages and control frames → bytes. The sender is a
 * single stage, so this is simply `new TransformStream(sender)`.
 */
export function createSendStream(options: PipelineOptions): TransformStream<OutgoingMessage, Uint8Array> {
  return new TransformStream<OutgoingMessage, Uint8Array>(
    new MessageSender({ role: options.role, deflater: options.deflate ?? null, maskKey: options.maskKey }),
  );
}

/** Both directions. */
export function createPipeline(options: PipelineOptions): {
  receive: ReadableWritablePair<ReceiveEvent, Uint8Array>;
  send: TransformStream<OutgoingMessage, Uint8Array>;
} {
  return { receive: createReceiveStream(options), send: createSendStream(options) };
}

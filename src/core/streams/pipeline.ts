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
import { DEFAULT_LIMITS, type Limits } from '../ws/constants.js';
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

/** Fused receive direction: bytes → {@link ReceiveEvent}s, one TransformStream. */
export function createReceiveStream(options: PipelineOptions): TransformStream<Uint8Array, ReceiveEvent> {
  const receiver = new MessageReceiver({
    maxMessageSize: options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
    inflater: options.deflate ?? null,
    streaming: options.streaming ?? false,
    ...(options.isUtf8 ? { isUtf8: options.isUtf8 } : {}),
  });
  const decoder = new FrameDecoder(
    {
      role: options.role,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize,
      maxFragments: options.maxFragments ?? DEFAULT_LIMITS.maxFragments,
      allowRsv1: !!options.deflate,
    },
    (piece) => receiver.piece(piece),
  );
  return new TransformStream<Uint8Array, ReceiveEvent>({
    transform(chunk, controller) {
      receiver.sink = (ev) => controller.enqueue(ev);
      decoder.push(chunk);
      if (receiver.pending) {
        // An async inflate is running: hold further input until it drains (backpressure).
        return new Promise<void>((resolve, reject) => {
          receiver.onDrain = resolve;
          receiver.onAsyncError = reject;
        });
      }
      return undefined;
    },
    flush(controller) {
      decoder.flush(controller as unknown as TransformStreamDefaultController<never>);
    },
  });
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
  receive: TransformStream<Uint8Array, ReceiveEvent>;
  send: TransformStream<OutgoingMessage, Uint8Array>;
} {
  return { receive: createReceiveStream(options), send: createSendStream(options) };
}

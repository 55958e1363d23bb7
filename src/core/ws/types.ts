/**
 * Shapes that flow between the sans-I/O stages.
 *
 *   bytes ─[FrameDecoder]→ FramePiece ─[MessageReceiver]→ ReceiveEvent
 *   SendItem ─[MessageSender]→ bytes
 */

/**
 * A frame, or a piece of one. The decoder never buffers data-frame payload:
 * when a frame's payload arrives over several input chunks it is emitted as
 * several pieces (already unmasked) as the bytes arrive, so a consumer can
 * validate UTF-8 and inflate as data comes in (fail fast) and stream large
 * messages without holding them. Control frames (≤125 bytes) always come
 * whole, as one piece with `first` and `last` both true.
 */
export interface FramePiece {
  /** Opcode of the frame (0 = continuation). */
  opcode: number;
  /** FIN bit of the frame. */
  fin: boolean;
  /** RSV1 ("compressed" under permessage-deflate). */
  rsv1: boolean;
  /** Unmasked payload bytes of this piece (may be empty). */
  payload: Uint8Array;
  /** This piece starts the frame. */
  first: boolean;
  /** This piece ends the frame. */
  last: boolean;
  /** Total payload length of the whole frame, from its header. */
  length: number;
}

/** What the receive side reports upward. Data is raw bytes; text is validated UTF-8. */
export type ReceiveEvent =
  | { type: 'message'; binary: boolean; data: Uint8Array }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | { type: 'close'; code: number; reason: string }
  /** Streaming mode only: a message begins / a piece of it / it ends. */
  | { type: 'message-start'; binary: boolean }
  | { type: 'message-data'; data: Uint8Array }
  | { type: 'message-end' };

/** A 4-byte masking key source (clients only). Must fill `out` with unpredictable bytes. */
export type MaskKeySource = (out: Uint8Array) => void;

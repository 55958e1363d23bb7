/** Frame opcodes (RFC 6455 §5.2, §11.8). */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less". */
export const MAX_CONTROL_PAYLOAD = 125;

/** RSV bit masks in the first header byte. */
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** Limits with safe defaults; every one can be set by an option. */
export interface Limits {
  /** Largest payload of a single frame, in bytes. Default 16 MiB. */
  maxFrameSize: number;
  /** Largest message (after inflation), in bytes. Default 64 MiB. */
  maxMessageSize: number;
  /** Most fragments in one message. Default 100,000. */
  maxFragments: number;
  /** Largest HTTP upgrade request/response head, in bytes. Default 16 KiB. */
  maxHandshakeSize: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameSize: 16 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
  maxFragments: 100_000,
  maxHandshakeSize: 16 * 1024,
});

export function isControlOpcode(op: number): boolean {
  return (op & 0x8) !== 0;
}

/**
 * WAMP over any WebSocket with the WHATWG API: ours (Node, Deno), the
 * browser's native `WebSocket`, or a server-side {@link WebSocketConnection}.
 * The WebSocket subprotocol names the serializer (`wamp.2.json`,
 * `wamp.2.msgpack`, `wamp.2.cbor`, `wamp.2.json.batched`,
 * `wamp.2.msgpack.batched`).
 *
 * @module
 */
import { protocolViolation } from '../errors.js';
import { JsonSerializer } from '../serializers/json.js';
import type { Serializer } from '../serializers/types.js';
import { MessageTransport, type MessageTransportOptions, type WampTransportInfo } from '../transport.js';

const DEFAULT_SERIALIZERS: readonly Serializer[] = [new JsonSerializer()];

/** The part of the WHATWG WebSocket API a WAMP transport uses. */
export interface WebSocketLike {
  readonly protocol: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  binaryType: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (ev: unknown) => void): void;
}

/** Options of {@link WebSocketTransport}. */
export interface WebSocketTransportOptions extends MessageTransportOptions {
  /**
   * The serializers this side speaks; the socket's subprotocol picks one (or
   * its batched variant). Default: JSON only, so that MessagePack and CBOR are
   * bundled only by apps that import them.
   */
  serializers?: readonly Serializer[];
  /**
   * Extra channel facts (peer address, TLS, upgrade headers) for {@link WampTransportInfo}.
   * The object itself becomes the transport's `info`, completed with `type`,
   * `serializer` and `protocol` (so getters in it are not called until read):
   * give each transport its own.
   */
  info?: Partial<Omit<WampTransportInfo, 'type' | 'serializer' | 'protocol'>>;
}

/**
 * Wraps an OPEN WebSocket whose subprotocol is a WAMP one.
 *
 * @throws {@link WampProtocolError} when `ws.protocol` is not a WAMP subprotocol we implement.
 */
export class WebSocketTransport extends MessageTransport {
  readonly info: WampTransportInfo;
  private readonly ws: WebSocketLike;

  constructor(ws: WebSocketLike, options: WebSocketTransportOptions = {}) {
    const known = options.serializers ?? DEFAULT_SERIALIZERS;
    const single = known.find((s) => s.subprotocol === ws.protocol);
    const viaBatch = single ? undefined : known.find((s) => s.batched?.subprotocol === ws.protocol);
    const serializer = single ?? viaBatch;
    if (!serializer) throw protocolViolation(`WebSocket subprotocol '${ws.protocol}' is not a WAMP subprotocol we speak`);
    super(serializer, viaBatch?.batched ?? null, options);
    this.ws = ws;
    // Completed in place: a getter in it (the router's lazy `peer`) stays lazy.
    this.info = Object.assign(options.info ?? {}, { type: 'websocket' as const, serializer: serializer.id, protocol: ws.protocol });
    // Browsers default to Blob; ours to Uint8Array. ArrayBuffer works with both.
    if (ws.binaryType !== 'uint8array') ws.binaryType = 'arraybuffer';
    // One listener for the three events (one closure per connection, not three).
    const on = (ev: { type: string; data?: unknown; code: number; reason: string; wasClean: boolean; error?: unknown }): void => {
      if (ev.type === 'message') {
        const d = ev.data;
        if (typeof d === 'string' || d instanceof Uint8Array) this.receiveRaw(d);
        else if (d instanceof ArrayBuffer) this.receiveRaw(new Uint8Array(d));
        else this.receiveRaw(String(d));
      } else if (ev.type === 'close') {
        this.closed({
          code: ev.code,
          reason: ev.reason,
          wasClean: ev.wasClean,
          ...(ev.error instanceof Error ? { error: ev.error } : {}),
        });
      } else {
        this.drained();
      }
    };
    ws.addEventListener('message', on as (ev: unknown) => void);
    ws.addEventListener('close', on as (ev: unknown) => void);
    ws.addEventListener('drain', on as (ev: unknown) => void);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  protected sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  protected closeRaw(code: number, reason: string): void {
    const ws = this.ws as WebSocketLike & { closeWithCode?: (code: number, reason: string) => void };
    // The WHATWG close() takes only 1000 and 3000-4999; a server (ours) may send
    // any valid code (1001 going away, 1008 policy, ...) through closeWithCode.
    if (typeof ws.closeWithCode === 'function') ws.closeWithCode(code, reason);
    else ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
  }
}

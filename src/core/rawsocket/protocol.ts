/**
 * One RawSocket connection, sans-I/O (python-websockets' three verbs): feed
 * received bytes with {@link RawSocketProtocol.receiveData}, take
 * {@link RawSocketProtocol.eventsReceived} and
 * {@link RawSocketProtocol.dataToSend}. It runs the opening handshake for
 * either role, then decodes frames, answers every PING with a PONG echoing
 * its payload (WAMP: "A Peer MUST reply to each PING by sending exactly one
 * PONG immediately, and the PONG MUST echo back the payload of the PING
 * exactly"), and frames outgoing messages within the peer's announced limit.
 *
 * No sockets, timers or runtime globals: the adapter supplies bytes, writes
 * what it is given, and owns the clock (handshake timeout, heartbeat).
 *
 * @module
 */
import { RawSocketCloseCode, RawSocketError } from './errors.js';
import { RawSocketFrameDecoder, RawSocketFrameType, encodeFrameHeader, type RawSocketFrame, type RawSocketFrameTypeValue } from './frame.js';
import {
  RAWSOCKET_MAX_LENGTH,
  acceptHandshake,
  encodeHandshake,
  exponentToLength,
  lengthExponent,
  parseHandshakeReply,
} from './handshake.js';

/** Default largest message received: 16 MiB, the most a RawSocket handshake can announce. */
export const DEFAULT_RAWSOCKET_MAX_MESSAGE_SIZE = RAWSOCKET_MAX_LENGTH;

interface CommonOptions {
  /**
   * Largest message we accept. Announced in the handshake rounded up to a
   * power of two between 512 B and 16 MiB; the announced value is enforced.
   * Default 16 MiB.
   */
  maxMessageSize?: number;
  /** Answer PINGs automatically (default true). */
  autoPong?: boolean;
  /** Allocates buffers for payloads joined from several chunks (Node: Buffer.allocUnsafe). */
  alloc?: (size: number) => Uint8Array;
}

/** Options of a client-side {@link RawSocketProtocol}. */
export interface RawSocketClientProtocolOptions extends CommonOptions {
  role: 'client';
  /** SERIALIZER value to request (1 JSON, 2 MessagePack, 3 CBOR). */
  serializer: number;
}

/** Options of a router-side {@link RawSocketProtocol}. */
export interface RawSocketServerProtocolOptions extends CommonOptions {
  role: 'server';
  /** SERIALIZER values we speak. */
  serializers: readonly number[];
  /** Refuse clients announcing a smaller receive limit (error 2). Default 512 (any). */
  minPeerMaxLength?: number;
  /** Refuse every handshake with this error number (e.g. 4, connection limit reached). */
  refuse?: number;
}

/** What a {@link RawSocketProtocol} reports. */
export type RawSocketEvent =
  /** The handshake completed. */
  | { type: 'open'; serializer: number; maxSendLength: number; maxReceiveLength: number }
  /** A WAMP transport message (still serialized). */
  | { type: 'message'; data: Uint8Array }
  /** A PING arrived (its PONG is already queued when autoPong is on). */
  | { type: 'ping'; data: Uint8Array }
  /** A PONG arrived. */
  | { type: 'pong'; data: Uint8Array }
  /**
   * The connection must be failed: send what {@link RawSocketProtocol.dataToSend}
   * still returns (e.g. a handshake error reply), then close. Always the last event.
   */
  | { type: 'error'; error: RawSocketError };

/** `'handshake'` → `'open'` → `'closed'`, or `'failed'` from any state. */
export type RawSocketProtocolState = 'handshake' | 'open' | 'closed' | 'failed';

/**
 * @example
 * ```ts
 * const client = new RawSocketProtocol({ role: 'client', serializer: 1, maxMessageSize: 4096 });
 * const server = new RawSocketProtocol({ role: 'server', serializers: [1, 2] });
 * for (const b of client.dataToSend()) server.receiveData(b);   // handshake request
 * for (const b of server.dataToSend()) client.receiveData(b);   // handshake reply
 * client.sendMessage(new TextEncoder().encode('[1,"realm1",{}]'));
 * for (const b of client.dataToSend()) server.receiveData(b);
 * const events = server.eventsReceived();
 * console.log(events.map((e) => e.type)); // [ 'open', 'message' ]
 * console.log(client.maxSendLength); // 16777216 (the server's default limit)
 * ```
 */
export class RawSocketProtocol {
  readonly role: 'client' | 'server';
  private stateValue: RawSocketProtocolState = 'handshake';
  private serializerValue: number;
  private maxSend = 0;
  private readonly maxReceive: number;
  private readonly server: RawSocketServerProtocolOptions | null;
  private readonly autoPong: boolean;
  private readonly decoder: RawSocketFrameDecoder;
  private readonly hs = new Uint8Array(4);
  private hsLen = 0;
  private events: RawSocketEvent[] = [];
  private out: Uint8Array[] = [];

  constructor(options: RawSocketClientProtocolOptions | RawSocketServerProtocolOptions) {
    this.role = options.role;
    this.autoPong = options.autoPong ?? true;
    const exp = lengthExponent(options.maxMessageSize ?? DEFAULT_RAWSOCKET_MAX_MESSAGE_SIZE);
    this.maxReceive = exponentToLength(exp);
    this.decoder = new RawSocketFrameDecoder({ maxLength: this.maxReceive, ...(options.alloc ? { alloc: options.alloc } : {}) }, (f) => this.frame(f));
    if (options.role === 'client') {
      this.server = null;
      this.serializerValue = options.serializer;
      // The client speaks first: "the client connecting to a router sends 4 octets".
      this.out.push(encodeHandshake(options.serializer, exp));
    } else {
      this.server = options;
      this.serializerValue = 0;
    }
  }

  /** Where the connection is. */
  get state(): RawSocketProtocolState {
    return this.stateValue;
  }

  /** The SERIALIZER value: requested (client) or agreed (after the handshake); 0 on a server before it. */
  get serializer(): number {
    return this.serializerValue;
  }

  /** Largest message the peer accepts (from its handshake); 0 before the handshake. */
  get maxSendLength(): number {
    return this.maxSend;
  }

  /** Largest message we accept: what our handshake announced. */
  get maxReceiveLength(): number {
    return this.maxReceive;
  }

  /** Feed bytes received from the peer. Never throws: failures become an `error` event. */
  receiveData(chunk: Uint8Array): void {
    if (this.stateValue === 'failed' || this.stateValue === 'closed') return;
    let data = chunk;
    if (this.stateValue === 'handshake') {
      let i = 0;
      while (this.hsLen < 4 && i < data.length) this.hs[this.hsLen++] = data[i++] as number;
      if (this.hsLen < 4) return; // need more
      if (!this.handshake()) return;
      data = data.subarray(i);
      if (data.length === 0) return;
    }
    try {
      this.decoder.push(data);
    } catch (err) {
      this.fail(err instanceof RawSocketError ? err : new RawSocketError('RAWSOCKET_ERR_CONNECTION_LOST', String(err), RawSocketCloseCode.ABNORMAL, 0, { cause: err }));
    }
  }

  /**
   * The peer closed its sending side. Inside the handshake or a frame this
   * is an `error` event (RAWSOCKET_ERR_CONNECTION_LOST, 1006); between
   * frames the connection is `'closed'`. Returns whether the end was clean.
   */
  receiveEof(): boolean {
    if (this.stateValue === 'failed') return false;
    if (this.stateValue === 'closed') return true;
    if (this.stateValue === 'handshake') {
      this.fail(new RawSocketError('RAWSOCKET_ERR_CONNECTION_LOST', `connection closed during the opening handshake (${this.hsLen} of 4 octets received)`, RawSocketCloseCode.ABNORMAL));
      return false;
    }
    if (!this.decoder.idle) {
      this.fail(new RawSocketError('RAWSOCKET_ERR_CONNECTION_LOST', 'connection closed inside a frame', RawSocketCloseCode.ABNORMAL));
      return false;
    }
    this.stateValue = 'closed';
    return true;
  }

  /** Events since the last call, in order. */
  eventsReceived(): RawSocketEvent[] {
    const ev = this.events;
    if (ev.length !== 0) this.events = [];
    return ev;
  }

  /** Byte chunks to write to the peer since the last call, in order. */
  dataToSend(): Uint8Array[] {
    const out = this.out;
    if (out.length !== 0) this.out = [];
    return out;
  }

  /**
   * Queue one serialized WAMP message.
   * @throws {@link RawSocketError} RAWSOCKET_ERR_NOT_OPEN before the handshake or after the end;
   *   RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED when larger than the peer accepts (nothing is queued).
   */
  sendMessage(payload: Uint8Array): void {
    this.sendFrame(RawSocketFrameType.MESSAGE, payload);
  }

  /** Queue a PING (payload echoed by the peer's PONG). Same errors as {@link sendMessage}. */
  sendPing(payload: Uint8Array = new Uint8Array(0)): void {
    this.sendFrame(RawSocketFrameType.PING, payload);
  }

  /** Queue a PONG (only needed with `autoPong: false`). Same errors as {@link sendMessage}. */
  sendPong(payload: Uint8Array): void {
    this.sendFrame(RawSocketFrameType.PONG, payload);
  }

  private sendFrame(type: RawSocketFrameTypeValue, payload: Uint8Array): void {
    if (this.stateValue !== 'open') {
      throw new RawSocketError('RAWSOCKET_ERR_NOT_OPEN', `cannot send in state '${this.stateValue}'`, RawSocketCloseCode.ABNORMAL);
    }
    // "The length of the serialized messages in octets MUST NOT exceed the maximum requested by the Peer."
    if (payload.length > this.maxSend) {
      throw new RawSocketError(
        'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED',
        `message of ${payload.length} octets exceeds the peer's limit of ${this.maxSend}`,
        RawSocketCloseCode.MESSAGE_TOO_BIG,
      );
    }
    this.out.push(encodeFrameHeader(type, payload.length));
    if (payload.length !== 0) this.out.push(payload);
  }

  /** The 4 handshake octets are in: check them; false when failed. */
  private handshake(): boolean {
    if (this.server) {
      const r = acceptHandshake(this.hs, {
        serializers: this.server.serializers,
        maxMessageSize: this.maxReceive,
        ...(this.server.minPeerMaxLength !== undefined ? { minPeerMaxLength: this.server.minPeerMaxLength } : {}),
        ...(this.server.refuse !== undefined ? { refuse: this.server.refuse } : {}),
      });
      if (r.reply) this.out.push(r.reply);
      if (!r.ok) {
        this.fail(r.error);
        return false;
      }
      this.serializerValue = r.serializer;
      this.maxSend = r.maxSendLength;
    } else {
      const r = parseHandshakeReply(this.hs, this.serializerValue);
      if (!r.ok) {
        this.fail(r.error);
        return false;
      }
      this.maxSend = r.maxSendLength;
    }
    this.stateValue = 'open';
    this.events.push({ type: 'open', serializer: this.serializerValue, maxSendLength: this.maxSend, maxReceiveLength: this.maxReceive });
    return true;
  }

  private frame(f: RawSocketFrame): void {
    if (this.stateValue !== 'open') return; // failed earlier in the same chunk
    if (f.type === RawSocketFrameType.MESSAGE) {
      this.events.push({ type: 'message', data: f.payload });
    } else if (f.type === RawSocketFrameType.PING) {
      // Our own limit bounds a PING; the peer's bounds the PONG. A PING we may
      // not echo (the peer announced less than it sends) fails the connection.
      if (this.autoPong) {
        if (f.payload.length > this.maxSend) {
          this.fail(new RawSocketError('RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED', `PING of ${f.payload.length} octets cannot be echoed within the peer's limit of ${this.maxSend}`));
          return;
        }
        this.out.push(encodeFrameHeader(RawSocketFrameType.PONG, f.payload.length));
        if (f.payload.length !== 0) this.out.push(f.payload);
      }
      this.events.push({ type: 'ping', data: f.payload });
    } else {
      this.events.push({ type: 'pong', data: f.payload });
    }
  }

  private fail(error: RawSocketError): void {
    if (this.stateValue === 'failed') return;
    this.stateValue = 'failed';
    this.events.push({ type: 'error', error });
  }
}

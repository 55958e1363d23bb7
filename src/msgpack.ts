/**
 * autostrada/msgpack — the MessagePack serializer (`wamp.2.msgpack` and
 * `wamp.2.msgpack.batched`, RawSocket serializer 2), on msgpackr.
 *
 * @example
 * ```ts
 * import { MsgpackSerializer } from 'autostrada/msgpack';
 * const s = new MsgpackSerializer();
 * const bytes = s.encode([1, 'realm1', {}]);
 * console.assert(JSON.stringify(s.decode(bytes)) === '[1,"realm1",{}]');
 * ```
 */
export {
  MsgpackSerializer,
  MsgpackBatchedSerializer,
  encodeMsgpack,
  decodeMsgpack,
  encodeMsgpackBatch,
  decodeMsgpackBatch,
} from './wamp/serializers/msgpack.js';

// One small adapter per WAMP client library, so every benchmark role (caller,
// callee, publisher, subscribers, ...) is written once and drives each
// library through the same five verbs:
//
//   call(procedure, args)        -> Promise<args of the result>
//   register(procedure, fn)      -> Promise; fn(args) returns the result args
//   publish(topic, args)         -> void (fire and forget, errors counted)
//   subscribe(topic, fn)         -> Promise; fn(args) per event
//   close()                      -> Promise (GOODBYE, then the transport closes)
//
// Each adapter uses its library the way its README shows, with its own
// WebSocket client and its own serializer implementation:
//
//   ours      autostrada Session over connectWebSocket with our Node WebSocket
//             client; serializers from src/wamp/serializers (JSON: our codec;
//             MessagePack: msgpackr; CBOR: cbor-x)
//   autobahn  Autobahn|JS Connection (ws 7 under the hood); JSON, MessagePack
//             (msgpack5), CBOR (cbor)
//   wampy     wampy with `ws`; JsonSerializer, MsgpackSerializer (msgpackr),
//             CborSerializer (cbor-x). wampy always publishes with
//             acknowledge: true (it has no option to turn it off), so its
//             publisher gets a PUBLISHED back for each PUBLISH.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { BUNDLE } from './harness.mjs';

const require = createRequire(import.meta.url);

export const LIBRARIES = {
  ours: { label: 'autostrada', serializers: ['json', 'msgpack', 'cbor'] },
  autobahn: { label: 'Autobahn|JS', serializers: ['json', 'msgpack', 'cbor'] },
  wampy: { label: 'wampy', serializers: ['json', 'msgpack', 'cbor'] },
};

let ourLib = null;
async function ours() {
  ourLib ??= await import(pathToFileURL(BUNDLE).href);
  return ourLib;
}

/**
 * Connects one session of library `cfg.lib` to `cfg.url`, realm `cfg.realm`,
 * serializer `cfg.ser`. `onError` gets errors the library reports outside a
 * returned promise (handler errors, failed fire-and-forget publishes).
 */
export async function connect(cfg, onError) {
  switch (cfg.lib) {
    case 'ours':
      return connectOurs(cfg, onError);
    case 'autobahn':
      return connectAutobahn(cfg, onError);
    case 'wampy':
      return connectWampy(cfg, onError);
    default:
      throw new Error(`unknown client library ${cfg.lib}`);
  }
}

async function connectOurs(cfg, onError) {
  const lib = await ours();
  const transport = await lib.connectWebSocket(cfg.url, {
    WebSocket: lib.WebSocket,
    serializers: [lib.serializers[cfg.ser]],
    // fox-wamp sends null Arguments/ArgumentsKw; read them as absent
    acceptNullPayload: true,
    timeout: 15000,
    ...(cfg.offerDeflate === false ? { webSocketOptions: { perMessageDeflate: false } } : {}),
  });
  const s = await lib.Session.join(transport, cfg.realm, { timeout: 15000, onUserError: onError });
  return {
    call: (procedure, args) => s.call(procedure, args).then((r) => r.args),
    register: (procedure, fn) => s.register(procedure, (args) => new lib.InvocationResult(fn(args))),
    publish: (topic, args) => {
      s.publish(topic, args).catch(onError);
    },
    subscribe: (topic, fn) => s.subscribe(topic, (args) => fn(args)),
    close: () => s.leave(),
    get open() {
      return s.isOpen;
    },
  };
}

const AUTOBAHN_SERIALIZER = { json: 'JSONSerializer', msgpack: 'MsgpackSerializer', cbor: 'CBORSerializer' };

function connectAutobahn(cfg, onError) {
  const autobahn = require('autobahn');
  const Ser = autobahn.serializer[AUTOBAHN_SERIALIZER[cfg.ser]];
  if (!Ser) throw new Error(`Autobahn|JS has no ${cfg.ser} serializer here`);
  const conn = new autobahn.Connection({ url: cfg.url, realm: cfg.realm, max_retries: 0, serializers: [new Ser()] });
  let isOpen = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Autobahn|JS: no session within 15 s')), 15000);
    conn.onopen = (session) => {
      clearTimeout(timer);
      isOpen = true;
      resolve({
        call: (procedure, args) =>
          // one positional result without kwargs comes back bare, several as a Result
          session.call(procedure, args).then((r) => (r instanceof autobahn.Result ? r.args : [r])),
        register: (procedure, fn) => session.register(procedure, (args) => new autobahn.Result(fn(args))),
        publish: (topic, args) => {
          try {
            session.publish(topic, args);
          } catch (e) {
            onError(e);
          }
        },
        subscribe: (topic, fn) => session.subscribe(topic, (args) => fn(args)),
        close: () =>
          new Promise((res) => {
            conn.onclose = () => {
              isOpen = false;
              res();
              return true;
            };
            try {
              conn.close();
            } catch {
              res();
            }
          }),
        get open() {
          return isOpen;
        },
      });
    };
    conn.onclose = (reason, details) => {
      isOpen = false;
      clearTimeout(timer);
      reject(new Error(`Autobahn|JS closed: ${reason} ${details?.reason ?? ''}`));
      return true; // no reconnect
    };
    conn.open();
  });
}

async function connectWampy(cfg, onError) {
  const { Wampy } = await import('wampy');
  const Ser =
    cfg.ser === 'json'
      ? (await import('wampy/JsonSerializer.js')).JsonSerializer
      : cfg.ser === 'msgpack'
        ? (await import('wampy/MsgpackSerializer.js')).MsgpackSerializer
        : (await import('wampy/CborSerializer.js')).CborSerializer;
  const WS = require('ws');
  const w = new Wampy(cfg.url, {
    realm: cfg.realm,
    ws: WS,
    serializer: new Ser(),
    autoReconnect: false,
    onError: (e) => onError(e),
  });
  await w.connect();
  return {
    call: (procedure, args) => w.call(procedure, args).then((r) => r.argsList),
    // an array result is sent as YIELD.Arguments as it is
    register: (procedure, fn) => w.register(procedure, (e) => fn(e.argsList)),
    publish: (topic, args) => {
      w.publish(topic, args).catch(onError);
    },
    subscribe: (topic, fn) => w.subscribe(topic, (e) => fn(e.argsList)),
    close: () => w.disconnect(),
    get open() {
      return w.getSessionId() != null;
    },
  };
}

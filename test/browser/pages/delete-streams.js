// Simulates a runtime without WHATWG Streams (old browsers, some embedded
// engines): the globals are gone before anything else loads.
'use strict';
for (const name of ['ReadableStream', 'WritableStream', 'TransformStream', 'ReadableStreamDefaultReader', 'WritableStreamDefaultWriter', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy', 'ReadableByteStreamController', 'ReadableStreamBYOBReader', 'ReadableStreamDefaultController', 'ReadableStreamBYOBRequest', 'WritableStreamDefaultController', 'TransformStreamDefaultController', 'WebSocketStream']) {
  delete globalThis[name];
}
window.nativeStreamsDeleted = typeof ReadableStream === 'undefined';

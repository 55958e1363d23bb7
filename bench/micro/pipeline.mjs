// Receive path, three ways, same stage objects, same input: 16-byte masked
// text frames, 64 per chunk (what a busy socket read looks like).
//   direct   — the Node driver's path: decoder.push() → receiver → callback, no streams
//   fused    — createReceiveStream(): one TransformStream for all stages
//   composed — new TransformStream(decoder) → new TransformStream(receiver)
// Checks the message count in every variant (a benchmark that lost messages would lie).
// Run: npm run build && node bench/micro/pipeline.mjs
import { FrameDecoder, MessageReceiver, createReceiveStream } from '../../dist/node/index.js';

const FRAMES_PER_CHUNK = 64;
const CHUNKS = 4000;
const key = [0x11, 0x22, 0x33, 0x44];
function chunk() {
  const frame = (i) => {
    const p = Buffer.from(String(i % 10).repeat(16));
    return Buffer.concat([Buffer.from([0x81, 0x80 | 16, ...key]), p.map((b, j) => b ^ key[j & 3])]);
  };
  return Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, (_, i) => frame(i)));
}
const template = chunk();
const inputs = () => Array.from({ length: CHUNKS }, () => Buffer.from(template)); // fresh copies: decoding unmasks in place
const opts = { role: 'server', maxFrameSize: 1 << 20, maxFragments: 100 };
const expected = CHUNKS * FRAMES_PER_CHUNK;

async function direct(data) {
  let n = 0;
  const r = new MessageReceiver({ maxMessageSize: 1 << 20 }, (ev) => { if (ev.type === 'message') n++; });
  const d = new FrameDecoder({ ...opts, allowRsv1: false }, (p) => r.piece(p));
  for (const c of data) d.push(c);
  return n;
}
async function drain(readable) {
  let n = 0;
  await readable.pipeTo(new WritableStream({ write(ev) { if (ev.type === 'message') n++; } }));
  return n;
}
function source(data) {
  let i = 0;
  return new ReadableStream({ pull(c) { if (i < data.length) c.enqueue(data[i++]); else c.close(); } });
}
const fused = (data) => drain(source(data).pipeThrough(createReceiveStream({ role: 'server' })));
const composed = (data) =>
  drain(
    source(data)
      .pipeThrough(new TransformStream(new FrameDecoder({ ...opts, allowRsv1: false })))
      .pipeThrough(new TransformStream(new MessageReceiver({ maxMessageSize: 1 << 20 }))),
  );

const variants = { direct, fused, composed };
const results = {};
for (let round = 0; round < 3; round++) {
  for (const [name, fn] of Object.entries(variants)) {
    const data = inputs();
    const t = process.hrtime.bigint();
    const n = await fn(data);
    const ns = Number(process.hrtime.bigint() - t);
    if (n !== expected) throw new Error(`${name}: ${n} messages, expected ${expected}`);
    if (round > 0) (results[name] ??= []).push(ns / n);
  }
}
const best = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.min(...v)]));
console.log(`receive path, 16 B text frames, ${FRAMES_PER_CHUNK} per chunk, ${expected} messages (best of 2 after warm-up)`);
for (const [k, v] of Object.entries(best)) console.log(`  ${k.padEnd(9)} ${v.toFixed(0).padStart(5)} ns/message  ${(v / best.direct).toFixed(2)}x direct`);

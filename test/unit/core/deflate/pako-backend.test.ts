import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPakoBackend, pakoBackend } from '../../../../src/core/deflate/pako-backend.js';
import { backendSuite, textBytes } from './backend-suite.js';

backendSuite('pako', () => createPakoBackend());
backendSuite('pako, 64-byte scratch (many output rounds)', () => createPakoBackend({ chunkSize: 64 }));

describe('pako backend', () => {
  it('is always synchronous', () => {
    const d = pakoBackend.createDeflater(15, 6, 8);
    const i = pakoBackend.createInflater(15);
    const wire = d.deflate(textBytes(1000), true);
    assert.ok(wire instanceof Uint8Array);
    const out = i.inflate(wire, true, 1000);
    assert.ok(Array.isArray(out));
  });

  it('output matches node:zlib byte for byte (default hash: Chromium zlib, legacyHash: canonical zlib)', async () => {
    const { deflateRawSync, constants } = await import('node:zlib');
    const data = textBytes(50000);
    const ref = deflateRawSync(data, { level: 6, memLevel: 8, finishFlush: constants.Z_SYNC_FLUSH });
    const same = (legacyHash: boolean): boolean =>
      Buffer.from(createPakoBackend({ legacyHash }).createDeflater(15, 6, 8).deflate(data, true) as Uint8Array).equals(ref.subarray(0, ref.length - 4));
    // Node bundles Chromium's zlib (same as pako's default hash); a Node
    // built against system zlib matches the classic hash instead.
    assert.ok(same(false) || same(true));
  });

  it('rejects a scratch smaller than 64 bytes', () => {
    assert.throws(() => createPakoBackend({ chunkSize: 10 }), RangeError);
  });
});

/**
 * The API reference (`npm run docs` → docs/api/, generated from TSDoc by
 * typedoc) builds with no warning: every {@link} resolves, nothing public
 * points at something unexported. `--emit none` validates without writing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('typedoc builds the API reference without warnings', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--emit', 'none', '--logLevel', 'Warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `typedoc failed:\n${r.stdout}\n${r.stderr}`);
});

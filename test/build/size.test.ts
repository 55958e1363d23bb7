/**
 * Bundle-size budgets, measured one way for every bundle: terser (compress +
 * mangle, no comments) then gzip level 9. Prints a table (the README's numbers
 * come from here) and enforces:
 *
 * - the whole browser client as a <script> (dist/autostrada.umd.min.js): 20 KiB;
 * - an app importing only `Session` + `connectWebSocket` from the ESM build,
 *   bundled by rollup as an app's bundler would (node-resolve, browser
 *   condition, the package's `sideEffects: false`): {@link TREE_SHAKEN_BUDGET};
 * - MessagePack, CBOR and the auth methods stay out of that app;
 * - ours is smaller than Autobahn|JS's browser build;
 * - no bundle carries a Web Streams polyfill (it is the user's opt-in, docs/BROWSER.md);
 * - the UMD builds hold no `eval` / `new Function` (a strict CSP; test/browser runs them under one).
 *
 * Needs `npm run build` (dist/).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { minify } from 'terser';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KiB = 1024;
/** dist/autostrada.umd.min.js, min+gzip (the budget). */
const UMD_BUDGET = 20 * KiB;
/** Session + connectWebSocket, tree-shaken from dist/browser (15.7 KB = 15.3 KiB when set). */
const TREE_SHAKEN_BUDGET = 17 * KiB;

interface Measured {
  name: string;
  raw: number;
  min: number;
  gzip: number;
}
const rows: Measured[] = [];
let work = '';

/** terser + gzip -9, the same for every bundle (`module` for ESM output). */
async function measure(name: string, code: string, module: boolean): Promise<Measured> {
  const out = await minify(code, { module, compress: { passes: 2 }, mangle: true, format: { comments: false } });
  assert.ok(out.code, `terser produced nothing for ${name}`);
  const m = { name, raw: Buffer.byteLength(code), min: Buffer.byteLength(out.code), gzip: gzipSync(out.code, { level: 9 }).length };
  rows.push(m);
  return m;
}

/** Bundles `source` (an app entry that imports 'autostrada…') like an app's bundler; returns the code and every module in it. */
async function bundleApp(name: string, source: string): Promise<{ code: string; modules: string[] }> {
  const entry = join(work, `${name}.mjs`);
  writeFileSync(entry, source);
  const bundle = await rollup({
    input: entry,
    plugins: [nodeResolve({ browser: true, rootDir: work })],
    onwarn(w, warn) {
      if (w.code !== 'CIRCULAR_DEPENDENCY' && w.code !== 'THIS_IS_UNDEFINED') warn(w);
    },
  });
  try {
    const { output } = await bundle.generate({ format: 'es' });
    const chunk = output[0];
    return { code: chunk.code, modules: Object.keys(chunk.modules).filter((id) => Object.keys(chunk.modules[id]?.renderedExports ?? {}).length > 0 || (chunk.modules[id]?.renderedLength ?? 0) > 0) };
  } finally {
    await bundle.close();
  }
}

before(() => {
  for (const f of ['dist/autostrada.umd.min.js', 'dist/autostrada.full.umd.min.js', 'dist/browser/index.js', 'dist/browser/msgpack.js']) {
    assert.ok(existsSync(join(ROOT, f)), `${f} is missing: run \`npm run build\` first`);
  }
  // An app directory whose node_modules/autostrada is this package, so the
  // bundler resolves 'autostrada' through package.json "exports" (browser
  // condition) and honours "sideEffects": false, as it would for a user.
  work = mkdtempSync(join(tmpdir(), 'autostrada-size-'));
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(ROOT, join(work, 'node_modules', 'autostrada'), 'dir');
});

after(() => {
  if (rows.length > 0) {
    const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`.padStart(9);
    const lines = rows.map((r) => `${r.name.padEnd(44)} ${kb(r.raw)} ${kb(r.min)} ${kb(r.gzip)}`);
    console.log(['', `${'bundle (terser + gzip -9)'.padEnd(44)} ${'raw'.padStart(9)} ${'min'.padStart(9)} ${'min+gz'.padStart(9)}`, ...lines, ''].join('\n'));
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

let umdGzip = 0;
let appModules: string[] = [];

test('the whole browser client (dist/autostrada.umd.min.js) fits in 20 KiB min+gzip', async () => {
  const m = await measure('dist/autostrada.umd.min.js', readFileSync(join(ROOT, 'dist/autostrada.umd.min.js'), 'utf8'), false);
  umdGzip = m.gzip;
  assert.ok(m.gzip <= UMD_BUDGET, `autostrada.umd.min.js is ${m.gzip} B min+gzip, budget ${UMD_BUDGET}`);
  await measure('dist/autostrada.full.umd.min.js (report)', readFileSync(join(ROOT, 'dist/autostrada.full.umd.min.js'), 'utf8'), false);
});

test(`an app using only Session + connectWebSocket, tree-shaken, fits in ${TREE_SHAKEN_BUDGET / KiB} KiB and pulls in no MessagePack, CBOR or auth crypto`, async () => {
  const app = await bundleApp(
    'app-json',
    `import { Session, connectWebSocket } from 'autostrada';
export async function main(url) {
  const session = await Session.join(await connectWebSocket(url), 'realm1');
  return session.call('com.example.add', [1, 2]);
}
`,
  );
  appModules = app.modules;
  assert.ok(appModules.some((id) => id.includes(`${join('dist', 'browser')}`)), `resolved through dist/browser: ${appModules.join(', ')}`);
  const m = await measure('app: Session + connectWebSocket (ESM)', app.code, true);
  assert.ok(m.gzip <= TREE_SHAKEN_BUDGET, `tree-shaken app is ${m.gzip} B min+gzip, budget ${TREE_SHAKEN_BUDGET}`);
  const heavy = appModules.filter((id) => /[\\/]node_modules[\\/](msgpackr|cbor-x|pako|@noble)[\\/]/.test(id));
  assert.deepEqual(heavy, [], 'the JSON-only app bundles none of the optional codecs or crypto');
});

test('autostrada/msgpack and autostrada/cbor alone (report), and neither is in the JSON-only app', async () => {
  const msgpack = await bundleApp('app-msgpack', `export { MsgpackSerializer } from 'autostrada/msgpack';\n`);
  const cbor = await bundleApp('app-cbor', `export { CborSerializer } from 'autostrada/cbor';\n`);
  await measure('autostrada/msgpack alone (ESM)', msgpack.code, true);
  await measure('autostrada/cbor alone (ESM)', cbor.code, true);
  assert.ok(msgpack.modules.some((id) => id.includes(`${join('node_modules', 'msgpackr')}`)), 'the msgpack bundle holds msgpackr');
  assert.ok(cbor.modules.some((id) => id.includes(`${join('node_modules', 'cbor-x')}`)), 'the cbor bundle holds cbor-x');
  assert.ok(appModules.length > 0, 'the app was bundled by the previous test');
  for (const id of [...msgpack.modules, ...cbor.modules]) {
    if (/msgpackr|cbor-x|serializers[\\/](msgpack|cbor)/.test(id)) assert.ok(!appModules.includes(id), `${id} leaked into the JSON-only app`);
  }
  // The same check on dist/browser/index.js itself: the codecs are separate entries.
  const index = readFileSync(join(ROOT, 'dist/browser/index.js'), 'utf8');
  assert.doesNotMatch(index, /from 'msgpackr'|from 'cbor-x'/);
});

test('Autobahn|JS browser build (report); ours is smaller', async () => {
  const path = join(ROOT, 'node_modules/autobahn-browser/autobahn.min.js');
  assert.ok(existsSync(path), 'autobahn-browser is a devDependency');
  const m = await measure('autobahn-browser/autobahn.min.js 22.11.1', readFileSync(path, 'utf8'), false);
  assert.ok(umdGzip > 0, 'the UMD bundle was measured first');
  assert.ok(umdGzip < m.gzip, `ours ${umdGzip} B vs Autobahn|JS ${m.gzip} B`);
});

test('no bundle includes web-streams-polyfill (it is an opt-in)', () => {
  const bundles = ['autostrada.umd.js', 'autostrada.full.umd.js'];
  for (const b of bundles) {
    const map = JSON.parse(readFileSync(join(ROOT, 'dist', `${b}.map`), 'utf8')) as { sources: string[] };
    assert.ok(map.sources.length > 10, `${b}.map lists its modules`);
    assert.deepEqual(map.sources.filter((s) => s.includes('web-streams-polyfill')), [], `${b} bundles no polyfill module`);
    const code = readFileSync(join(ROOT, 'dist', b), 'utf8');
    // A message only the polyfill's ReadableStream carries.
    assert.doesNotMatch(code, /ReadableStreamDefaultReader\.prototype|web-streams-polyfill/, `${b} holds polyfill code`);
  }
  for (const f of ['index.js', 'ws.js', 'msgpack.js', 'cbor.js', 'auth.js']) {
    assert.doesNotMatch(readFileSync(join(ROOT, 'dist/browser', f), 'utf8'), /web-streams-polyfill/, `dist/browser/${f} imports no polyfill`);
  }
  assert.ok(!appModules.some((id) => id.includes('web-streams-polyfill')), 'the tree-shaken app has no polyfill');
});

test('the UMD builds evaluate no code (CSP without unsafe-eval): no eval, no new Function', () => {
  for (const b of ['autostrada.umd.min.js', 'autostrada.full.umd.min.js']) {
    const code = readFileSync(join(ROOT, 'dist', b), 'utf8');
    assert.doesNotMatch(code, /new Function\s*\(|(^|[^\w$.])eval\s*\(/, `${b} compiles code at run time`);
  }
});

/**
 * The package as users get it: the export map (condition order, every target
 * built), what each runtime resolves, and what the browser build may not
 * contain (`node:` imports, eval). Needs `npm run build` first (`npm test`
 * builds before it runs the tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  type: string;
  exports: Record<string, unknown>;
  main: string;
  module: string;
  types: string;
};

type Target = string | null | { [condition: string]: Target };

/** Node's PACKAGE_EXPORTS_RESOLVE for one subpath, conditions in object order; null when nothing matches. */
function resolveExport(subpath: string, conditions: ReadonlySet<string>): string | null {
  const walk = (t: Target): string | null => {
    if (t === null) return null;
    if (typeof t === 'string') return t;
    for (const [key, value] of Object.entries(t)) if (key === 'default' || conditions.has(key)) return walk(value);
    return null;
  };
  const entry = pkg.exports[subpath] as Target | undefined;
  return entry === undefined ? null : walk(entry);
}

function allTargets(t: Target, out: string[] = []): string[] {
  if (typeof t === 'string') out.push(t);
  else if (t) for (const v of Object.values(t)) allTargets(v, out);
  return out;
}

function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, suffix));
    else if (p.endsWith(suffix)) out.push(p);
  }
  return out;
}

test('dist/ is built', () => {
  assert.ok(existsSync(join(ROOT, 'dist/browser/index.js')), 'run `npm run build` first');
});

test('export map: conditions in the order types, browser, deno, node, import, default', () => {
  assert.equal(pkg.type, 'module');
  assert.deepEqual(Object.keys(pkg.exports['.'] as object), ['types', 'browser', 'deno', 'node', 'import', 'default']);
  // Node users get the Node typings (with the Node client), everyone else the isomorphic ones.
  assert.equal(resolveExport('.', new Set(['types', 'node', 'import'])), './dist/types/index.node.d.ts');
  assert.equal(resolveExport('.', new Set(['types', 'deno', 'import'])), './dist/types/index.deno.d.ts');
  assert.equal(resolveExport('.', new Set(['types', 'import'])), './dist/types/index.d.ts');
  for (const sub of ['./ws', './msgpack', './cbor', './auth']) {
    assert.deepEqual(Object.keys(pkg.exports[sub] as object), ['types', 'browser', 'deno', 'node', 'import', 'default'], sub);
  }
});

test('export map: autostrada/server resolves only under node', () => {
  assert.deepEqual(Object.keys(pkg.exports['./server'] as object), ['types', 'node']);
  assert.equal(resolveExport('./server', new Set(['node', 'import'])), './dist/node/server.js');
  for (const env of [['browser', 'import'], ['deno', 'import'], ['import'], ['worker', 'import']]) {
    assert.equal(resolveExport('./server', new Set(env)), null, `resolved under ${env.join('+')}`);
  }
});

test('export map: each runtime resolves the right build, and every target exists', () => {
  assert.equal(resolveExport('.', new Set(['browser', 'import'])), './dist/browser/index.js');
  assert.equal(resolveExport('.', new Set(['node', 'import'])), './dist/node/index.js');
  assert.equal(resolveExport('.', new Set(['deno', 'import'])), './dist/deno/index.js');
  assert.equal(resolveExport('./msgpack', new Set(['browser', 'import'])), './dist/browser/msgpack.js');
  assert.equal(resolveExport('./msgpack', new Set(['node', 'import'])), './dist/node/msgpack.js');
  assert.equal(resolveExport('.', new Set(['import'])), './dist/browser/index.js');
  const targets = new Set([pkg.main, pkg.module, pkg.types]);
  for (const entry of Object.values(pkg.exports)) for (const t of allTargets(entry as Target)) targets.add(t);
  for (const t of targets) if (!t.includes('*')) assert.ok(existsSync(join(ROOT, t)), `${t} is in package.json but was not built`);
});

test('Node itself resolves the package by name, with and without the browser condition', () => {
  const probe = (flags: string[], spec: string): string =>
    execFileSync(process.execPath, [...flags, '--input-type=module', '-e', `console.log(import.meta.resolve('${spec}'))`], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
  assert.match(probe([], 'autostrada'), /\/dist\/node\/index\.js$/);
  assert.match(probe(['--conditions=browser'], 'autostrada'), /\/dist\/browser\/index\.js$/);
  assert.match(probe([], 'autostrada/server'), /\/dist\/node\/server\.js$/);
  // The Node entry loads and has the Node client; the server entry loads.
  const keys = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('autostrada'); const s = await import('autostrada/server'); console.log(typeof m.WebSocket, typeof s.WebSocketServer)"],
    { cwd: ROOT, encoding: 'utf8' },
  ).trim();
  assert.equal(keys, 'function function');
});

test('the browser builds import no node: module and use no eval', () => {
  const files = [
    ...filesUnder(join(ROOT, 'dist/browser'), '.js'),
    ...filesUnder(join(ROOT, 'dist/deno'), '.js'),
    join(ROOT, 'dist/autostrada.umd.js'),
    join(ROOT, 'dist/autostrada.umd.min.js'),
    join(ROOT, 'dist/autostrada.full.umd.js'),
    join(ROOT, 'dist/autostrada.full.umd.min.js'),
  ];
  assert.ok(files.length >= 3);
  for (const f of files) {
    // Comments may mention Node APIs; code may not. (Stripping `//…` also eats the
    // tail of strings like 'ws://…', which can only hide text, never add a match.)
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/, `${f} imports a node: module`);
    assert.doesNotMatch(code, /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](?:fs|net|tls|http|https|zlib|crypto|stream|buffer)["']/, `${f} imports a Node builtin`);
    assert.doesNotMatch(code, /\beval\s*\(|\bnew\s+Function\s*\(/, `${f} uses eval`);
    // The full UMD bundles msgpackr and cbor-x, which test `typeof Buffer` first; our own code may not use them at all.
    if (!f.includes('.full.')) assert.doesNotMatch(code, /\bprocess\.(?:nextTick|env|versions)\b|\bBuffer\.(?:from|alloc)/, `${f} uses Node globals`);
  }
});

test('publint finds nothing to complain about', () => {
  const bin = join(ROOT, 'node_modules/publint/src/cli.js');
  const out = execFileSync(process.execPath, [bin, '--strict'], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /All good!/, out);
});

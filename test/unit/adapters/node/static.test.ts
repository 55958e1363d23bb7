import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createStaticHandler, resolveStaticPath } from '../../../../src/adapters/node/static.js';

const root = mkdtempSync(join(tmpdir(), 'autostrada-static-'));
writeFileSync(join(root, 'index.html'), '<h1>hi</h1>');
writeFileSync(join(root, 'app.js'), 'console.log(1)');
mkdirSync(join(root, 'sub'));
writeFileSync(join(root, 'sub', 'index.html'), 'sub');
const outside = mkdtempSync(join(tmpdir(), 'autostrada-outside-'));
writeFileSync(join(outside, 'secret.txt'), 'secret');

function get(server: Server, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function withServer(fn: (s: Server) => Promise<void>): Promise<void> {
  const server = createServer(createStaticHandler(root, { files: { '/extra.js': join(outside, 'secret.txt') } }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(server);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('resolveStaticPath keeps every path inside the root', () => {
  assert.equal(resolveStaticPath(root, '/app.js'), join(root, 'app.js'));
  assert.equal(resolveStaticPath(root, '/'), root);
  assert.equal(resolveStaticPath(root, '/a/../app.js?x=1'), join(root, 'app.js'));
  // Traversal out of the root is refused, literal or percent-encoded.
  assert.equal(resolveStaticPath(root, '/../../etc/passwd'), null);
  assert.equal(resolveStaticPath(root, '/%2e%2e/%2e%2e/etc/passwd'), null);
  assert.equal(resolveStaticPath(root, '/..%5c..%5csecret'), null, 'encoded backslash refused');
  assert.equal(resolveStaticPath(root, '/a%00b'), null, 'NUL refused');
  assert.equal(resolveStaticPath(root, '/%E0%A4%A'), null, 'malformed escape refused');
  assert.equal(resolveStaticPath(root, 'app.js'), null, 'relative path refused');
});

test('serves files with content type, ETag and 304, HEAD without body', async () => {
  await withServer(async (s) => {
    const index = await get(s, '/');
    assert.equal(index.status, 200);
    assert.equal(index.body, '<h1>hi</h1>');
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    const js = await get(s, '/app.js');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['content-length'], String('console.log(1)'.length));
    const etag = js.headers['etag'] as string;
    assert.match(etag, /^W\/"/);
    const again = await get(s, '/app.js', 'GET', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    const head = await get(s, '/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });
});

test('directories: redirect to the slash form, then index.html', async () => {
  await withServer(async (s) => {
    const r = await get(s, '/sub?q=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers['location'], '/sub/?q=1');
    const ok = await get(s, '/sub/');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'sub');
  });
});

test('404, 405, 400 and extra exact-path files', async () => {
  await withServer(async (s) => {
    assert.equal((await get(s, '/nope.js')).status, 404);
    const post = await get(s, '/app.js', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    assert.equal((await get(s, '/a%00b')).status, 400);
    assert.equal((await get(s, '/../' + '../secret.txt')).status, 400);
    const extra = await get(s, '/extra.js');
    assert.equal(extra.status, 200);
    assert.equal(extra.body, 'secret');
  });
});

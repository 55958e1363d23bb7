/**
 * The documentation's ```html examples (README.md, docs/*.md), run in
 * Chromium as pages served by our router (the browser fixture: realm1,
 * ticket user joe, SCRAM user "user"/"pencil"), with the CDN URLs pointed at
 * this checkout: `https://unpkg.com/<pkg>/…` → `/node_modules/<pkg>/…`, and
 * `/node_modules/autostrada/…` → this package. A page must raise no error
 * and, if it has `console.log` calls, get to at least one. Blocks flagged `no-run`
 * (fragments) are skipped with their reason. ```ts examples run under Node in
 * test/docs/examples.test.ts; ```js ones are bundler-only snippets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { BrowserFixture, ROOT, requireDist } from './fixture.js';

interface Block {
  where: string;
  html: string;
  flags: string[];
}

function htmlBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```html(?:\s+(.*))?$/.exec(lines[i] as string);
    if (!m) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j] !== '```') j++;
    out.push({ where: `${file}:${start}`, html: lines.slice(start, j).join('\n'), flags: (m[1] ?? '').split(/\s+/).filter(Boolean) });
    i = j;
  }
  return out;
}

const blocks = [
  ...htmlBlocks('README.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .flatMap((f) => htmlBlocks(`docs/${f}`)),
];

function localize(html: string): string {
  return html
    .replace(/https:\/\/unpkg\.com\/([^/"']+)\//g, '/node_modules/$1/')
    .replace(/\/node_modules\/autostrada\//g, '/');
}

let fx: BrowserFixture;
let browser: Browser;
const files: Record<string, string> = {};
blocks.forEach((b, i) => (files[`doc-example-${i}.html`] = `<!doctype html><meta charset="utf-8">\n${localize(b.html)}\n`));

before(async () => {
  requireDist(['dist/autostrada.umd.min.js', 'dist/browser/index.js']);
  fx = await BrowserFixture.start(files);
  // What the examples call, besides the fixture's own procedures.
  await fx.backend.session.register('com.example.add', (args) => (args[0] as number) + (args[1] as number));
  await fx.backend.session.register('demo.counter.get', () => 7);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await fx?.close();
});

test('there are html examples to run', () => {
  assert.ok(blocks.filter((b) => !b.flags.includes('no-run')).length >= 3, blocks.map((b) => b.where).join(', '));
});

blocks.forEach((block, i) => {
  const skip = block.flags.includes('no-run') ? `marked no-run` : false;
  test(block.where, { skip }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    const logs: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.stack ?? String(e)}`));
    page.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()));
    try {
      const response = await page.goto(fx.url(`doc-example-${i}.html`));
      assert.equal(response?.status(), 200);
      // Some console.log calls sit in event handlers; at least one must have run.
      const promised = Math.min(1, (block.html.match(/console\.log\(/g) ?? []).length);
      const deadline = Date.now() + 10_000;
      while (logs.length < promised && errors.length === 0 && Date.now() < deadline) await page.waitForTimeout(50);
      await page.waitForTimeout(200); // late errors
      assert.deepEqual(errors, [], `errors in ${block.where}:\n${errors.join('\n')}`);
      assert.ok(logs.length >= promised, `${block.where} logged nothing: ${JSON.stringify(logs)}`);
    } finally {
      await context.close();
    }
  });
});

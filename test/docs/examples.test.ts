/**
 * The documentation's examples, run for real.
 *
 * Every ```ts block in README.md and docs/*.md, and every ```ts block under a
 * TSDoc `@example` in src/, is written to test/docs/.tmp/ (git-ignored) with
 * the package imports pointed at the sources ('autostrada' → src/index.node.ts,
 * 'autostrada/server' → src/server.ts), type-checked (one tsc run over all of
 * them: the repository's tsconfig plus lib DOM.AsyncIterable, which `for
 * await` over a ReadableStream needs), and run with
 * `node --import tsx <file>` (with console.assert made to throw, see
 * strict-assert.mjs), which must exit 0 within its time limit. So an
 * example must be a whole program that ends by itself: close what it opens,
 * use 127.0.0.1 and port 0.
 *
 * Flags after ```ts in Markdown:
 *   no-run         not run and not type-checked (say why next to the block)
 *   needs=openssl  skipped when the `openssl` binary is missing
 *
 * TSDoc examples are fragments: they use the exports of their own module
 * without importing them, and some use a variable the prose implies (`ws`, an
 * open connection). Here they get the missing imports added (exports of their
 * module, then of src/index.node.ts and src/server.ts), and the few that need
 * more get a fixture, listed in FIXTURES below; the example's own text is run
 * unchanged otherwise. An example no fixture makes whole fails, by design.
 *
 * KEEP_DOC_EXAMPLES=1 keeps test/docs/.tmp/ for inspection.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = join(ROOT, 'test/docs/.tmp');
const ENTRY = join(ROOT, 'src/index.node.ts');
const SERVER = join(ROOT, 'src/server.ts');
const CONNECTION = join(ROOT, 'src/connection.ts');
/** Makes console.assert throw in the examples (see strict-assert.mjs). */
const STRICT_ASSERT = pathToFileURL(join(ROOT, 'test/docs/strict-assert.mjs')).href;
/** Per example: generous, since 2 cores may be shared with builds and benchmarks. */
const RUN_TIMEOUT_MS = 20_000;

interface Example {
  /** Path relative to the repository, e.g. `README.md`, `src/connection.ts`. */
  file: string;
  /** 1-based line of the example's first code line in `file`. */
  line: number;
  code: string;
  kind: 'markdown' | 'tsdoc';
  flags: string[];
}

// ---------------------------------------------------------------- extraction

const OPEN_FENCE = /^(\s*)```(ts|typescript)(?:\s+(.*))?$/;
const CLOSE_FENCE = /^\s*```\s*$/;

/** ```ts blocks of a Markdown file, also indented ones (in lists); other fences are skipped whole. */
function markdownExamples(file: string): Example[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Example[] = [];
  let inOther = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (inOther) {
      if (CLOSE_FENCE.test(l)) inOther = false;
      continue;
    }
    const m = OPEN_FENCE.exec(l);
    if (!m) {
      if (/^\s*```/.test(l)) inOther = true;
      continue;
    }
    const indent = (m[1] as string).length;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !CLOSE_FENCE.test(lines[end] as string)) end++;
    if (end === lines.length) throw new Error(`${file}:${i + 1}: unterminated code block`);
    const code = lines.slice(start, end).map((c) => c.slice(Math.min(indent, c.length - c.trimStart().length)));
    out.push({ file, line: start + 1, code: code.join('\n') + '\n', kind: 'markdown', flags: (m[3] ?? '').split(/\s+/).filter(Boolean) });
    i = end;
  }
  return out;
}

/** ```ts blocks that follow an `@example` tag inside a /** … *\/ comment. */
function tsdocExamples(file: string): Example[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Example[] = [];
  let inDoc = false;
  let afterExample = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (!inDoc) {
      if (/^\s*\/\*\*/.test(raw) && !raw.includes('*/')) {
        inDoc = true;
        afterExample = false;
      }
      continue;
    }
    if (raw.includes('*/')) {
      inDoc = false;
      continue;
    }
    const l = raw.replace(/^\s*\* ?/, '');
    if (/^@example\b/.test(l)) {
      afterExample = true;
      continue;
    }
    if (/^@\w/.test(l)) afterExample = false;
    if (!afterExample || !OPEN_FENCE.test(l)) continue;
    const code: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const c = (lines[j] as string).replace(/^\s*\* ?/, '');
      if (CLOSE_FENCE.test(c) || (lines[j] as string).includes('*/')) break;
      code.push(c);
    }
    out.push({ file, line: i + 2, code: code.join('\n') + '\n', kind: 'tsdoc', flags: [] });
    afterExample = false;
    i = j;
  }
  return out;
}

function collect(): Example[] {
  const md = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const src = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => `src/${f.split('\\').join('/')}`);
  return [...md.flatMap(markdownExamples), ...src.flatMap(tsdocExamples)];
}

// ---------------------------------------------------------------- programs

const q = (path: string): string => JSON.stringify(path);

/** Point the package's import specifiers (and, in src/, relative ones) at the sources. */
function rewriteImports(code: string, ex: Example): string {
  let out = code.replace(/((?:from|import)\s*\(?\s*)(['"])autostrada(\/server)?\2/g, (_m, pre: string, _quote: string, sub: string | undefined) => pre + q(sub ? SERVER : ENTRY));
  if (ex.kind === 'tsdoc') {
    const dir = dirname(join(ROOT, ex.file));
    out = out.replace(/((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]+)\2/g, (_m, pre: string, _quote: string, spec: string) => pre + q(resolve(dir, spec).replace(/\.js$/, '.ts')));
  }
  return out;
}

/**
 * Context a TSDoc fragment needs to run, as prelude/epilogue code around the
 * unchanged example (the url fixture also points a hard-coded URL at its own
 * server). `applies` names the example by file and a phrase of its code.
 */
interface Fixture {
  name: string;
  applies: (ex: Example) => boolean;
  prelude?: string;
  epilogue?: string;
  rewrite?: (code: string) => string;
}

const DEFLATE_PARAMS = '{ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }';

/** An echo server on port 0 (`__wss`, `__url`). */
const ECHO_SERVER = `import { WebSocketServer as __Server } from ${q(SERVER)};
const __wss = new __Server({ port: 0 });
__wss.on('connection', (c) => { c.onmessage = (e) => c.send(e.raw, { binary: e.binary }); });
await __wss.ready();
const __url = \`ws://127.0.0.1:\${__wss.address()!.port}/\`;
`;

const FIXTURES: Fixture[] = [
  {
    // `ws` is the server's side of an open connection. Its peer sends 'hello'
    // once open and closes (1000) after the first message it receives.
    name: 'ws: an open server-side connection',
    applies: (ex) => ex.file === 'src/connection.ts' && /(^|[^.\w$])ws\./.test(ex.code) && !/\b(const|let|var)\s+ws\b/.test(ex.code),
    prelude: `import { WebSocketServer as __Server } from ${q(SERVER)};
import { WebSocket as __Client } from ${q(ENTRY)};
import type { WebSocketConnection as __Conn } from ${q(CONNECTION)};
const __wss = new __Server({ port: 0 });
await __wss.ready();
const __accepted = new Promise<__Conn>((r) => __wss.on('connection', (c) => r(c)));
const __peer = new __Client(\`ws://127.0.0.1:\${__wss.address()!.port}/\`);
__peer.onopen = () => __peer.send('hello');
__peer.onmessage = () => __peer.close(1000);
const ws = await __accepted;
`,
    epilogue: `if (ws.readyState !== 3) await new Promise((r) => ws.addEventListener('close', r));
await __wss.close();
`,
  },
  {
    name: 'params: negotiated permessage-deflate parameters (RFC 7692 defaults)',
    applies: (ex) => ex.file === 'src/core/deflate/codec.ts' && /new PerMessageDeflate\(\{ params,/.test(ex.code),
    prelude: `const params = ${DEFLATE_PARAMS};\n`,
  },
  {
    name: 'OrderedQueue: a codec, one compressed piece, emit/abort',
    applies: (ex) => ex.file === 'src/core/deflate/codec.ts' && /new OrderedQueue/.test(ex.code),
    prelude: `import { PerMessageDeflate as __PMD } from ${q(join(ROOT, 'src/core/deflate/codec.ts'))};
import { pakoBackend as __pako } from ${q(ENTRY)};
const codec = new __PMD({ params: ${DEFLATE_PARAMS}, role: 'server', backend: __pako, maxMessageSize: 1 << 20 });
const __sender = new __PMD({ params: ${DEFLATE_PARAMS}, role: 'client', backend: __pako, maxMessageSize: 1 << 20 });
const piece = __sender.deflate(new TextEncoder().encode('hello'), true) as Uint8Array;
const fin = true;
const size = 0;
const emit = (chunks: Uint8Array[]): void => console.log(chunks.map((c) => new TextDecoder().decode(c)).join(''));
const abort = (e: unknown): void => { throw e; };
`,
  },
  {
    name: 'socket/handle: a stream that then receives a 101 response',
    applies: (ex) => ex.file === 'src/core/ws/handshake.ts' && /new HttpHeadParser/.test(ex.code),
    prelude: `import { PassThrough as __PassThrough } from 'node:stream';
const socket = new __PassThrough();
const handle = (head: { startLine: string[] }, rest: Uint8Array): void => console.log(head.startLine, rest.length);
`,
    epilogue: `socket.emit('data', Buffer.from('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n\\r\\n'));\n`,
  },
  {
    name: 'socketReadable: one masked text frame "Hi" from a client',
    applies: (ex) => ex.file === 'src/core/streams/pipeline.ts' && /socketReadable/.test(ex.code),
    prelude: `const socketReadable = new ReadableStream<Uint8Array>({
  start(c) { c.enqueue(new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x48 ^ 1, 0x69 ^ 2])); c.close(); },
});
`,
  },
  {
    name: 'the client example: its URL points at an echo server of ours',
    applies: (ex) => ex.file === 'src/adapters/node/client.ts' && /'ws:\/\/127\.0\.0\.1:9000\/'/.test(ex.code),
    prelude: ECHO_SERVER,
    rewrite: (code) => code.replace(`'ws://127.0.0.1:9000/'`, '__url'),
    epilogue: `if (ws.readyState !== 3) await new Promise((r) => ws.addEventListener('close', r));
await __wss.close();
`,
  },
  {
    name: 'the server example: close it at the end',
    applies: (ex) => ex.file === 'src/adapters/node/server.ts' && /const wss = new WebSocketServer/.test(ex.code) && !/wss\.close\(/.test(ex.code),
    epilogue: 'await wss.close();\n',
  },
];

/** Value exports of a module, by name (types are erased and need no import to run). */
async function valueExports(path: string): Promise<string[]> {
  return Object.keys(await import(path));
}

/** Imports for the names a TSDoc fragment uses but neither imports nor declares. */
async function autoImports(ex: Example, code: string): Promise<string> {
  // Not a CLI module: importing it would run the tool.
  const modules = [...(ex.file.startsWith('src/cli/') ? [] : [join(ROOT, ex.file)]), ENTRY, SERVER];
  const scan = code.replace(/(^|\s)\/\/.*$/gm, '$1').replace(/(['"`])(?:\\.|(?!\1).)*\1/g, '""');
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const mod of modules) {
    const names = (await valueExports(mod)).filter((n) => {
      if (seen.has(n)) return false;
      const used = new RegExp(`(^|[^.\\w$])${n}\\b`).test(scan);
      const declared = new RegExp(`\\b(const|let|var|function|class)\\s+${n}\\b|import[^;]*\\b${n}\\b[^;]*from`).test(code);
      return used && !declared;
    });
    for (const n of names) seen.add(n);
    if (names.length) lines.push(`import { ${names.join(', ')} } from ${q(mod)};`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

interface Program {
  ex: Example;
  path: string;
  /** Lines before the example's first line in the program. */
  offset: number;
  text: string;
  skip: string | false;
}

function skipReason(ex: Example): string | false {
  if (ex.flags.includes('no-run')) return 'marked no-run';
  if (ex.flags.includes('needs=openssl')) {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      return 'the openssl binary is missing';
    }
  }
  return false;
}

async function buildProgram(ex: Example): Promise<Program> {
  const fx = ex.kind === 'tsdoc' ? FIXTURES.find((f) => f.applies(ex)) ?? null : null;
  let body = rewriteImports(ex.code, ex);
  if (fx?.rewrite) body = fx.rewrite(body);
  // Imports are hoisted, so the example's own may follow the fixture's code.
  const header = `// ${ex.file}:${ex.line}${fx ? ` (fixture: ${fx.name})` : ''}\n`;
  const head = header + (ex.kind === 'tsdoc' ? await autoImports(ex, body) : '') + (fx?.prelude ?? '');
  const text = head + body + (fx?.epilogue ? `\n${fx.epilogue}` : '') + '\nexport {};\n';
  const offset = head.split('\n').length - 1;
  const name = `${ex.file.replace(/[/.]/g, '_')}-L${ex.line}.ts`;
  return { ex, path: join(TMP, name), offset, text, skip: skipReason(ex) };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; signal: string | null; out: string; timedOut: boolean }> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, out, timedOut });
    });
  });
}

/** The `lib` of the repository's tsconfig.json. */
function repoLib(): string[] {
  try {
    const lib = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions?: { lib?: string[] } }).compilerOptions?.lib;
    if (lib) return lib;
  } catch {
    // not plain JSON (comments): fall back to what it has said so far
  }
  return ['ES2022', 'DOM', 'DOM.Iterable'];
}

// ---------------------------------------------------------------- tests

const examples = collect();
const programs: Program[] = [];

before(async () => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  for (const ex of examples) {
    const p = await buildProgram(ex);
    writeFileSync(p.path, p.text);
    programs.push(p);
  }
  const files = programs.filter((p) => !p.ex.flags.includes('no-run')).map((p) => relative(TMP, p.path));
  // The repository's settings, plus what a user of the examples needs:
  // importing .ts paths (the rewritten imports), and DOM.AsyncIterable for
  // `for await` over a ReadableStream (the README says so). Unused locals are
  // fine in an example.
  const compilerOptions = {
    allowImportingTsExtensions: true,
    noEmit: true,
    noUnusedLocals: false,
    lib: [...new Set([...repoLib(), 'DOM.AsyncIterable'])],
  };
  writeFileSync(join(TMP, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions, include: [], files }, null, 2));
});

after(() => {
  if (!process.env.KEEP_DOC_EXAMPLES) rmSync(TMP, { recursive: true, force: true });
});

test('the documentation has examples in README.md, docs/ and src/ TSDoc', () => {
  assert.ok(examples.some((e) => e.file === 'README.md'), 'README.md has ```ts examples');
  assert.ok(examples.some((e) => e.file.startsWith('docs/')), 'docs/*.md have ```ts examples');
  assert.ok(examples.some((e) => e.kind === 'tsdoc'), 'src/ has TSDoc @example blocks');
});

test('every example type-checks (tsc, the repository tsconfig + DOM.AsyncIterable)', { timeout: 120_000 }, async () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = await run(process.execPath, [tsc, '--noEmit', '-p', join(TMP, 'tsconfig.json')], 110_000);
  if (r.code === 0) return;
  // Map `.tmp/<program>.ts(line,col)` back to the documentation's own line.
  const mapped = r.out.replace(/(?:test\/docs\/\.tmp\/)?([\w-]+-L\d+\.ts)\((\d+),(\d+)\)/g, (m, name: string, line: string, col: string) => {
    const p = programs.find((x) => x.path.endsWith('/' + name));
    if (!p) return m;
    const l = Number(line) - p.offset;
    return l >= 1 && l <= p.ex.code.split('\n').length ? `${p.ex.file}:${p.ex.line + l - 1}:${col}` : `${p.ex.file}:${p.ex.line} (fixture line ${line})`;
  });
  assert.fail(`tsc found errors in the examples:\n${mapped}`);
});

describe('every example runs and exits 0', { concurrency: 2 }, () => {
  for (const ex of examples) {
    const title = `${ex.file}:${ex.line}`;
    test(title, { timeout: RUN_TIMEOUT_MS + 5000 }, async (t) => {
      const p = programs.find((x) => x.ex === ex) as Program;
      if (p.skip) {
        t.skip(p.skip);
        return;
      }
      const r = await run(process.execPath, ['--import', 'tsx', '--import', STRICT_ASSERT, p.path], RUN_TIMEOUT_MS);
      assert.ok(!r.timedOut, `${title}: still running after ${RUN_TIMEOUT_MS} ms (an example must close what it opens)\n${r.out}`);
      assert.equal(r.code, 0, `${title}: exit code ${r.code}${r.signal ? ` (${r.signal})` : ''}\n${r.out}`);
    });
  }
});

/**
 * What every browser test needs: our Router on an ephemeral port serving the
 * test pages (test/browser/pages), dist/ and node_modules/ (for the ESM import
 * map) as static files, with every browser-capable authentication method
 * configured with static principals; a backend session in the router's process
 * offering the procedures the pages call; and a page wrapper that turns
 * browser-side failures (exceptions, `pageerror`, console errors) into test
 * failures carrying the page's own error text.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Router } from '../../src/router/server.js';
import type { RouterServerOptions } from '../../src/router/server.js';
import { Session } from '../../src/wamp/session.js';
import { ApplicationError, InvocationResult } from '../../src/wamp/session.js';
import { createLocalTransportPair } from '../../src/wamp/transport.js';
import { generateKeyPair, type CryptosignKey } from '../../src/wamp/auth/cryptosign-key.js';
import { deriveScramCredential } from '../../src/wamp/auth/server.js';
import { toHex } from '../../src/wamp/auth/bytes.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const PAGES = join(ROOT, 'test/browser/pages');

/** Fails clearly when the build output the pages load is missing. */
export function requireDist(files: string[]): void {
  for (const f of files) assert.ok(existsSync(join(ROOT, f)), `${f} is missing: run \`npm run build\` first (npm test does)`);
}

/** A loopback port nobody listens on (bound, then released): connecting is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Secrets the pages authenticate with (the router's static principals match). */
export interface Credentials {
  ticket: { authid: string; secret: string };
  cra: { authid: string; secret: string };
  craSalted: { authid: string; secret: string };
  cryptosign: { authid: string; privateKeyHex: string };
  scram: { authid: string; secret: string };
  scramAutobahn: { authid: string; secret: string };
}

/** The backend: the procedures the pages call, run by a trusted session inside the router's process. */
export interface Backend {
  session: Session;
  /** INTERRUPTs seen by `test.slow`. */
  interrupts: number;
  stop(): Promise<void>;
}

async function startBackend(router: Router): Promise<Backend> {
  const [client, server] = createLocalTransportPair();
  router.attach(server, { trusted: true });
  const session = await Session.join(client, 'realm1', { authid: 'backend', onUserError: () => {} });
  const backend: Backend = { session, interrupts: 0, stop: async () => void (await session.leave().catch(() => {})) };
  await session.register('test.add', (args) => (args[0] as number) + (args[1] as number));
  await session.register('test.echo', (args, kwargs) => new InvocationResult(args, kwargs));
  await session.register('test.fail', (args) => {
    throw new ApplicationError('test.error.custom', ['it failed', ...args], { detail: 42 });
  });
  await session.register('test.publish', async (args) => {
    const [topic, ...rest] = args as [string, ...unknown[]];
    await session.publish(topic, rest, { from: 'backend' }, { acknowledge: true });
    return null;
  });
  await session.register('test.progress', async (args, _kwargs, details) => {
    const n = args[0] as number;
    for (let i = 0; i < n; i++) await details.sendProgress?.([i]);
    return 'done';
  });
  await session.register('test.slow', (_args, _kwargs, details) => {
    return new Promise((_resolve, reject) => {
      details.signal.addEventListener('abort', () => {
        backend.interrupts++;
        reject(details.signal.reason);
      });
    });
  });
  await session.register('test.interrupts', () => backend.interrupts);
  // Calls a progressive procedure (of a page) and reports what arrived: count, order, bytes.
  await session.register('test.consume', async (args) => {
    let count = 0;
    let inOrder = true;
    let bytes = 0;
    const final = await session.call(args[0] as string, [], {}, {
      onProgress: (r) => {
        inOrder &&= r.args[0] === count;
        count++;
        bytes += (r.args[1] as Uint8Array).length;
      },
    });
    return { count, inOrder, bytes, final: final.args[0] };
  });
  await session.register('test.kill_me', async (args) => {
    await session.call('wamp.session.kill', [args[0]], { reason: 'test.kicked', message: 'asked for it' });
    return null;
  });
  return backend;
}

/** A running router + backend serving the pages; `restart()` brings up a new router on the same port. */
export class BrowserFixture {
  router!: Router;
  backend!: Backend;
  port = 0;
  readonly credentials: Credentials;
  private readonly root: string;
  private readonly options: RouterServerOptions;

  private constructor(root: string, options: RouterServerOptions, credentials: Credentials) {
    this.root = root;
    this.options = options;
    this.credentials = credentials;
  }

  /**
   * @param extraFiles - more files for the static root (name → content), e.g. a bundle built by the test
   */
  static async start(extraFiles: Record<string, string | Uint8Array> = {}): Promise<BrowserFixture> {
    // The static root: the pages, dist/ and node_modules/ as symlinks, and the extra files.
    const root = mkdtempSync(join(tmpdir(), 'autostrada-browser-'));
    for (const f of readdirSync(PAGES)) symlinkSync(join(PAGES, f), join(root, f));
    symlinkSync(join(ROOT, 'dist'), join(root, 'dist'), 'dir');
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    writeFileSync(join(root, 'favicon.ico'), new Uint8Array(0)); // Chromium asks for it; a 404 would be a console error
    for (const [name, content] of Object.entries(extraFiles)) writeFileSync(join(root, name), content);

    const key: CryptosignKey = generateKeyPair();
    const credentials: Credentials = {
      ticket: { authid: 'joe', secret: 'ticket-secret' },
      cra: { authid: 'peter', secret: 'cra-secret' },
      craSalted: { authid: 'salty', secret: 'salted password' },
      cryptosign: { authid: 'alice', privateKeyHex: toHex(key.privateKey) },
      scram: { authid: 'user', secret: 'pencil' },
      scramAutobahn: { authid: 'user', secret: 'pencil' },
    };
    const scramSpec = await deriveScramCredential('pencil', { kdf: 'pbkdf2', iterations: 1000 });
    const scramAutobahn = await deriveScramCredential('pencil', { kdf: 'argon2id-13', iterations: 1, memory: 1024 });
    const options: RouterServerOptions = {
      realms: [{ name: 'realm1' }],
      auth: {
        anonymous: { type: 'static' },
        ticket: { type: 'static', principals: { joe: { ticket: 'ticket-secret', role: 'user' } } },
        wampcra: {
          type: 'static',
          principals: {
            peter: { secret: 'cra-secret', role: 'user' },
            salty: { secret: 'salted password', role: 'admin', salt: 'salt-for-salty', iterations: 1000, keylen: 32 },
          },
        },
        cryptosign: { type: 'static', principals: { alice: { authorized_keys: [key.publicKeyHex], role: 'device' } } },
        'wamp-scram': { type: 'static', principals: { user: { ...scramSpec, role: 'frontend' } } },
        scram: { type: 'static', principals: { user: { ...scramAutobahn, role: 'frontend' } } },
      },
    };
    const fixture = new BrowserFixture(root, options, credentials);
    await fixture.listen(0);
    return fixture;
  }

  /** `http://127.0.0.1:<port>/<path>` */
  url(path = ''): string {
    return `http://127.0.0.1:${this.port}/${path}`;
  }

  private async listen(port: number): Promise<void> {
    this.router = new Router(this.options);
    // The port was just freed by close(); retry briefly if the OS is slow to release it.
    for (let attempt = 0; ; attempt++) {
      try {
        const addr = await this.router.listen({ port, host: '127.0.0.1', static: { root: this.root } });
        this.port = addr.port;
        break;
      } catch (err) {
        if (attempt >= 20 || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.backend = await startBackend(this.router);
  }

  /** Stops the router (GOODBYE to every session) and starts a new one, with a new backend, on the same port. */
  async restart(downMs = 300): Promise<void> {
    const port = this.port;
    await this.backend.stop();
    // Takes ~5 s while the page holds an idle HTTP keep-alive connection:
    // Router.close() waits for it (Node 20's server.close() leaves idle sockets to their keep-alive timeout).
    await this.router.close();
    await new Promise((r) => setTimeout(r, downMs));
    await this.listen(port);
  }

  async close(): Promise<void> {
    await this.backend?.stop();
    await this.router?.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A page whose failures become test failures with the page's own error text. */
export class TestPage {
  readonly errors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('pageerror', (e) => this.errors.push(`pageerror: ${e.stack ?? String(e)}`));
    page.on('console', (m) => {
      if (m.type() === 'error') this.errors.push(`console.error: ${m.text()}`);
    });
    page.on('crash', () => this.errors.push('the page crashed'));
  }

  /** Opens `url` in a fresh context and waits until the page defined `window.A` (the API object). */
  static async open(browser: Browser, url: string): Promise<TestPage> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const tp = new TestPage(context, page);
    const response = await page.goto(url);
    assert.equal(response?.status(), 200, `GET ${url}`);
    try {
      await page.waitForFunction(() => Boolean((window as unknown as { A?: unknown }).A && (window as unknown as { autostradaTest?: unknown }).autostradaTest), undefined, { timeout: 15_000 });
    } catch (err) {
      throw new Error(`${url} did not load the library: ${String(err)}\n${tp.errors.join('\n')}`);
    }
    return tp;
  }

  /** Runs `window.autostradaTest[name](window.A, arg)` in the page. */
  async run<T = Record<string, unknown>>(name: string, arg: unknown = {}, timeoutMs = 60_000): Promise<T> {
    const job = this.page.evaluate(
      ([n, a]) => {
        const w = window as unknown as { A: unknown; autostradaTest: Record<string, (api: unknown, arg: unknown) => unknown> };
        return w.autostradaTest[n as string]!(w.A, a);
      },
      [name, arg] as const,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return (await Promise.race([job, timeout])) as T;
    } catch (err) {
      throw new Error(`in the page, ${name}(${JSON.stringify(arg)}) failed: ${err instanceof Error ? err.message : String(err)}${this.errors.length ? `\npage errors:\n${this.errors.join('\n')}` : ''}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** No page errors so far, except those matching `allowed` (e.g. Chromium's log line for a refused WebSocket). */
  assertNoErrors(allowed?: RegExp): void {
    const left = allowed ? this.errors.filter((e) => !allowed.test(e)) : this.errors;
    assert.deepEqual(left, [], `errors in the page:\n${left.join('\n')}`);
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** What `basics` returns when everything works (protocol and binary timing vary). */
export function expectedBasics(protocol: string, binarySize = 4 * 1024 * 1024): Record<string, unknown> {
  return {
    protocol,
    joined: { id: 'number', authmethod: 'anonymous' },
    add: 5,
    mul: 42,
    error: {
      name: 'ApplicationError',
      code: 'WAMP_ERR_APPLICATION',
      uri: 'test.error.custom',
      args: ['it failed', 'why'],
      message: 'test.error.custom: it failed',
    },
    noProcedure: 'wamp.error.no_such_procedure',
    publication: 'number',
    events: [
      ['from backend', 'backend'],
      ['from page', 'page'],
    ],
    progressive: { iterated: [0, 1, 2, 3], final: 'done' },
    onProgress: { progress: [0, 1, 2], final: 'done' },
    stream: { streamed: [0, 1], final: 'done' },
    canceled: 'WAMP_ERR_CANCELED',
    interrupted: 1,
    ...(binarySize > 0 ? { binary: { same: true, size: binarySize, kwargs: { name: 'blob' } } } : {}),
    left: 'wamp.close.normal',
    cspViolations: [],
  };
}

/** `basics` output without its timing, for deepEqual. */
export function withoutTiming(r: Record<string, unknown>): Record<string, unknown> {
  const binary = r.binary as Record<string, unknown> | undefined;
  if (!binary) return r;
  const { ms: _ms, ...rest } = binary;
  return { ...r, binary: rest };
}

/**
 * `autostrada router [--port 8080] [--host 127.0.0.1] [--config router.json] [--no-demo]`:
 * runs the WAMP router on one port — WebSocket at `/ws`, RawSocket, and the
 * demo (or the configured static directory) at `/` — until SIGINT/SIGTERM,
 * then says GOODBYE to every session and exits 0.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type WampListenerOptions } from '../router/server.js';
import { loadRouterConfig, validateRouterConfig, type RouterConfigFile } from '../router/config.js';
import type { AuthConfig } from '../router/auth.js';
import type { RouterOptions } from '../router/router.js';
import { startDemoBackend } from '../router/demo-backend.js';
import { parseArgs } from './args.js';

const USAGE = 'usage: autostrada router [--port 8080] [--host 127.0.0.1] [--config router.json] [--no-demo] [--quiet]';

/** The package root (this file is src/cli/ or dist/node/cli/ or dist/node/chunks/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'autostrada') return dir;
    } catch {
      // not here
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Maps the config file's auth section onto the router's. */
export function authFromConfig(auth: RouterConfigFile['auth']): AuthConfig | undefined {
  if (!auth) return undefined;
  const out: AuthConfig = {};
  if (auth.anonymous !== undefined && auth.anonymous !== false) out.anonymous = auth.anonymous;
  if (auth.ticket) out.ticket = auth.ticket;
  if (auth.wampcra) out.wampcra = auth.wampcra;
  if (auth.cryptosign) out.cryptosign = auth.cryptosign;
  if (auth.scram) out.scram = auth.scram as AuthConfig['scram'];
  if (auth['wamp-scram']) out['wamp-scram'] = auth['wamp-scram'] as AuthConfig['wamp-scram'];
  return out;
}

/** What a config file means: the router's options and where it listens. */
export function routerSetup(cfg: RouterConfigFile): { router: RouterOptions; listen: WampListenerOptions; demo: boolean } {
  const root = packageRoot();
  const demoDir = join(root, 'demo');
  const staticDir = cfg.static === undefined ? demoDir : cfg.static;
  const auth = authFromConfig(cfg.auth);
  const router: RouterOptions = {
    realms: cfg.realms ?? [{ name: 'realm1' }],
    ...(cfg.autoCreateRealms ? { autoCreateRealms: true } : {}),
    ...(auth ? { auth } : {}),
    ...(cfg.limits ? { limits: cfg.limits } : {}),
  };
  const files: Record<string, string> = {};
  if (staticDir === demoDir) {
    // The demo loads the browser bundle from the router itself.
    for (const f of ['autostrada.umd.min.js', 'autostrada.umd.min.js.map', 'autostrada.umd.js', 'autostrada.umd.js.map']) {
      files[`/${f}`] = join(root, 'dist', f);
    }
  }
  const listen: WampListenerOptions = {
    host: cfg.host ?? '127.0.0.1',
    port: cfg.port ?? 8080,
    ...(cfg.tls
      ? { tls: { key: readFileSync(cfg.tls.key), cert: readFileSync(cfg.tls.cert), ...(cfg.tls.ca ? { ca: readFileSync(cfg.tls.ca) } : {}) } }
      : {}),
    ...(cfg.unixPaths ? { unixPaths: cfg.unixPaths } : {}),
    ...(cfg.websocket !== undefined ? { websocket: cfg.websocket } : {}),
    ...(cfg.rawsocket !== undefined ? { rawsocket: cfg.rawsocket } : {}),
    static: staticDir === false ? false : { root: resolve(staticDir), files },
  };
  const demo = cfg.demo ?? staticDir === demoDir;
  return { router, listen, demo };
}

/** Runs the router command; resolves with the process exit code once stopped. */
export async function runRouterCommand(argv: string[]): Promise<number> {
  let opts: Record<string, string | number | boolean>;
  try {
    opts = parseArgs(argv, { port: 'number', host: 'string', config: 'string', 'no-demo': 'boolean', quiet: 'boolean', help: 'boolean' });
  } catch (err) {
    console.error(`autostrada router: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  let cfg: RouterConfigFile;
  try {
    cfg = typeof opts.config === 'string' ? loadRouterConfig(opts.config) : validateRouterConfig({});
  } catch (err) {
    console.error(`autostrada router: ${(err as Error).message}`);
    return 2;
  }
  if (typeof opts.port === 'number') cfg.port = opts.port;
  if (typeof opts.host === 'string') cfg.host = opts.host;
  if (opts['no-demo']) cfg.demo = false;
  const setup = routerSetup(cfg);
  const quiet = opts.quiet === true;
  const router = new Router({ ...setup.router, onError: (e) => console.error('autostrada router: internal error:', e) });
  let addr;
  try {
    addr = await router.listen(setup.listen);
  } catch (err) {
    console.error(`autostrada router: cannot listen on ${setup.listen.host}:${setup.listen.port}: ${(err as Error).message}`);
    await router.close();
    return 1;
  }
  const stopDemo = setup.demo ? await startDemoBackend(router, 'realm1') : null;
  const scheme = setup.listen.tls ? 'https' : 'http';
  const wsScheme = setup.listen.tls ? 'wss' : 'ws';
  const base = `${addr.address}:${addr.port}`;
  if (!quiet) {
    console.log(`autostrada router ready on ${base}`);
    console.log(`  WebSocket  ${wsScheme}://${base}/ws   (realms: ${router.realmNames.join(', ') || 'created on demand'})`);
    if (setup.listen.rawsocket !== false) console.log(`  RawSocket  ${setup.listen.tls ? 'tls' : 'tcp'}://${base}`);
    if (setup.listen.static) console.log(`  HTTP       ${scheme}://${base}/${setup.demo ? '   (the demo)' : ''}`);
  } else {
    console.log(`autostrada router ready on ${base}`);
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) {
        resolveExit(1);
        return;
      }
      stopping = true;
      const hard = setTimeout(() => resolveExit(1), 10_000);
      hard.unref();
      void (async () => {
        await stopDemo?.();
        await router.close();
        clearTimeout(hard);
        if (!quiet) console.log('autostrada router stopped');
        resolveExit(0);
      })();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/**
 * Static files over node:http, for the router's single port (the demo at `/`).
 *
 * Deliberately small: GET and HEAD, one root directory, `index.html` for
 * directories, a fixed content-type table, `ETag` / `If-None-Match`, and no
 * way out of the root (the decoded, normalised path must stay inside it;
 * NUL bytes and encoded separators are refused). Files are streamed, never
 * buffered whole.
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Options of {@link createStaticHandler}. */
export interface StaticOptions {
  /**
   * Extra routes served before the file system, by exact path (e.g. the
   * browser bundle at `/autostrada.js` from `dist/`): absolute file paths.
   */
  files?: Readonly<Record<string, string>>;
  /** `Cache-Control` header value. Default `'no-cache'` (revalidate with the ETag). */
  cacheControl?: string;
}

/**
 * Resolves a request path to a file under `root`, or `null` when the path
 * tries to leave it or is malformed.
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  const q = urlPath.indexOf('?');
  const raw = q === -1 ? urlPath : urlPath.slice(0, q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return null;
  const base = resolve(root);
  const full = resolve(join(base, decoded));
  if (full !== base && !full.startsWith(base + sep)) return null;
  return full;
}

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * A request handler serving files from `root`.
 *
 * @returns a function for `http.Server`'s `request` event
 */
export function createStaticHandler(
  root: string,
  options: StaticOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const cacheControl = options.cacheControl ?? 'no-cache';
  const extra = new Map(Object.entries(options.files ?? {}));
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const url = req.url ?? '/';
    const pathOnly = url.split('?', 1)[0] as string;
    const mapped = extra.get(pathOnly);
    const file = mapped ?? resolveStaticPath(root, url);
    if (file === null) {
      send(res, 400, 'bad path\n');
      return;
    }
    void serveFile(req, res, file, cacheControl).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string, cacheControl: string): Promise<void> {
  let path = file;
  let st = await stat(path).catch(() => null);
  if (st?.isDirectory()) {
    if (!(req.url ?? '/').split('?', 1)[0]!.endsWith('/')) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const location = q === -1 ? `${url}/` : `${url.slice(0, q)}/${url.slice(q)}`;
      send(res, 301, 'moved\n', { location });
      return;
    }
    path = join(path, 'index.html');
    st = await stat(path).catch(() => null);
  }
  if (!st || !st.isFile()) {
    send(res, 404, 'not found\n');
    return;
  }
  const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    etag,
    'last-modified': st.mtime.toUTCString(),
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-length'] = String(st.size);
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

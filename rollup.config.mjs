// Builds (dist/ is never committed):
// - dist/browser: ESM for browsers and bundlers, one file per entry (`autostrada`,
//   `autostrada/ws`, `/msgpack`, `/cbor`, `/auth`) sharing chunks; dependencies
//   stay imports (the app's bundler resolves them once).
// - dist/deno: ESM for Deno (the isomorphic API plus the Deno adapter).
// - dist/node: ESM for Node (the Node entry, the server entry, the CLI tools).
// - dist/autostrada.umd.js (+ .min.js): <script> tag, global `Autostrada`, the
//   isomorphic entry with its dependencies bundled; dist/autostrada.full.umd.js
//   (+ .min.js) adds MessagePack, CBOR and every auth method.
// - dist/types: .d.ts (tsc, see package.json "build").
import typescript from '@rollup/plugin-typescript';
import resolve from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import terser from '@rollup/plugin-terser';

const ts = () =>
  typescript({
    tsconfig: './tsconfig.build.json',
    compilerOptions: { declaration: false, declarationMap: false, noEmit: false, outDir: undefined, sourceMap: true },
  });

// Every bare import (a dependency) stays external in the ESM builds.
const bare = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0');
const isomorphicEntries = {
  index: 'src/index.ts',
  ws: 'src/ws.ts',
  msgpack: 'src/msgpack.ts',
  cbor: 'src/cbor.ts',
  auth: 'src/auth.ts',
  websocketstream: 'src/websocketstream.ts',
};
const umd = (input, name) => ({
  input,
  output: [
    { file: `dist/${name}.umd.js`, format: 'umd', name: 'Autostrada', sourcemap: true },
    { file: `dist/${name}.umd.min.js`, format: 'umd', name: 'Autostrada', sourcemap: true, plugins: [terser({ ecma: 2020, compress: { passes: 3, pure_getters: true, ecma: 2020 } })] },
  ],
  // msgpackr and cbor-x compile record readers with `new Function` unless told
  // not to; the no-eval builds never do (our serializers disable records anyway).
  plugins: [
    {
      name: 'no-eval-codecs',
      resolveId(id) {
        if (id === 'msgpackr') return this.resolve('msgpackr/index-no-eval', undefined, { skipSelf: true });
        if (id === 'cbor-x') return this.resolve('cbor-x/index-no-eval', undefined, { skipSelf: true });
        return null;
      },
    },
    resolve({ browser: true, preferBuiltins: false }),
    commonjs(),
    ts(),
  ],
});

export default [
  {
    input: isomorphicEntries,
    output: { dir: 'dist/browser', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
    external: bare,
    plugins: [ts()],
  },
  {
    input: { index: 'src/index.deno.ts' },
    output: { dir: 'dist/deno', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
    external: bare,
    plugins: [ts()],
  },
  {
    input: {
      index: 'src/index.node.ts',
      ws: 'src/ws.ts',
      msgpack: 'src/msgpack.ts',
      cbor: 'src/cbor.ts',
      auth: 'src/auth.ts',
      websocketstream: 'src/websocketstream.ts',
      server: 'src/server.ts',
      'cli/autostrada': 'src/cli/autostrada.ts',
      'cli/echo-server': 'src/cli/echo-server.ts',
      'cli/testsuite-client': 'src/cli/testsuite-client.ts',
    },
    output: { dir: 'dist/node', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
    external: (id) => id.startsWith('node:') || bare(id),
    plugins: [ts()],
  },
  umd('src/index.ts', 'autostrada'),
  umd('src/umd-full.ts', 'autostrada.full'),
];

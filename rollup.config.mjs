// Builds: ESM for browsers (dist/browser), ESM for Node (dist/node, incl. the
// server entry and CLI tools), UMD for <script> tags (global `Autostrada`),
// and .d.ts typings (tsc, dist/types). dist/ is never committed.
import typescript from '@rollup/plugin-typescript';
import resolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const ts = () =>
  typescript({
    tsconfig: './tsconfig.build.json',
    compilerOptions: { declaration: false, declarationMap: false, noEmit: false, outDir: undefined, sourceMap: true },
  });

const nodeExternal = (id) => id.startsWith('node:') || /^(pako|@noble\/hashes)(\/|$)/.test(id);

export default [
  {
    input: { index: 'src/index.ts' },
    output: { dir: 'dist/browser', format: 'es', sourcemap: true },
    external: (id) => /^(pako|@noble\/hashes)(\/|$)/.test(id),
    plugins: [ts()],
  },
  {
    input: {
      index: 'src/index.node.ts',
      server: 'src/server.ts',
      'cli/echo-server': 'src/cli/echo-server.ts',
      'cli/testsuite-client': 'src/cli/testsuite-client.ts',
    },
    output: { dir: 'dist/node', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
    external: nodeExternal,
    plugins: [ts()],
  },
  {
    input: 'src/index.ts',
    output: [
      { file: 'dist/autostrada.umd.js', format: 'umd', name: 'Autostrada', sourcemap: true },
      { file: 'dist/autostrada.umd.min.js', format: 'umd', name: 'Autostrada', sourcemap: true, plugins: [terser()] },
    ],
    plugins: [resolve({ browser: true }), ts()],
  },
];
